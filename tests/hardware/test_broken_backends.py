"""Deliberately broken HIP backends are caught by `hipsem diff` (and the checker).

Each broken piece is a subclass injected through HipRun's factories; the clean core runs
on it unchanged. Every scenario here is device-observable: 5 ms and more of producer work,
long against the backend's ~0.2 ms issue overhead. Each breakage must turn the
comparison not-ok (a DISAGREE row or a violation on the HIP run) on the scenario where it
matters, and the clean backend must agree on the same scenario.

(a) device waits dropped: `stream_wait_event` does nothing;
(b) host functions run early: `launch_host_func` calls the function at once, on the
    calling thread, before the stream's earlier work;
(c) timed waits wait 1000x too long: a ThreadPlatform scaling deadlines;
(d) a lying value log: a Recorder that logs values no op signalled, or logs a signal's
    advance when the action is issued instead of when the host timeline advanced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from hipbackend.device import HipDevice
from hipbackend.diff import Comparison, diff_scenario
from hipbackend.platform import ThreadPlatform
from hipbackend.runner import HipRun
from hipbackend.runtime import RuntimeInfo
from model.core.effects import Deadline
from model.core.queue import Action, DeferredQueue
from model.core.semaphore import Semaphore
from model.core.status import StatusCode
from model.scenario.checker import check
from model.scenario.record import RunRecord, ValueChange
from model.scenario.recorder import Recorder
from model.scenario.types import Execute, Query, Scenario, Signal, Sleep, Wait, WaitMode

PRODUCER_US = 5000.0


# --------------------------------------------------------------------------- broken parts


class DroppedWaitsDevice(HipDevice):
    """(a) hipStreamWaitEvent is never made: streams do not wait for each other."""

    def stream_wait_event(self, stream: Any, event: Any) -> None:
        return None


class EarlyHostFunctionDevice(HipDevice):
    """(b) host functions run at once on the launching thread, not after the stream's
    earlier work on HIP's host-function thread."""

    def launch_host_func(self, stream: Any, fn: Callable[[], None]) -> None:
        fn()


class SlowTimeoutPlatform(ThreadPlatform):
    """(c) every timed wait waits 1000 times its timeout."""

    def expiry(self, deadline: Deadline | None) -> float | None:
        if deadline is not None and deadline.timeout_us and deadline.expires_at is None:
            deadline.expires_at = time.monotonic() + deadline.timeout_us * 1000 / 1e6
        return super().expiry(deadline)


class WrongValueRecorder(Recorder):
    """(d) every advance is logged one higher than the value the core published."""

    def value_changed(self, sem: Semaphore, value: int, code: StatusCode) -> None:
        super().value_changed(sem, value + 1 if code is StatusCode.OK else value, code)


class EarlyAdvanceRecorder(Recorder):
    """(d) an action's signals are logged as host-visible when it is issued, long before
    its work (and the host timeline) got there."""

    def action_issued(self, queue: DeferredQueue, action: Action) -> None:
        super().action_issued(queue, action)
        _, op = self.scenario.op_by_id()[action.id]
        assert isinstance(op, Execute)
        for sem, value in op.signal.items():
            self.record.value_log.append(ValueChange(sem, value, "OK", self.now(), self.seq()))


# --------------------------------------------------------------------------- scenarios


def cross_queue() -> Scenario:
    """x0 (5 ms) on q0 signals A; x1 on q1 waits for it (parked: submitted first) and
    signals B; the host waits for B and queries A and B."""
    return Scenario(
        "cross-queue", {"A": 0, "B": 0}, ["q0", "q1"],
        {"h0": [Execute("x1", "q1", {"A": 1}, {"B": 1}, 1000.0),
                Execute("x0", "q0", {}, {"A": 1}, PRODUCER_US),
                Wait("w", {"B": 1}, WaitMode.ALL, None),
                Query("qa", "A"), Query("qb", "B")]})


def host_then_device() -> Scenario:
    """x0 (5 ms) signals A; the host waits for A, then submits x1 waiting on A (issued
    from the host timeline, with no device wait) and waits for it."""
    return Scenario(
        "host-then-device", {"A": 0, "B": 0}, ["q0", "q1"],
        {"h0": [Execute("x0", "q0", {}, {"A": 1}, PRODUCER_US),
                Wait("wa", {"A": 1}, WaitMode.ALL, None),
                Execute("x1", "q1", {"A": 1}, {"B": 1}, 1000.0),
                Wait("wb", {"B": 1}, WaitMode.ALL, None)]})


