"""The semaphore's value indexes fire exactly what the linear scan fired, in its order.

A reference model keeps the waits in one registration-ordered list and, as the seed's
code did, fires on an advance every wait at or below the value, on a publication every
parked queue wait at or below it, on a failure every wait — each in list order. Random
sequences of registrations, removals, publications, advances and failures must produce
the same notifications in the same order, and the indexes must stay consistent
(`invariant_problems`), including after the stale-entry rebuilds.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from model.core.context import CoreContext
from model.core.pools import PooledEvent, Timepoint
from model.core.semaphore import FAILURE_ONLY, Semaphore
from model.core.status import StatusCode
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment


class _Reference:
    def __init__(self) -> None:
        self.waits: list[tuple[str, int, bool]] = []  # (name, value, wakes on publish)

    def fire(self, keep: Callable[[int, bool], bool]) -> list[str]:
        fired = [w for w in self.waits if keep(w[1], w[2])]
        self.waits = [w for w in self.waits if w not in fired]
        return [name for name, _, _ in fired]


@pytest.mark.parametrize("seed", range(30))
def test_same_notifications_in_the_same_order_as_the_linear_scan(seed: int) -> None:
    rng = random.Random(seed)
    ctx = CoreContext(SimDevice(SeededEnvironment(0)))
    sem = Semaphore(ctx, "S", 0)
    ref = _Reference()
    got: list[str] = []
    live: dict[str, Timepoint] = {}
    value, failed = 0, False
    published = fired = 0
    for step in range(400):
        roll = rng.random()
        if roll < 0.45:  # register a wait
            name = f"w{step}"
            queue_wait = rng.random() < 0.6
            target = (FAILURE_ONLY if queue_wait and rng.random() < 0.15
                      else value + rng.randint(1, 40))
            tp = Timepoint()
            sem.add_wait(tp, target, lambda n=name: got.append(n), wake_on_publish=queue_wait)
            if failed:
                got_now = got.pop()
                assert got_now == name
                continue
            live[name] = tp
            ref.waits.append((name, target, queue_wait))
        elif roll < 0.7 and live:  # remove one
            name = rng.choice(sorted(live))
            sem.remove_wait(live.pop(name))
            ref.waits = [w for w in ref.waits if w[0] != name]
        elif roll < 0.85 and not failed:  # publish a producer signal
            v = value + rng.randint(1, 30)
            event = PooledEvent(object(), step)
            event.refs = 1  # the test's own reference: retirement never frees it
            sem.publish_signal(v, event)
            published += 1
            want = ref.fire(lambda wv, q, v=v: q and wv <= v)
            assert got == want, (seed, step)
            fired += len(got)
            got.clear()
        elif not failed and (roll < 0.98 or step < 300):  # advance
            value += rng.randint(1, 25)
            sem.complete_signal(value)
            want = ref.fire(lambda wv, _q, v=value: wv <= v)
            assert got == want, (seed, step)
            fired += len(got)
            got.clear()
        elif not failed:  # fail
            sem.fail(StatusCode.ABORTED, "test")
            failed = True
            assert got == ref.fire(lambda _v, _q: True)
            got.clear()
        for name in [n for n in live if live[n].fired]:
            del live[name]
        assert sem.invariant_problems() == [], (seed, step)
    assert published > 10 and fired > 50  # the test exercised the indexes
