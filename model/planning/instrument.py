"""Instrumented pools: the core's EventPool/TimepointPool plus time-weighted occupancy.

The subclasses behave exactly like the core pools (they call the base methods and change
no decision); they add, per pool, over a measurement window:
  * `time_at[n]`: simulated µs spent with n objects in use (time-weighted occupancy);
  * `seen_at[n]`: acquires that found n objects already in use — a pool that holds
    exactly N objects (no surplus kept) misses on the acquires with n >= N;
  * acquires, misses, creates, destroys, and the simulated µs the acquiring thread spent
    creating (a miss on the event pool is a `create_event` call) and the collecting
    thread spent destroying.

They read the base pools' free lists (`_free`, `_doomed`) to learn whether an acquire
misses; model/core/pools.py has no observer hook yet (see docs/planning.md).

Invariant: `sum(time_at) == now - window start` after `close_window(now)`, and
`sum(seen_at) == acquires`; `in_use` mirrors the base pool's in-use count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from model.core.effects import Gen
from model.core.pools import EventPool, PooledEvent, Timepoint, TimepointPool
from model.device import Device

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class PoolWindow:
    """What one pool did during a measurement window (one replication, one capacity)."""

    capacity: int
    window_us: float
    acquires: int
    misses: int
    creates: int
    destroys: int
    create_us: float  # simulated time spent in create calls on misses
    destroy_us: float  # simulated time spent destroying surplus objects
    time_at: tuple[float, ...]  # µs with n objects in use, n = index
    seen_at: tuple[int, ...]  # acquires that found n objects in use

    @property
    def mean_in_use(self) -> float:
        """Time-average occupancy (= acquire rate x mean hold time, Little's law)."""
        total = sum(self.time_at)
        return sum(n * t for n, t in enumerate(self.time_at)) / total if total else 0.0

    @property
    def peak(self) -> int:
        return max((n for n, t in enumerate(self.time_at) if t > 0), default=0)

    def fixed_pool_misses(self, capacity: int) -> int:
        """Misses of a pool holding exactly `capacity` objects: acquires finding >= capacity."""
        return sum(self.seen_at[capacity:])


class Occupancy:
    """Counters and histograms of one pool (see the module docstring)."""

    __slots__ = ("acquires", "clock", "create_us", "creates", "destroy_us", "destroys",
                 "in_use", "last", "misses", "seen_at", "start", "time_at")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.in_use = 0
        self.open_window()

    def open_window(self) -> None:
        """Start a new measurement window now (the current level is kept)."""
        self.start = self.last = self.clock()
        self.time_at: list[float] = [0.0] * (self.in_use + 1)
        self.seen_at: list[int] = [0] * (self.in_use + 1)
        self.acquires = self.misses = self.creates = self.destroys = 0
        self.create_us = self.destroy_us = 0.0

    def _step(self, delta: int) -> None:
        now = self.clock()
        self.time_at[self.in_use] += now - self.last
        self.last = now
        self.in_use += delta
        if self.in_use >= len(self.time_at):
            self.time_at.append(0.0)
            self.seen_at.append(0)

    def arrived(self, miss: bool) -> None:
        """An acquire starts (before a miss's create call): count what it finds."""
        self.seen_at[self.in_use] += 1
        self.acquires += 1
        self.misses += miss

    def acquired(self, miss: bool) -> None:
        self.arrived(miss)
        self._step(1)

    def took(self) -> None:
        self._step(1)

    def released(self) -> None:
        self._step(-1)

    def close_window(self, capacity: int) -> PoolWindow:
        self._step(0)
        return PoolWindow(capacity, self.last - self.start, self.acquires, self.misses,
                          self.creates, self.destroys, self.create_us, self.destroy_us,
                          tuple(self.time_at), tuple(self.seen_at))


class InstrumentedEventPool(EventPool):
    """`EventPool` that feeds an `Occupancy` (behaviour unchanged)."""

    def __init__(self, device: Device, capacity: int, clock: Clock) -> None:
        super().__init__(device, capacity)
        self.occupancy = Occupancy(clock)

    def acquire(self) -> Gen[PooledEvent]:
        occ = self.occupancy
        if self._free:
            occ.acquired(False)
            return (yield from super().acquire())
        occ.arrived(True)
        start = occ.clock()
        event = yield from super().acquire()
        occ.create_us += occ.clock() - start
        occ.creates += 1
        occ.took()
        return event

    def release(self, event: PooledEvent) -> None:
        super().release(event)
        if event.refs == 0:
            self.occupancy.released()

    def collect(self) -> Gen[None]:
        if not self._doomed:
            return
        occ = self.occupancy
        start, count = occ.clock(), len(self._doomed)
        yield from super().collect()
        occ.destroy_us += occ.clock() - start
        occ.destroys += count


class InstrumentedTimepointPool(TimepointPool):
    """`TimepointPool` that feeds an `Occupancy` (behaviour unchanged; misses cost no time)."""

    def __init__(self, capacity: int, clock: Clock) -> None:
        super().__init__(capacity)
        self.occupancy = Occupancy(clock)

    def acquire(self) -> Timepoint:
        miss = not self._free
        tp = super().acquire()
        self.occupancy.creates += miss
        self.occupancy.acquired(miss)
        return tp

    def release(self, tp: Timepoint) -> None:
        surplus = len(self._free) >= self.capacity
        super().release(tp)
        self.occupancy.destroys += surplus
        self.occupancy.released()
