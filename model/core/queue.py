"""The deferred queue: wait-before-signal submissions over one HIP stream.

Mirrors IREE's `hal/drivers/hip/pending_queue_actions.c`. `execute(waits, signals, work)`
parks an *action* until every wait is either reached on the host timeline or bound to a
producer event that is already recorded (a published signal, `semaphore.py`); then it
joins a *ready batch*. A worker loop issues ready batches in FIFO order: stream waits on
the bound events, the work, a record of one completion event, then publication of that
event as a device signal for each signal semaphore. A completion loop retires issued
actions in issue order and advances their semaphores on the host timeline.

Completion modes (setting `completion`):
  callback: a host function on a per-queue callback stream, made to wait on the
            completion event, marks the action done and wakes the completion loop; it
            makes no device call (HIP rule 6).
  thread:   the completion loop synchronizes each completion event in issue order.

Rules:
  1. A parked action never holds back a later one. A scan evaluates, in submission
     order, every pending action whose readiness may have changed: a new action, or one
     whose wait timepoint fired (its semaphore advanced, failed, or published a producer
     event). Readiness depends only on the wait semaphores' state, so this finds exactly
     what a scan of the whole pending list (the seed's) would find, in O(changed) time.
     Actions found ready in one scan form one batch, in submission order.
  2. A bound producer event keeps a reference until its stream wait is enqueued.
  3. A signal is published only after its event is recorded.
  4. An action whose wait semaphore failed fails with that status and fails its signal
     semaphores with it. `shutdown()` cancels parked actions with CANCELLED.
  5. More device waits than `max_wait_events`: the action stays parked until enough of
     them are reached on the host timeline (never fails, never drops a wait).
  6. Causal visibility (DESIGN.md). An action's *frontier* is, for each wait bound to a
     producer event, the wait's value and the producer's own frontier (transitively the
     values its work depended on that the host timeline may not show yet). Published
     signals carry it; retiring applies it to the host timeline before the action's own
     signals, so a host that observes a signal also observes everything it depended on,
     however late the producers' own completions arrive (other queues' callbacks or
     completion threads may lag arbitrarily).

Faults (DESIGN.md, Faults; docs/faults.md). A device call that answers a HIP error
(`HipCallError`) while an action is issued fails that action with the error's IREE code
(`model.core.hip_errors`), returns every event reference it held and fails its signal
semaphores; the rest of its batch is still issued. A completion whose event answers an
error (synchronize in thread mode; in callback mode the query made after the hand-off)
fails the action the same way, and so does a retirement whose device wait's semaphore
failed before reaching the value (its producer never completed). An error in
`FATAL_ERRORS` means the device is lost (`CoreContext.lose`): every parked and ready
action fails with it, and so does every later submission.

Invariant: every submitted action is in exactly one of pending, a ready batch, issuing,
in flight, or finished; only pending actions hold wait timepoints.
"""

from __future__ import annotations

import enum
import functools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from model.core.defects import Defect
from model.core.effects import Call, Flag, Gen, WaitFor
from model.core.hip_errors import HipCallError
from model.core.pools import PooledEvent, Timepoint, raise_if
from model.core.semaphore import FAILURE_ONLY, Frontier, Semaphore, check_value
from model.core.status import HipsemError, OutOfRangeError, StatusCode
from model.device import WorkItem

if TYPE_CHECKING:
    from model.core.context import CoreContext


class ActionState(enum.Enum):
    PENDING = "pending"
    READY = "ready"
    ISSUING = "issuing"
    IN_FLIGHT = "in-flight"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({ActionState.COMPLETED, ActionState.FAILED, ActionState.CANCELLED})


