"""Event pool and timepoint pool.

Mirrors IREE's `hal/drivers/hip/event_pool.c` and `timepoint_pool.c`: a pool is created
full (`capacity` objects made up front), `acquire` takes from the free list or, on a
*miss*, makes a new object, and `release` returns an object to the free list or, past
capacity, destroys it. Events are reference counted: the last release returns them.

Unlike the seed, releasing never calls the device. Surplus events are queued and
destroyed by `collect()`, which only worker and completion loops run, so no HIP call is
ever made from host-function context (DESIGN.md rule 6). `flush_in_callback` keeps the
seed's behaviour for the `callback-pool-release` defect.

Invariants (checked by `check_invariants`):
  * in_use == acquired objects not yet released; 0 <= in_use <= peak_in_use;
  * free <= capacity; every free object has refs == 0; created - destroyed ==
    free + in_use + awaiting destruction;
  * a pooled event is never in the free list twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.core.effects import Call, Gen
from model.core.status import HipsemError, InvalidArgumentError, StatusCode
from model.device import Device

log = logging.getLogger(__name__)


class InvariantError(HipsemError, AssertionError):
    """A core invariant does not hold; the message lists every broken one."""

    code = StatusCode.INTERNAL


@dataclass(frozen=True, slots=True)
class PoolStatistics:
    """A snapshot of a pool's counters."""

    capacity: int
    acquires: int
    misses: int
    created: int  # made on a miss (not counting the initial fill)
    destroyed: int  # destroyed on a release past capacity (not counting close)
    in_use: int
    peak_in_use: int
    free: int
    prefilled: int = 0  # made when the pool was filled to capacity
    closed: int = 0  # destroyed when the pool was closed


class _Counters:
    __slots__ = (
        "acquires", "closed", "created", "destroyed", "in_use", "misses", "peak_in_use",
        "prefilled",
    )

    def __init__(self) -> None:
        self.acquires = self.misses = self.created = self.destroyed = 0
        self.in_use = self.peak_in_use = self.prefilled = self.closed = 0

    def snapshot(self, capacity: int, free: int) -> PoolStatistics:
        return PoolStatistics(
            capacity, self.acquires, self.misses, self.created, self.destroyed,
            self.in_use, self.peak_in_use, free, self.prefilled, self.closed,
        )

    def took(self, miss: bool) -> None:
        self.acquires += 1
        self.misses += int(miss)
        self.in_use += 1
        self.peak_in_use = max(self.peak_in_use, self.in_use)


def _check_capacity(capacity: int) -> None:
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
        raise InvalidArgumentError(f"pool capacity must be an int >= 0, got {capacity!r}")


class PooledEvent:
    """A device event handle with a reference count, owned by an `EventPool`."""

    __slots__ = ("handle", "id", "refs")

    def __init__(self, handle: Any, ident: int) -> None:
        self.handle = handle
        self.id = ident
        # Invariant: refs > 0 exactly while the event is out of the pool.
        self.refs = 0

    def __repr__(self) -> str:
        return f"PooledEvent(e{self.id}, refs={self.refs})"


