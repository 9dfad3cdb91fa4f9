"""Event-backed timeline semaphores and host waits.

Mirrors IREE's `hal/drivers/hip/event_semaphore.c` (and the timepoint list of
`hal/utils/semaphore_base.c`). A semaphore holds a monotonically increasing 64-bit value
(valid values 0..MAX_VALUE = 2^31-2, IREE's limit), an optional failure status, and two
timepoint lists:

  * waits: host waits and parked queue waits, fired when the value reaches theirs or the
    semaphore fails (queue waits also fire when a producer event for them is published);
  * signals: *published* device signals — "event E, already recorded, completes when
    this semaphore reaches value v". A queue binds a device wait to one of these only.

Rules:
  1. The value never decreases; `signal(v)` with v <= value or v > MAX_VALUE raises
     OutOfRangeError. A completion whose value the timeline already passed is dropped.
  2. The first failure wins; a failed semaphore keeps its value, fires every wait, retires
     every published signal, and answers query/signal with its failure code.
  3. A wait is registered and checked atomically: registering a wait whose value is
     already reached (or on a failed semaphore) fires it at once — no lost wake-up.
  4. A published signal holds one reference on its event until the host value reaches it.
  5. A published signal carries its producer's causal frontier (`Frontier`): the host
     values the producer's work depended on, which must become visible before (or with)
     the producer's own signal (DESIGN.md, Causal visibility).
  6. Firing order: the waits one change fires are notified in registration order (the
     order in which they were registered and are still registered), whatever their values.

Indexes (so that no operation scans every wait or signal; chains of thousands of executes
and thousands of parked actions on one semaphore stay linear overall):
  * `_waits` maps each registered wait to its registration number, in registration order
    (O(1) registration and removal; a failure fires them all in that order);
  * two heaps of (value, registration number, timepoint) index the waits by value: parked
    queue waits (woken by a publication too) and host waits. A change pops the entries it
    reaches (O(log n) each) and fires them sorted by registration number (rule 6).
    Failure-only waits are in neither heap. A removed wait leaves a stale entry, skipped
    when popped (its registration number no longer matches) and dropped by a rebuild once
    stale entries outnumber live ones (amortized O(1) per removal);
  * published signals are kept sorted by value in two parallel lists (timepoints, values)
    from `_head` on: publication in value order appends, retirement advances `_head`
    (compacted when half the list is retired), lookup is a bisection. Only a publication
    below the largest pending value inserts in the middle (a C-speed memmove).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from model.core.defects import Defect
from model.core.effects import Call, Deadline, Flag, Gen, WaitFor, Yield
from model.core.pools import PooledEvent, Timepoint, raise_if
from model.core.status import (
    InvalidArgumentError,
    OutOfRangeError,
    SemaphoreFailedError,
    StatusCode,
)

if TYPE_CHECKING:
    from model.core.context import CoreContext

MAX_VALUE = 2**31 - 2
FAILURE_ONLY = MAX_VALUE + 1  # a wait registered at this value fires only on failure
Verdict = tuple[StatusCode, str]
# Per semaphore, the smallest value that must be host-visible; shared, never mutated.
Frontier = dict["Semaphore", int]
# An index entry: (wait value, registration number, the wait's timepoint).
_Entry = tuple[int, int, Timepoint]
_COMPACT_MIN = 64  # below this many index entries, stale ones are left to be popped


def check_value(value: int, what: str) -> None:
    """Raise OutOfRangeError unless `value` is an int timeline value."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentError(f"{what} must be an int, got {value!r}")
    if not 0 <= value <= MAX_VALUE:
        raise OutOfRangeError(f"{what} {value} is outside the timeline range 0..{MAX_VALUE}")


