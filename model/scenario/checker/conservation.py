"""Property `conservation`: nothing leaks and nothing disappears.

Pools balanced after teardown, the runner's invariant and accounting problems, every op
and semaphore of the scenario in the record.
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.views import Ctx, Violation
from model.scenario.record import PoolReport


def _pool_problems(name: str, p: PoolReport) -> Iterator[str]:
    in_use, created, destroyed = p.in_use_at_end, p.created, p.destroyed
    if in_use != 0:
        yield f"pool {name}: {in_use} object(s) still in use at the end"
    if created - destroyed < 0:
        yield f"pool {name}: destroyed {destroyed} but created only {created}"
    elif created != destroyed:
        yield f"pool {name}: {created - destroyed} object(s) not destroyed after teardown"


def _device_problems(pool: PoolReport, device: tuple[int, int, int]) -> Iterator[str]:
    """The event pool's statistics against the device's own count of its calls."""
    created, destroyed, recorded = device
    if pool.prefilled + pool.created != created:
        yield (f"pool event: reports {pool.prefilled} prefilled + {pool.created} created, but "
               f"the device saw {created} create_event calls")
    if pool.destroyed + pool.closed != destroyed:
        yield (f"pool event: reports {pool.destroyed} destroyed + {pool.closed} at close, but "
               f"the device saw {destroyed} destroy_event calls")
    if pool.misses != pool.created:
        yield f"pool event: {pool.misses} misses but {pool.created} events created on a miss"
    if pool.acquires != recorded:
        yield (f"pool event: reports {pool.acquires} acquires, but the device saw "
               f"{recorded} record_event calls (each acquired event is recorded once)")


def check_conservation(c: Ctx) -> Iterator[Violation]:
    for problem in c.record.conservation_problems:
        yield Violation("conservation", None, problem)
    for name, pool in c.record.pools.items():
        for problem in _pool_problems(name, pool):
            yield Violation("conservation", None, problem)
    event_pool, device = c.record.pools.get("event"), c.record.device_events
    if event_pool is not None and device is not None and c.record.crash is None:
        for problem in _device_problems(event_pool, device):
            yield Violation("conservation", None, problem)
    for x in c.ix.executes:
        if x.id not in c.record.ops:
            yield Violation("conservation", x.id, f"execute {x.id} is missing from the record")
    known = {op.id for op in c.ix.all_ops}
    for op_id in c.record.ops:
        if op_id not in known:
            yield Violation("conservation", op_id, f"the record has an unknown op {op_id}")
    for s in c.scenario.semaphores:
        if s not in c.record.semaphores:
            yield Violation("conservation", None, f"no final state recorded for semaphore {s}")


# =========================================================================== host-callback-api