class Action:
    """One execute submission and everything it holds while it moves through the queue."""

    __slots__ = (
        "bound", "done", "event", "frontier", "id", "scans", "seq", "signals", "state",
        "status", "timepoints", "waits", "work",
    )

    def __init__(self, ident: str, waits: list[tuple[Semaphore, int]],
                 signals: list[tuple[Semaphore, int]], work: WorkItem) -> None:
        self.id = ident
        self.waits = waits
        self.signals = signals
        self.work = work
        self.state = ActionState.PENDING
        self.status: tuple[StatusCode, str] = (StatusCode.OK, "")
        self.timepoints: dict[int, Timepoint] = {}  # wait index -> armed timepoint
        # Producer events bound to device waits (None: defect fresh-event-wait).
        self.bound: list[PooledEvent | None] = []
        self.event: PooledEvent | None = None  # completion event, set at issue
        self.done = False  # set by the completion host function
        self.frontier: Frontier | None = None  # set when it becomes ready (rule 6)
        self.scans = 0
        self.seq = 0  # submission number within its queue

    def __repr__(self) -> str:
        return f"Action({self.id!r}, {self.state.value})"


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    submitted: int
    pending: int
    ready: int
    in_flight: int
    completed: int
    failed: int
    cancelled: int


# Per unreached wait: the published producer signal it binds (None: defect fresh-event-wait).
_Binding = list[Timepoint | None]


def _merge(frontier: Frontier, sem: Semaphore, value: int) -> None:
    """Add "`sem` >= `value`" to `frontier` unless already host-visible or implied."""
    if value > sem.value and value > frontier.get(sem, -1):
        frontier[sem] = value