class Semaphore:
    """A timeline semaphore emulated with binary device events."""

    def __init__(self, ctx: CoreContext, name: str, initial: int) -> None:
        check_value(initial, f"initial value of semaphore {name!r}")
        self.ctx = ctx
        self.name = name
        self.value = initial
        self.failure: Verdict | None = None
        # Registered waits -> registration number; insertion (registration) ordered.
        self._waits: dict[Timepoint, int] = {}
        self._registered = 0  # registration numbers handed out
        # Heaps of (value, registration number, tp); entries of removed waits are stale.
        self._queue_index: list[_Entry] = []  # parked queue waits (wake on publish)
        self._host_index: list[_Entry] = []  # every other wait below FAILURE_ONLY
        # Invariant: from _head on, sorted by value, every value > self.value, every
        # event recorded; _signal_values[i] == _signals[i].value.
        self._signals: list[Timepoint] = []
        self._signal_values: list[int] = []
        self._head = 0

    def __repr__(self) -> str:
        return f"Semaphore({self.name!r}, value={self.value}, failure={self.failure})"

    # -- host API ---------------------------------------------------------------------
    def query(self) -> int:
        """The current value; raises SemaphoreFailedError if the semaphore failed."""
        if Defect.FAILED_READS_VALUE not in self.ctx.defects:
            self._raise_if_failed()
        return self.value

    def signal(self, value: int) -> None:
        """Advance the value from the host (rule 1)."""
        check_value(value, f"signal value for semaphore {self.name!r}")
        self._raise_if_failed()
        if value <= self.value:
            raise OutOfRangeError(
                f"semaphore {self.name!r}: signal value {value} does not increase the "
                f"current value {self.value}"
            )
        self._advance(value)

    def fail(self, code: StatusCode, message: str = "") -> None:
        """Fail the semaphore (rule 2); a second failure is ignored."""
        if code is StatusCode.OK:
            raise InvalidArgumentError("fail() needs a failure code, got OK")
        if self.failure is not None:
            return
        self.failure = (code, message)
        self.ctx.observer.value_changed(self, self.value, code)
        self._retire_signals(MAX_VALUE + 1)
        self._queue_index.clear()
        self._host_index.clear()
        self._fire(list(self._waits))

    # -- used by queues ---------------------------------------------------------------
    def complete_signal(self, value: int) -> None:
        """Apply a device signal whose work completed (rule 1: stale values are dropped)."""
        if self.failure is not None:
            return
        if value > self.value:
            self._advance(value)
        elif value < self.value and Defect.STALE_SIGNAL_REGRESS in self.ctx.defects:
            self.value = value
            self.ctx.observer.value_changed(self, value, StatusCode.OK)

    def publish_signal(self, value: int, event: PooledEvent,
                       frontier: Frontier | None = None) -> None:
        """Publish "`event` (recorded) reaches `value`"; wakes parked queue waits.

        `frontier` is what a wait bound to this signal inherits (rule 5)."""
        if self.failure is not None or value <= self.value:
            return
        tp = self.ctx.timepoint_pool.acquire()
        tp.value, tp.event, tp.owner, tp.frontier = value, event, self, frontier
        self.ctx.event_pool.retain(event)
        values = self._signal_values
        if not values or values[-1] <= value:  # in value order: the common case
            values.append(value)
            self._signals.append(tp)
        else:  # after the signals of equal value, as bisect.insort does
            i = bisect.bisect_right(values, value, self._head)
            values.insert(i, value)
            self._signals.insert(i, tp)
        index = self._queue_index
        if index and index[0][0] <= value:
            self._fire(self._pop_reached(index, value, []))

    def producer_signal(self, value: int) -> Timepoint | None:
        """The earliest published signal that reaches `value`, if any."""
        i = bisect.bisect_left(self._signal_values, value, self._head)
        return self._signals[i] if i < len(self._signals) else None

    def producer_event(self, value: int) -> PooledEvent | None:
        """The event of the earliest published signal that reaches `value`, if any."""
        tp = self.producer_signal(value)
        return tp.event if tp is not None else None

    def add_wait(self, tp: Timepoint, value: int, notify: Callable[[], None],
                 wake_on_publish: bool = False, checked: bool = True) -> None:
        """Register `tp` to fire `notify` at `value` (rule 3 unless `checked` is False).

        `wake_on_publish` marks a parked queue wait (`tp.owner` is set to the semaphore).
        """
        tp.value, tp.notify, tp.fired = value, notify, False
        tp.owner = self if wake_on_publish else None
        if checked and (self.failure is not None or self.value >= value):
            self._fire([tp])
            return
        number = self._registered
        self._registered = number + 1
        self._waits[tp] = number
        if value < FAILURE_ONLY:
            index = self._queue_index if wake_on_publish else self._host_index
            heapq.heappush(index, (value, number, tp))

    def remove_wait(self, tp: Timepoint) -> None:
        """Unregister `tp` if it is registered here (its index entry goes stale)."""
        if self._waits.pop(tp, None) is not None:
            stale = len(self._queue_index) + len(self._host_index) - len(self._waits)
            if stale > _COMPACT_MIN and 2 * stale > len(self._waits):
                self._rebuild_indexes()

    # -- internals --------------------------------------------------------------------
    def _raise_if_failed(self) -> None:
        if self.failure is not None:
            code, message = self.failure
            raise SemaphoreFailedError(
                f"semaphore {self.name!r} failed with {code.name}: {message}", code
            )

    def _advance(self, value: int) -> None:
        self.value = value
        self.ctx.observer.value_changed(self, value, StatusCode.OK)
        self._retire_signals(value)
        fired: list[_Entry] = []
        for index in (self._queue_index, self._host_index):
            if index and index[0][0] <= value:
                self._pop_reached(index, value, fired)
        if fired:
            self._fire(fired)

    def _pop_reached(self, index: list[_Entry], value: int,
                     out: list[_Entry]) -> list[_Entry]:
        """Pop `index`'s live entries at or below `value` into `out` (stale ones dropped)."""
        waits = self._waits
        while index and index[0][0] <= value:
            entry = heapq.heappop(index)
            if waits.get(entry[2]) == entry[1]:
                out.append(entry)
        return out

    def _rebuild_indexes(self) -> None:
        """Drop stale index entries (amortized: stale entries outnumber live ones)."""
        queue: list[_Entry] = []
        host: list[_Entry] = []
        for tp, number in self._waits.items():
            if tp.value < FAILURE_ONLY:
                (queue if tp.owner is self else host).append((tp.value, number, tp))
        heapq.heapify(queue)
        heapq.heapify(host)
        self._queue_index, self._host_index = queue, host

    def _retire_signals(self, reached: int) -> None:
        signals, values = self._signals, self._signal_values
        head, end = self._head, len(values)
        event_pool, timepoint_pool = self.ctx.event_pool, self.ctx.timepoint_pool
        while head < end and values[head] <= reached:
            tp = signals[head]
            head += 1
            assert tp.event is not None
            event_pool.release(tp.event)
            timepoint_pool.release(tp)
        if head == end:
            signals.clear()
            values.clear()
            head = 0
        elif head > _COMPACT_MIN and 2 * head > end:
            del signals[:head]
            del values[:head]
            head = 0
        self._head = head

    def _fire(self, fired: list[Timepoint] | list[_Entry]) -> None:
        """Fire waits: every one is unregistered first, then notified (rule 6 order).

        `fired` is a list of timepoints in registration order, or of index entries (any
        order; sorted here by registration number)."""
        tps: list[Timepoint]
        if fired and type(fired[0]) is tuple:
            entries: list[_Entry] = fired  # type: ignore[assignment]
            if len(entries) > 1:
                entries.sort(key=_registration)
            tps = [entry[2] for entry in entries]
        else:
            tps = fired  # type: ignore[assignment]
        waits = self._waits
        for tp in tps:
            waits.pop(tp, None)
            tp.fired = True
        for tp in tps:
            if tp.notify is not None:
                tp.notify()

    def check_invariants(self) -> None:
        """Raise InvariantError listing every broken invariant of this semaphore."""
        raise_if(self.invariant_problems())

    def invariant_problems(self) -> list[str]:
        problems = []
        values = [t.value for t in self._signals[self._head:]]
        if (values != self._signal_values[self._head:]
                or any(a > b for a, b in itertools.pairwise(values))
                or any(v <= self.value for v in values)):
            problems.append(f"semaphore {self.name}: published signals {values} not pending")
        live = {(tp, n) for tp, n in self._waits.items() if tp.value < FAILURE_ONLY}
        indexed = {(e[2], e[1]) for e in (*self._queue_index, *self._host_index)
                   if self._waits.get(e[2]) == e[1]}
        if live != indexed:
            problems.append(f"semaphore {self.name}: {len(live)} waits below failure-only "
                            f"but {len(indexed)} live index entries")
        if not 0 <= self.value <= MAX_VALUE:
            problems.append(f"semaphore {self.name}: value {self.value} out of range")
        return problems