def timed_wait() -> Scenario:
    """h0 waits 2 ms for S (a timeout: h1 signals it only after 50 ms), then polls."""
    return Scenario(
        "timed-wait", {"S": 0}, ["q0"],
        {"h0": [Wait("w", {"S": 1}, WaitMode.ALL, 2000.0), Query("q", "S")],
         "h1": [Sleep("z", 50_000.0), Signal("s", "S", 1)]})


def query_during_work() -> Scenario:
    """x0 (20 ms) signals A; 5 ms into its work the host queries A (still 0)."""
    return Scenario(
        "query-during-work", {"A": 0}, ["q0"],
        {"h0": [Execute("x0", "q0", {}, {"A": 1}, 4 * PRODUCER_US),
                Sleep("z", PRODUCER_US), Query("q", "A"),
                Wait("w", {"A": 1}, WaitMode.ALL, None)]})


# --------------------------------------------------------------------------- helpers


def diff_with(scenario: Scenario, runtime: str, **factories: Any) -> Comparison:
    def run(s: Scenario, seed: int) -> RunRecord:
        return HipRun(s, seed, (), runtime, **factories).run()

    return diff_scenario(scenario, runtime, run_hip=run)


def disagreements(c: Comparison) -> dict[str, tuple[str, str]]:
    return {item: (a, b) for item, a, b, verdict in c.rows if verdict == "DISAGREE"}


def assert_clean(scenario: Scenario, runtime: str) -> None:
    clean = diff_with(scenario, runtime)
    assert clean.ok, (clean.violations, disagreements(clean))


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("make", [cross_queue, host_then_device], ids=lambda f: f.__name__)
def test_dropped_device_waits_are_caught(make: Callable[[], Scenario],
                                         hip_runtime: RuntimeInfo) -> None:
    scenario = make()
    assert_clean(scenario, hip_runtime.kind)
    broken = diff_with(scenario, hip_runtime.kind, device_factory=DroppedWaitsDevice)
    assert not broken.ok
    assert any(v.startswith("happens-before x1") for v in broken.violations["hip"])


def test_early_host_functions_are_caught(hip_runtime: RuntimeInfo) -> None:
    scenario = host_then_device()
    assert_clean(scenario, hip_runtime.kind)
    broken = diff_with(scenario, hip_runtime.kind, device_factory=EarlyHostFunctionDevice)
    assert not broken.ok
    # A retired before x0's work ended, so x1 (released by the host timeline) started
    # while x0 was still running.
    assert any(v.startswith("happens-before x1") for v in broken.violations["hip"])


def test_early_host_functions_break_the_device_order(hip_runtime: RuntimeInfo) -> None:
    record = HipRun(host_then_device(), 0, (), hip_runtime.kind,
                    device_factory=EarlyHostFunctionDevice).run()
    x0, x1 = record.ops["x0"], record.ops["x1"]
    assert x0.end_us is not None and x1.start_us is not None
    assert x1.start_us < x0.end_us - record.clock_tolerance_us
    assert any(v.property == "happens-before" for v in check(host_then_device(), record))


def test_slow_timed_waits_are_caught(hip_runtime: RuntimeInfo) -> None:
    scenario = timed_wait()
    assert_clean(scenario, hip_runtime.kind)
    broken = diff_with(scenario, hip_runtime.kind, platform_factory=SlowTimeoutPlatform)
    assert disagreements(broken)["op w"] == ("DEADLINE_EXCEEDED", "OK")
    assert disagreements(broken)["query q"] == ("0", "1")


def test_a_value_log_with_values_nobody_signalled_is_caught(hip_runtime: RuntimeInfo) -> None:
    scenario = cross_queue()
    assert_clean(scenario, hip_runtime.kind)
    broken = diff_with(scenario, hip_runtime.kind, recorder_factory=WrongValueRecorder)
    found = disagreements(broken)
    assert found["values A"] == ("{1}", "{2}") and found["values B"] == ("{1}", "{2}")


def test_a_value_log_with_early_advances_is_caught(hip_runtime: RuntimeInfo) -> None:
    scenario = query_during_work()
    assert_clean(scenario, hip_runtime.kind)
    broken = diff_with(scenario, hip_runtime.kind, recorder_factory=EarlyAdvanceRecorder)
    assert not broken.ok
    # The log says A reached 1 when x0 was issued; the query made 5 ms later read 0.
    assert any(v.startswith("linearizable-wait q") for v in broken.violations["hip"])