class DeferredQueue:
    """A queue of actions over one stream (plus a callback stream in callback mode)."""

    def __init__(self, ctx: CoreContext, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.stream: Any = None
        self.callback_stream: Any = None
        # Invariant: insertion (submission) ordered; `_dirty` is a subset of it.
        self._pending: dict[int, Action] = {}
        self._dirty: set[int] = set()
        self._ready: deque[list[Action]] = deque()
        self._issuing: Action | None = None
        self._in_flight: deque[Action] = deque()
        self._finished: dict[ActionState, int] = dict.fromkeys(FINISHED, 0)
        self._submitted = 0
        self._scanning = False
        self._rescan = False
        self._closing = False
        self._worker_exited = False
        self.work_flag = Flag(f"{name}.work")
        self.completion_flag = Flag(f"{name}.completion")
        self.drained = Flag(f"{name}.drained")
        # The HIP error of the last failed completion (defect completion-swallows-repeat-error).
        self._last_completion_error: str | None = None

    @property
    def callback_mode(self) -> bool:
        return self.ctx.settings.completion == "callback"

    def start(self) -> Gen[None]:
        """Create the queue's stream(s)."""
        self.stream = yield Call("create_stream", (self.name,))
        if self.callback_mode:
            self.callback_stream = yield Call("create_stream", (f"{self.name}.callbacks",))

    # -- submission and scanning ------------------------------------------------------
    def execute(self, ident: str, waits: Sequence[tuple[Semaphore, int]],
                signals: Sequence[tuple[Semaphore, int]], work: WorkItem) -> Action:
        """Submit work that waits for `waits` and then signals `signals` (never blocks)."""
        for sem, value in [*waits, *signals]:
            check_value(value, f"execute {ident!r}: value for semaphore {sem.name!r}")
        for sem, value in signals:
            if value <= sem.value:
                raise OutOfRangeError(
                    f"execute {ident!r}: signal value {value} for semaphore {sem.name!r} "
                    f"does not increase its current value {sem.value}"
                )
        if self._closing:
            raise HipsemError(f"execute {ident!r}: queue {self.name!r} is shut down",
                              StatusCode.FAILED_PRECONDITION)
        action = Action(ident, list(waits), list(signals), work)
        action.seq = self._submitted
        self._pending[action.seq] = action
        self._submitted += 1
        if self.ctx.lost is not None:  # the device is gone: fail it at once
            self._fail_pending(action, *self.ctx.lost)
            return action
        self._wake(action)
        return action

    def request_scan(self) -> None:
        """Scan the pending list now; a request made during a scan repeats the scan."""
        if self._scanning:
            self._rescan = True
            return
        self._scanning = True
        try:
            self._rescan = True
            while self._rescan:
                self._rescan = False
                self._scan_once()
        finally:
            self._scanning = False

    def _wake(self, action: Action) -> None:
        """Mark `action` for re-evaluation and scan (a wait timepoint of it fired)."""
        if action.state is ActionState.PENDING:
            self._dirty.add(action.seq)
            self.request_scan()

    def _scan_once(self) -> None:
        batch: list[Action] = []
        dirty, self._dirty = sorted(self._dirty), set()
        for seq in dirty:
            action = self._pending.get(seq)
            if action is None or action.state is not ActionState.PENDING:
                continue
            outcome = self._evaluate(action)
            action.scans += 1
            if isinstance(outcome, tuple):
                self._fail_pending(action, *outcome)
                if Defect.SCAN_ERROR_DROPS_REST in self.ctx.defects:
                    self._drop_after(action)
                    break
            elif outcome is None:
                self._arm(action)
            else:
                self._make_ready(action, outcome)
                batch.append(action)
        if batch:
            self._ready.append(batch)
            for action in batch:
                self.ctx.observer.action_ready(self, action)
            self.work_flag.set()

    def _evaluate(self, action: Action) -> _Binding | tuple[StatusCode, str] | None:
        """A binding if the action is ready, a failure status, or None (stay parked)."""
        defects = self.ctx.defects
        binding: _Binding = []
        # Every failed wait first: re-arming a wait on a failed semaphore fires at once
        # and rescans, so stopping at an earlier unmet wait would livelock the scan.
        for sem, _ in action.waits:
            if sem.failure is not None:
                code, message = sem.failure
                return (code, f"wait semaphore {sem.name!r} failed: {message}")
        for sem, value in action.waits:
            if sem.value >= value:
                continue
            producer = sem.producer_signal(value)
            if producer is not None or Defect.FRESH_EVENT_WAIT in defects:
                binding.append(producer)
            elif not (Defect.RESCAN_DROPS_WAIT in defects and action.scans > 0):
                return None
        limit = self.ctx.settings.max_wait_events
        if len(binding) > limit:
            if Defect.WAIT_LIMIT_DROPS not in defects:
                return None
            binding = binding[:limit]
        return binding

    def _make_ready(self, action: Action, binding: _Binding) -> None:
        bound: list[PooledEvent | None] = []
        frontier: Frontier = {}
        for producer in binding:
            if producer is None:
                bound.append(None)
                continue
            assert producer.event is not None and isinstance(producer.owner, Semaphore)
            self.ctx.event_pool.retain(producer.event)
            bound.append(producer.event)
            _merge(frontier, producer.owner, producer.value)
            for sem, value in (producer.frontier or {}).items():
                _merge(frontier, sem, value)
        action.bound = bound
        action.frontier = frontier or None
        self._release_timepoints(action)
        del self._pending[action.seq]
        action.state = ActionState.READY

    def _arm(self, action: Action) -> None:
        """Give every wait a live timepoint: at its value if unreached, else failure-only.

        A reached wait still listens for its semaphore's failure, so that a failure fails
        every parked action that waits on the semaphore (DESIGN.md, Failure).
        """
        for index, (sem, value) in enumerate(action.waits):
            tp = action.timepoints.get(index)
            if tp is not None and not tp.fired:
                continue
            if tp is not None:
                self._release_timepoint(action, index)
            tp = self.ctx.timepoint_pool.acquire()
            action.timepoints[index] = tp
            target = value if sem.value < value else FAILURE_ONLY
            notify = functools.partial(self._wake, action)
            sem.add_wait(tp, target, notify, wake_on_publish=True)

    def _release_timepoint(self, action: Action, index: int) -> None:
        tp = action.timepoints.pop(index)
        sem = action.waits[index][0]
        sem.remove_wait(tp)
        self.ctx.timepoint_pool.release(tp)

    def _release_timepoints(self, action: Action) -> None:
        for index in list(action.timepoints):
            self._release_timepoint(action, index)

    # -- failure and cancellation -----------------------------------------------------
    def _fail_pending(self, action: Action, code: StatusCode, message: str) -> None:
        self._release_timepoints(action)
        del self._pending[action.seq]
        self._finish(action, ActionState.FAILED, code, message)
        if Defect.NO_FAILURE_PROPAGATION not in self.ctx.defects:
            for sem, _ in action.signals:
                sem.fail(code, f"propagated from action {action.id!r}: {message}")

    def _drop_after(self, failed: Action) -> None:
        """Defect `scan-error-drops-rest`: the rest of the pending list disappears."""
        for seq in [seq for seq in self._pending if seq > failed.seq]:
            self._release_timepoints(self._pending.pop(seq))

    def _finish(self, action: Action, state: ActionState, code: StatusCode,
                message: str = "") -> None:
        action.state = state
        action.status = (code, message)
        self._finished[state] += 1
        self.ctx.observer.action_finished(self, action)

    # -- worker -----------------------------------------------------------------------
    def worker(self) -> Gen[None]:
        """Issue ready batches in FIFO order until the queue is shut down."""
        lifo = Defect.LIFO_READY in self.ctx.defects
        while True:
            if not self._ready:
                if self._closing:
                    break
                self.work_flag.clear()
                yield WaitFor(self.work_flag)
                continue
            batch = self._ready.pop() if lifo else self._ready.popleft()
            for action in batch:
                yield from self._issue(action)
        self._worker_exited = True
        self.completion_flag.set()

    def _issue(self, action: Action) -> Gen[None]:
        try:
            yield from self._issue_calls(action)
        except HipCallError as error:
            yield from self._fail_issue(action, error)

    def _fail_issue(self, action: Action, error: HipCallError) -> Gen[None]:
        """A device call of the issue failed: give back what the action holds, fail it."""
        if action.event is not None:
            self.ctx.event_pool.release(action.event)
            action.event = None
        self._issuing = None
        message = f"issue failed: {error}"
        self._finish(action, ActionState.FAILED, error.code, message)
        if Defect.ISSUE_FAILURE_KEEPS_SIGNALS not in self.ctx.defects:
            for sem, _ in action.signals:
                sem.fail(error.code, f"propagated from action {action.id!r}: {message}")
        if error.fatal:
            self.ctx.lose(error.code, message)
        yield from self.ctx.event_pool.collect()

    def _issue_calls(self, action: Action) -> Gen[None]:
        self._issuing = action
        action.state = ActionState.ISSUING
        yield from self._enqueue_waits(action)
        self.ctx.observer.action_issued(self, action)
        yield Call("launch_work", (self.stream, action.work))
        event = yield from self.ctx.event_pool.acquire()
        action.event = event
        if Defect.PUBLISH_BEFORE_RECORD in self.ctx.defects:
            self._publish(action, event)
            yield Call("record_event", (event.handle, self.stream))
        else:
            yield Call("record_event", (event.handle, self.stream))
            self._publish(action, event)
        if self.callback_mode:
            yield Call("stream_wait_event", (self.callback_stream, event.handle))
            handoff = functools.partial(self._handoff, action)
            yield Call("launch_host_func", (self.callback_stream, handoff))
        action.state = ActionState.IN_FLIGHT
        self._issuing = None
        self._in_flight.append(action)
        self.completion_flag.set()
        yield from self.ctx.event_pool.collect()

    def _enqueue_waits(self, action: Action) -> Gen[None]:
        pool = self.ctx.event_pool
        bound, action.bound = action.bound, []
        leak = Defect.POOL_REF_LEAK in self.ctx.defects and len(bound) >= 2
        for index, event in enumerate(bound):
            if event is None:  # defect fresh-event-wait: a never-recorded event
                event = yield from pool.acquire()
            try:
                yield Call("stream_wait_event", (self.stream, event.handle))
            except HipCallError:  # give back this reference and every one not yet used
                for held in [event, *bound[index + 1:]]:
                    if held is not None:
                        pool.release(held)
                raise
            if leak and index == 0:
                pool.leaked_refs += 1
            else:
                pool.release(event)

    def _publish(self, action: Action, event: PooledEvent) -> None:
        for sem, value in action.signals:
            sem.publish_signal(value, event, action.frontier)

    def _handoff(self, action: Action) -> None:
        """Host function body: hand completion to the completion loop. No device call."""
        action.done = True
        try:
            if Defect.CALLBACK_POOL_RELEASE in self.ctx.defects:
                self._retire(action)
                self.ctx.event_pool.flush_in_callback(self.ctx.device.destroy_event)
        finally:  # a device that refuses the call must not also lose the hand-off
            self.completion_flag.set()

    # -- completion -------------------------------------------------------------------
    def completion(self) -> Gen[None]:
        """Retire in-flight actions in issue order; exits once shut down and drained."""
        while True:
            if not self._in_flight:
                if self._closing and self._worker_exited:
                    break
                self.completion_flag.clear()
                yield WaitFor(self.completion_flag)
                continue
            head = self._in_flight[0]
            failure: HipCallError | None = None
            if Defect.EARLY_RETIRE in self.ctx.defects:
                pass  # the defect: retire at once, without waiting for the device
            elif not self.callback_mode:
                failure = yield from self._event_status(head, "synchronize_event")
            elif not head.done:
                self.completion_flag.clear()
                yield WaitFor(self.completion_flag)
                continue
            elif head.state is ActionState.IN_FLIGHT:  # handed off: did the work succeed?
                failure = yield from self._event_status(head, "query_event")
            if failure is not None and not failure.fatal:
                if (failure.hip_name == self._last_completion_error
                        and Defect.COMPLETION_SWALLOWS_REPEAT_ERROR in self.ctx.defects):
                    failure = None  # the defect: taken for a stale report, retired OK
                else:
                    self._last_completion_error = failure.hip_name
            if (failure is not None and failure.fatal
                    and Defect.LOST_DEVICE_HANGS_TEARDOWN in self.ctx.defects):
                return  # the defect: the completion thread gives up, never drained
            self._in_flight.popleft()
            if head.state is ActionState.IN_FLIGHT:
                if failure is None:
                    self._retire(head)
                else:
                    self._fail_in_flight(head, failure.code, f"completion failed: {failure}")
                    if failure.fatal:
                        self.ctx.lose(failure.code, f"completion failed: {failure}")
            yield from self.ctx.event_pool.collect()
        self.drained.set()

    def _event_status(self, action: Action, call: str) -> Gen[HipCallError | None]:
        """Synchronize (or query) the action's completion event: None if its work
        succeeded, else the HIP error the event answered."""
        assert action.event is not None
        try:  # after a hand-off the work is done: a query is asked for its status only
            yield Call(call, (action.event.handle,))
        except HipCallError as error:
            return error
        return None

    def _fail_in_flight(self, action: Action, code: StatusCode, message: str) -> None:
        """Fail an issued action whose work failed: its event back, its signals failed."""
        if action.event is not None:
            self.ctx.event_pool.release(action.event)
            action.event = None
        self._finish(action, ActionState.FAILED, code, message)
        for sem, _ in action.signals:
            sem.fail(code, f"propagated from action {action.id!r}: {message}")

    def fail_parked(self, code: StatusCode, message: str) -> None:
        """Fail every parked and ready action with `code` (the device was lost)."""
        for action in list(self._pending.values()):
            if action.state is ActionState.PENDING and action.seq in self._pending:
                self._fail_pending(action, code, message)
        while self._ready:
            for action in self._ready.popleft():
                for event in action.bound:
                    if event is not None:
                        self.ctx.event_pool.release(event)
                action.bound = []
                self._fail_in_flight(action, code, message)

    def _retire(self, action: Action) -> None:
        for sem, value in action.waits:  # a device wait whose producer failed (faults)
            if sem.failure is not None and sem.value < value:
                code, message = sem.failure
                self._fail_in_flight(action, code, f"wait semaphore {sem.name!r} failed: "
                                     f"{message}")
                return
        if Defect.NO_CAUSAL_FRONTIER not in self.ctx.defects:
            for sem, value in (action.frontier or {}).items():
                sem.complete_signal(value)  # what this work depended on, first (rule 6)
        for sem, value in action.signals:
            sem.complete_signal(value)
        if action.event is not None:
            self.ctx.event_pool.release(action.event)
            action.event = None
        self._finish(action, ActionState.COMPLETED, StatusCode.OK)

    # -- shutdown ---------------------------------------------------------------------
    def shutdown(self) -> Gen[list[Action]]:
        """Cancel parked actions (CANCELLED), drain issued work, destroy the streams.

        Returns the cancelled actions. The worker and completion loops exit.
        """
        self._closing = True
        cancelled = list(self._pending.values())
        if Defect.SHUTDOWN_DROPS_PARKED in self.ctx.defects:
            for action in cancelled:  # the defect: parked actions just disappear
                self._release_timepoints(action)
                action.state = ActionState.CANCELLED
            self._pending.clear()
            self._finished[ActionState.CANCELLED] += len(cancelled)
            cancelled = []
        for action in cancelled:
            # cancelling one action fails semaphores, which can finish others meanwhile
            if action.state is ActionState.PENDING and action.seq in self._pending:
                self._fail_pending_cancelled(action)
        self.work_flag.set()
        self.completion_flag.set()
        yield WaitFor(self.drained)
        yield Call("destroy_stream", (self.stream,))
        if self.callback_stream is not None:
            yield Call("destroy_stream", (self.callback_stream,))
        return [a for a in cancelled if a.state is ActionState.CANCELLED]

    def _fail_pending_cancelled(self, action: Action) -> None:
        self._release_timepoints(action)
        del self._pending[action.seq]
        message = f"queue {self.name!r} was destroyed with the action parked"
        self._finish(action, ActionState.CANCELLED, StatusCode.CANCELLED, message)
        for sem, _ in action.signals:
            sem.fail(StatusCode.CANCELLED, f"propagated from cancelled action {action.id!r}")

    # -- introspection ----------------------------------------------------------------
    def pending_actions(self) -> list[Action]:
        return list(self._pending.values())

    def statistics(self) -> QueueStatistics:
        f = self._finished
        return QueueStatistics(
            self._submitted, len(self._pending), sum(map(len, self._ready)),
            len(self._in_flight) + (self._issuing is not None),
            f[ActionState.COMPLETED], f[ActionState.FAILED], f[ActionState.CANCELLED],
        )

    def check_invariants(self) -> None:
        """Raise InvariantError listing every broken invariant of this queue."""
        raise_if(self.invariant_problems())

    def invariant_problems(self) -> list[str]:
        s = self.statistics()
        problems = []
        accounted = s.pending + s.ready + s.in_flight + s.completed + s.failed + s.cancelled
        if accounted != s.submitted:
            problems.append(
                f"queue {self.name}: {s.submitted} actions submitted but {accounted} "
                "accounted for (pending+ready+in flight+finished)"
            )
        holders = [a.id for batch in self._ready for a in batch if a.timepoints]
        holders += [a.id for a in self._in_flight if a.timepoints]
        if holders:
            problems.append(f"queue {self.name}: non-pending actions hold timepoints: {holders}")
        return problems