def _registration(entry: _Entry) -> int:
    return entry[1]


def _verdict(pairs: Sequence[tuple[Semaphore, int]], wait_any: bool,
             failures: bool = True) -> Verdict | None:
    """OK / failure if the wait is decided now, None if it must keep waiting.

    `failures` False is defect `failed-reads-value`: failures do not decide the wait."""
    reached = [s.failure is None and s.value >= v for s, v in pairs]
    if (any(reached) if wait_any else all(reached)):
        return (StatusCode.OK, "")
    failed = [s for s, _ in pairs if s.failure is not None and failures]
    if failed:  # a failure wakes every waiter on the semaphore, ALL or ANY (DESIGN.md)
        code, message = failed[0].failure  # type: ignore[misc]
        return (code, f"semaphore {failed[0].name!r} failed: {message}")
    return None


def wait_semaphores(ctx: CoreContext, pairs: Sequence[tuple[Semaphore, int]],
                    wait_any: bool, timeout_us: float | None) -> Gen[Verdict]:
    """Host wait on one or more semaphores (ALL, or ANY), with an optional timeout.

    Returns (OK, "") when the condition holds, the failure's code if a semaphore it
    depends on failed, or DEADLINE_EXCEEDED. Linearizable: OK is only returned after the
    host-visible values satisfy the condition (contract of DESIGN.md).
    """
    for s, v in pairs:
        check_value(v, f"wait value for semaphore {s.name!r}")
    failures = not (Defect.FAILED_READS_VALUE in ctx.defects and timeout_us is not None)
    verdict = _verdict(pairs, wait_any, failures) if pairs else (StatusCode.OK, "")
    if verdict is not None:
        return verdict
    if Defect.WAIT_SYNCS_DEVICE_EVENT in ctx.defects:
        early = yield from _wait_on_device_events(ctx, pairs, wait_any)
        if early is not None:
            return early
    if timeout_us == 0:
        return (StatusCode.DEADLINE_EXCEEDED, "poll: condition not reached")
    return (yield from _park(ctx, pairs, wait_any, Deadline(timeout_us), failures))


