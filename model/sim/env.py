"""A SimPy environment whose ties are broken by a seeded random generator.

Plain SimPy processes events scheduled for the same time and priority in the order they
were scheduled (FIFO). Real hardware makes no such promise, so this environment orders
such ties by a draw from `rng`: a run is exactly reproducible for a seed, and different
seeds explore different interleavings of simultaneous events. Time unit: microseconds.

Fast-forward. `fast_forward(delay)` is an exact shortcut for "yield a Timeout(delay) and
be resumed by it" when every other scheduled event lies strictly later than `now + delay`
(and that time stays within `horizon`, the runner's explicit limit): the timeout would be
the very next event, so nothing could run in between; it makes the same random draw and
event-id step that scheduling the timeout would, and sets the clock to the same float,
without an event. A host thread whose next device call ends before anything else happens
(the set-up filling the event pool, a worker issuing while the device is busy, a teardown
draining the pool) pays no SimPy event for it. An event at exactly `now + delay` (a tie,
broken by the draw) or earlier (an urgent wake-up at `now`) keeps the timeout, and so does
any step whose event has more than one callback (a device marker waited on by several
streams, say): the callbacks after the running one must still run at `now`.

Invariant: the event queue holds `(time, priority, key, event)` tuples — the 4-tuple
shape that `simpy.Environment.step` unpacks — where `key = draw << 64 | eid` is a unique
int (a random 32-bit draw, then SimPy's event counter), so two events are never compared.
"""

from __future__ import annotations

import math
import random
from heapq import heappush

import simpy
from simpy.events import NORMAL, Event, EventPriority


class SeededEnvironment(simpy.Environment):
    """`simpy.Environment` with a seeded random tie-break and the run's one `rng`."""

    def __init__(self, seed: int, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.seed = seed
        self.rng = random.Random(seed)
        self.horizon = math.inf  # fast_forward never passes it (the run's explicit limit)
        self._shared_step = False  # the event being processed has several callbacks

    def schedule(
        self,
        event: Event,
        priority: EventPriority = NORMAL,
        delay: float = 0,
    ) -> None:
        """Schedule `event` after `delay`; ties at equal (time, priority) are random."""
        key = self.rng.getrandbits(32) << 64 | next(self._eid)
        heappush(self._queue, (self._now + delay, priority, key, event))

    def step(self) -> None:
        """`simpy.Environment.step`, noting whether the event has several callbacks."""
        queue = self._queue
        self._shared_step = bool(queue) and len(queue[0][3].callbacks or ()) > 1
        super().step()

    def fast_forward(self, delay: float) -> bool:
        """Advance the clock by `delay` as a timeout would, if nothing else is scheduled
        and the time stays within `horizon` (then True; see the module docstring)."""
        at = self._now + delay
        if (self._queue and self._queue[0][0] <= at) or at > self.horizon \
                or self._shared_step:
            return False
        self.rng.getrandbits(32)  # the tie-break draw the timeout's schedule would make
        next(self._eid)
        self._now = at
        return True
