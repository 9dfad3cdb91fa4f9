"""Event and timepoint pools: fill, hit, miss, surplus destruction off the callback thread."""

from __future__ import annotations

from typing import Any

import pytest

from model.core.effects import Call, Gen
from model.core.pools import EventPool, InvariantError, TimepointPool
from model.core.status import InvalidArgumentError


class CountingDevice:
    """Answers create_event with fresh ints; records every call."""

    host_function_api_calls = 0

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.next = 0

    def create_event(self) -> int:
        self.calls.append("create_event")
        self.next += 1
        return self.next

    def destroy_event(self, handle: Any) -> None:
        self.calls.append(f"destroy_event({handle})")


def drive(device: CountingDevice, gen: Gen[Any]) -> Any:
    answer = None
    while True:
        try:
            effect = gen.send(answer)
        except StopIteration as stop:
            return stop.value
        assert isinstance(effect, Call)
        answer = getattr(device, effect.name)(*effect.args)


def test_pool_is_filled_up_front_and_hits_until_empty() -> None:
    device = CountingDevice()
    pool = EventPool(device, 2)  # type: ignore[arg-type]
    drive(device, pool.initialize())
    assert device.calls == ["create_event", "create_event"]
    a = drive(device, pool.acquire())
    b = drive(device, pool.acquire())
    c = drive(device, pool.acquire())  # the miss creates an event
    s = pool.statistics()
    assert (s.acquires, s.misses, s.created, s.prefilled, s.in_use, s.free) == (3, 1, 1, 2, 3, 0)
    for event in (a, b, c):
        pool.release(event)
    # two fit back, the third awaits destruction by collect(): no device call yet
    assert device.calls.count("destroy_event(3)") == 0
    drive(device, pool.collect())
    assert pool.statistics().destroyed == 1
    pool.check_invariants()


def test_references_keep_an_event_out_of_the_pool() -> None:
    device = CountingDevice()
    pool = EventPool(device, 1)  # type: ignore[arg-type]
    drive(device, pool.initialize())
    event = drive(device, pool.acquire())
    pool.retain(event)
    pool.release(event)
    assert pool.statistics().in_use == 1 and event.refs == 1
    pool.release(event)
    assert pool.statistics().in_use == 0 and pool.statistics().free == 1


def test_close_destroys_free_events_and_accounts_for_them() -> None:
    device = CountingDevice()
    pool = EventPool(device, 3)  # type: ignore[arg-type]
    drive(device, pool.initialize())
    drive(device, pool.close())
    s = pool.statistics()
    assert (s.free, s.closed, s.destroyed) == (0, 3, 0)
    assert sum(c.startswith("destroy_event") for c in device.calls) == 3
    pool.check_invariants()


def test_invariant_violation_is_reported() -> None:
    device = CountingDevice()
    pool = EventPool(device, 1)  # type: ignore[arg-type]
    drive(device, pool.initialize())
    pool._free.append(pool._free[0])  # corrupt: the same event twice
    with pytest.raises(InvariantError, match="twice"):
        pool.check_invariants()


@pytest.mark.parametrize("capacity", [-1, 1.5, True, "8"])
def test_bad_capacity_is_rejected_with_its_value(capacity: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="capacity"):
        TimepointPool(capacity)


def test_timepoint_pool_counts_misses_and_surplus() -> None:
    pool = TimepointPool(1)
    a, b = pool.acquire(), pool.acquire()
    pool.release(a)
    pool.release(b)
    s = pool.statistics()
    assert (s.misses, s.created, s.destroyed, s.free, s.peak_in_use) == (1, 1, 1, 1, 2)
    pool.check_invariants()
