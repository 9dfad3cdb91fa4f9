"""Timeline semaphores: values, range checks, failure, and host waits on the SimPy platform."""

from __future__ import annotations

from typing import Any

import pytest

from model.core.context import CoreContext
from model.core.semaphore import MAX_VALUE, Semaphore, wait_semaphores
from model.core.status import (
    InvalidArgumentError,
    OutOfRangeError,
    SemaphoreFailedError,
    StatusCode,
)
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.platform import SimPlatform


def make() -> tuple[SeededEnvironment, SimPlatform, CoreContext]:
    env = SeededEnvironment(0)
    device = SimDevice(env)
    return env, SimPlatform(env, device), CoreContext(device)


def test_signal_advances_and_rejects_non_increasing_values() -> None:
    _, _, ctx = make()
    s = ctx.create_semaphore("S", 5)
    s.signal(7)
    assert s.query() == 7
    with pytest.raises(OutOfRangeError, match="does not increase the current value 7"):
        s.signal(7)
    with pytest.raises(OutOfRangeError, match="outside the timeline range"):
        s.signal(MAX_VALUE + 1)
    s.signal(MAX_VALUE)
    assert s.query() == MAX_VALUE


def test_initial_value_is_range_checked() -> None:
    _, _, ctx = make()
    with pytest.raises(OutOfRangeError):
        ctx.create_semaphore("S", -1)
    with pytest.raises(InvalidArgumentError, match="must be an int"):
        Semaphore(ctx, "T", 1.5)  # type: ignore[arg-type]


def test_first_failure_wins_and_is_reported_by_query_and_signal() -> None:
    _, _, ctx = make()
    s = ctx.create_semaphore("S")
    s.fail(StatusCode.ABORTED, "first")
    s.fail(StatusCode.CANCELLED, "second")
    with pytest.raises(SemaphoreFailedError) as error:
        s.query()
    assert error.value.code is StatusCode.ABORTED and "first" in str(error.value)
    with pytest.raises(SemaphoreFailedError):
        s.signal(1)


def run_wait(env: SeededEnvironment, platform: SimPlatform, ctx: CoreContext,
             pairs: list[tuple[Semaphore, int]], wait_any: bool,
             timeout: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def waiter() -> Any:
        verdict = yield from platform.drive(wait_semaphores(ctx, pairs, wait_any, timeout))
        out["verdict"], out["at"] = verdict[0], env.now

    env.process(waiter())
    return out


def later(env: SeededEnvironment, at: float, action: Any) -> None:
    def proc() -> Any:
        yield env.timeout(at)
        action()

    env.process(proc())


def test_wait_all_returns_when_the_last_value_is_reached() -> None:
    env, platform, ctx = make()
    a, b = ctx.create_semaphore("A"), ctx.create_semaphore("B")
    out = run_wait(env, platform, ctx, [(a, 1), (b, 1)], False, None)
    later(env, 10, lambda: a.signal(1))
    later(env, 20, lambda: b.signal(1))
    env.run()
    assert out == {"verdict": StatusCode.OK, "at": 20}
    assert ctx.timepoint_pool.statistics().in_use == 0


def test_wait_any_returns_on_the_first_value() -> None:
    env, platform, ctx = make()
    a, b = ctx.create_semaphore("A"), ctx.create_semaphore("B")
    out = run_wait(env, platform, ctx, [(a, 1), (b, 1)], True, None)
    later(env, 20, lambda: a.signal(1))
    later(env, 10, lambda: b.signal(1))
    env.run()
    assert out == {"verdict": StatusCode.OK, "at": 10}


def test_timeout_returns_deadline_exceeded_at_the_deadline() -> None:
    env, platform, ctx = make()
    a = ctx.create_semaphore("A")
    out = run_wait(env, platform, ctx, [(a, 1)], False, 50)
    later(env, 80, lambda: a.signal(1))
    env.run()
    assert out == {"verdict": StatusCode.DEADLINE_EXCEEDED, "at": 50}


def test_poll_answers_at_once() -> None:
    env, platform, ctx = make()
    a = ctx.create_semaphore("A", 3)
    out = run_wait(env, platform, ctx, [(a, 4)], False, 0)
    env.run()
    assert out == {"verdict": StatusCode.DEADLINE_EXCEEDED, "at": 0}
    a.signal(4)
    out = run_wait(env, platform, ctx, [(a, 4)], False, 0)
    env.run()
    assert out["verdict"] is StatusCode.OK


def test_failure_wakes_a_waiter_with_the_failure_code() -> None:
    env, platform, ctx = make()
    a = ctx.create_semaphore("A")
    out = run_wait(env, platform, ctx, [(a, 1)], False, None)
    later(env, 5, lambda: a.fail(StatusCode.DATA_LOSS, "gone"))
    env.run()
    assert out == {"verdict": StatusCode.DATA_LOSS, "at": 5}
    assert ctx.timepoint_pool.statistics().in_use == 0