def _park(ctx: CoreContext, pairs: Sequence[tuple[Semaphore, int]], wait_any: bool,
          deadline: Deadline, failures: bool = True) -> Gen[Verdict]:
    flag = Flag("host-wait")
    lost_wakeup = Defect.LOST_WAKEUP in ctx.defects
    if lost_wakeup:
        yield Yield()  # the defect: the lock is dropped between check and registration
    tps = []
    for s, v in pairs:
        tp = ctx.timepoint_pool.acquire()
        s.add_wait(tp, v, flag.set, checked=not lost_wakeup)
        tps.append((s, tp))
    # The defect also trusts its stale check: it sleeps without looking again.
    recheck = not lost_wakeup
    try:
        while True:
            verdict = _verdict(pairs, wait_any, failures) if recheck else None
            if verdict is not None:
                return verdict
            recheck = True
            flag.clear()
            if not (yield WaitFor(flag, deadline)):
                return _verdict(pairs, wait_any, failures) or (
                    StatusCode.DEADLINE_EXCEEDED, f"not reached within {deadline.timeout_us} us"
                )
    finally:
        for s, tp in tps:
            s.remove_wait(tp)
            ctx.timepoint_pool.release(tp)


def _wait_on_device_events(ctx: CoreContext, pairs: Sequence[tuple[Semaphore, int]],
                           wait_any: bool) -> Gen[Verdict | None]:
    """Defect `wait-syncs-device-event`: answer from device events, not the timeline."""
    events = [s.producer_event(v) for s, v in pairs if s.value < v]
    usable = [e for e in events if e is not None]
    if not usable or (not wait_any and len(usable) != len(events)):
        return None
    for e in usable:
        ctx.event_pool.retain(e)
    for e in usable:
        yield Call("synchronize_event", (e.handle,))
        ctx.event_pool.release(e)
    return (StatusCode.OK, "")