class EventPool:
    """Pool of device events (hipEventDisableTiming) shared by a context's queues."""

    def __init__(self, device: Device, capacity: int, reuse_destroyed: bool = False,
                 count_before_create: bool = False) -> None:
        _check_capacity(capacity)
        self.device = device
        self.capacity = capacity
        self.reuse_destroyed = reuse_destroyed  # defect reuse-destroyed-event
        self.count_before_create = count_before_create  # defect acquire-error-half-taken
        self._free: list[PooledEvent] = []  # LIFO, as in the seed
        self._doomed: list[PooledEvent] = []  # past capacity, destroyed by collect()
        self._destroying = 0  # taken off a list, its destroy_event call not yet returned
        self._n = _Counters()
        self._next_id = 0
        self.leaked_refs = 0  # references deliberately dropped by a defect

    def initialize(self) -> Gen[None]:
        """Fill the pool to capacity (the seed creates every event up front)."""
        while len(self._free) < self.capacity:
            self._free.append((yield from self._create()))
            self._n.prefilled += 1

    def _create(self) -> Gen[PooledEvent]:
        handle = yield Call("create_event")
        self._next_id += 1
        return PooledEvent(handle, self._next_id)

    def acquire(self) -> Gen[PooledEvent]:
        """Take an event (refs = 1); a miss creates one with a device call.

        A create that fails (a `HipCallError`) leaves the pool as it was: nothing is
        counted taken before the event exists (IREE's acquire error path once did)."""
        miss = not self._free
        if miss and self.count_before_create:  # the defect: counted, then created
            self._n.created += 1
            self._n.took(miss)
            event = yield from self._create()
            event.refs = 1
            return event
        event = (yield from self._create()) if miss else self._free.pop()
        self._n.created += int(miss)
        self._n.took(miss)
        event.refs = 1
        return event

    def retain(self, event: PooledEvent) -> None:
        assert event.refs > 0, f"retain of released {event!r}"
        event.refs += 1

    def release(self, event: PooledEvent) -> None:
        """Drop one reference; the last one returns the event (no device call)."""
        assert event.refs > 0, f"release of released {event!r}"
        event.refs -= 1
        if event.refs == 0:
            self._n.in_use -= 1
            target = self._free if len(self._free) < self.capacity else self._doomed
            target.append(event)

    def flush_in_callback(self, destroy: Callable[[Any], None]) -> None:
        """The seed's behaviour: destroy past-capacity events at once (defect path)."""
        while self._doomed:
            destroy(self._doomed.pop().handle)
            self._n.destroyed += 1

    def collect(self) -> Gen[None]:
        """Destroy events released past capacity (worker/completion context only)."""
        while self._doomed:
            event = self._doomed.pop()
            yield from self._destroy(event)
            self._n.destroyed += 1
            if self.reuse_destroyed:  # defect: the destroyed handle stays pooled
                self._free.append(event)

    def close(self) -> Gen[None]:
        """Destroy every pooled event; events still in use stay counted as in use."""
        yield from self.collect()
        while self._free:
            event = self._free.pop()
            yield from self._destroy(event)
            self._n.closed += 1

    def _destroy(self, event: PooledEvent) -> Gen[None]:
        """The destroy call of an event already taken off `_free`/`_doomed`: counted as
        being destroyed while the call is in flight, so the pool's invariants hold at
        every point another context can observe it (not only between effects)."""
        self._destroying += 1
        try:
            yield Call("destroy_event", (event.handle,))
        finally:
            self._destroying -= 1

    def statistics(self) -> PoolStatistics:
        return self._n.snapshot(self.capacity, len(self._free))

    def check_invariants(self) -> None:
        problems = _common_problems("event pool", self.statistics(),
                                    len(self._doomed) + self._destroying)
        if any(e.refs for e in self._free):
            problems.append("event pool: a free event has refs > 0")
        if len({id(e) for e in self._free}) != len(self._free):
            problems.append("event pool: an event is in the free list twice")
        raise_if(problems)


def _common_problems(name: str, s: PoolStatistics, doomed: int) -> list[str]:
    problems: list[str] = []
    if not 0 <= s.in_use <= s.peak_in_use:
        problems.append(f"{name}: in_use {s.in_use} outside [0, peak {s.peak_in_use}]")
    if s.free > s.capacity:
        problems.append(f"{name}: {s.free} free objects above capacity {s.capacity}")
    live = s.prefilled + s.created - s.destroyed - s.closed
    if live != s.free + s.in_use + doomed:
        problems.append(
            f"{name}: live objects {live} but free+in_use+doomed="
            f"{s.free}+{s.in_use}+{doomed}"
        )
    return problems


def raise_if(problems: list[str]) -> None:
    """Raise InvariantError listing `problems`, if there are any."""
    if problems:
        raise InvariantError("; ".join(problems))


class Timepoint:
    """A pooled registration on a semaphore: "call `notify` when value >= `value`".

    Kinds: a host wait or a parked queue wait (`event` None), or a published device
    signal (`event` is the recorded producer event; `notify` unused; `frontier` is the
    producer action's causal frontier, see `model.core.queue`).
    """

    __slots__ = ("event", "fired", "frontier", "notify", "owner", "value")

    def __init__(self) -> None:
        self.value = 0
        self.notify: Callable[[], None] | None = None
        self.event: PooledEvent | None = None
        self.fired = False
        self.owner: object | None = None
        self.frontier: dict[Any, int] | None = None

    def reset(self) -> None:
        self.value, self.notify, self.event, self.fired, self.owner = 0, None, None, False, None
        self.frontier = None


class TimepointPool:
    """Pool of `Timepoint` objects (IREE's timepoint pool, without OS events)."""

    def __init__(self, capacity: int) -> None:
        _check_capacity(capacity)
        self.capacity = capacity
        self._free: list[Timepoint] = [Timepoint() for _ in range(capacity)]
        self._n = _Counters()
        self._n.prefilled = capacity

    def acquire(self) -> Timepoint:
        miss = not self._free
        if miss:
            self._n.created += 1
        tp = Timepoint() if miss else self._free.pop()
        self._n.took(miss)
        return tp

    def release(self, tp: Timepoint) -> None:
        tp.reset()
        self._n.in_use -= 1
        if len(self._free) < self.capacity:
            self._free.append(tp)
        else:
            self._n.destroyed += 1

    def close(self) -> None:
        self._n.closed += len(self._free)
        self._free.clear()

    def statistics(self) -> PoolStatistics:
        return self._n.snapshot(self.capacity, len(self._free))

    def check_invariants(self) -> None:
        raise_if(_common_problems("timepoint pool", self.statistics(), 0))
