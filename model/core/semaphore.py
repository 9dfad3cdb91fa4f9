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
"""

from __future__ import annotations

import bisect
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
        self._waits: list[Timepoint] = []
        # Invariant: sorted by value, every value > self.value, every event recorded.
        self._signals: list[Timepoint] = []

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
        bisect.insort(self._signals, tp, key=lambda t: t.value)
        self._fire([w for w in self._waits if w.owner is not None and w.value <= value])

    def producer_signal(self, value: int) -> Timepoint | None:
        """The earliest published signal that reaches `value`, if any."""
        i = bisect.bisect_left(self._signals, value, key=lambda t: t.value)
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
        else:
            self._waits.append(tp)

    def remove_wait(self, tp: Timepoint) -> None:
        if tp in self._waits:
            self._waits.remove(tp)

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
        self._fire([w for w in self._waits if w.value <= value])

    def _retire_signals(self, reached: int) -> None:
        while self._signals and self._signals[0].value <= reached:
            tp = self._signals.pop(0)
            assert tp.event is not None
            self.ctx.event_pool.release(tp.event)
            self.ctx.timepoint_pool.release(tp)

    def _fire(self, fired: list[Timepoint]) -> None:
        for tp in fired:
            self.remove_wait(tp)
            tp.fired = True
        for tp in fired:
            if tp.notify is not None:
                tp.notify()

    def check_invariants(self) -> None:
        """Raise InvariantError listing every broken invariant of this semaphore."""
        raise_if(self.invariant_problems())

    def invariant_problems(self) -> list[str]:
        problems = []
        values = [t.value for t in self._signals]
        if values != sorted(values) or any(v <= self.value for v in values):
            problems.append(f"semaphore {self.name}: published signals {values} not pending")
        if not 0 <= self.value <= MAX_VALUE:
            problems.append(f"semaphore {self.name}: value {self.value} out of range")
        return problems


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
