"""HipDevice (hipbackend.device) on the selected runtime: the protocol, DESIGN.md rules
1-8 through it, the observation matrix, rule-6 accounting, and resource release.

Runtime-agnostic unless a test takes the `cpu_runtime` fixture (then it skips on ROCm).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

import pytest

from hipbackend.cpu_runtime import CpuRuntimeLib
from hipbackend.device import HipDevice
from hipbackend.errors import HostFunctionApiCallError
from hipbackend.runtime import RuntimeInfo
from model.core.status import DeviceError, InvalidArgumentError, StatusCode
from model.device import Device, WorkItem
from tests.hardware.conftest import BYTES_PER_US, LONG_US, SHORT_S


def work(tag: str, us: float = LONG_US) -> WorkItem:
    return WorkItem(tag, us)


def test_implements_the_device_protocol(hip_device: HipDevice) -> None:
    assert isinstance(hip_device, Device)
    assert hip_device.host_function_api_calls == 0


def test_observation_chain_through_an_event(hip_device: HipDevice) -> None:
    d = hip_device
    a, b, c = d.create_stream("a"), d.create_stream("b"), d.create_stream("c")
    d.prepare_observation(["x", "y", "z"])
    e = d.create_event()
    d.launch_work(a, work("x"))
    d.record_event(e, a)
    d.stream_wait_event(b, e)
    d.launch_work(b, work("y", 100.0))
    d.launch_work(c, work("z", 100.0))
    seen = d.read_observation()
    assert set(seen) == {"x", "y", "z"}
    assert "x" in seen["y"]  # happens-before through the event
    assert "y" not in seen["x"]
    assert "x" not in seen["z"]  # independent, and x is LONG_US of work
    assert d.read_done() == {"x", "y", "z"}
    assert d.stream_order == {"a": ["x"], "b": ["y"], "c": ["z"]}


def test_observation_catches_a_wait_on_a_never_recorded_event(hip_device: HipDevice) -> None:
    """Rule 2's trap, seen on the device: y waits on an event recorded only later."""
    d = hip_device
    producer, consumer = d.create_stream("producer"), d.create_stream("consumer")
    d.prepare_observation(["x", "y"])
    e = d.create_event()
    d.stream_wait_event(consumer, e)  # never recorded yet: a no-op
    d.launch_work(consumer, work("y", 100.0))
    d.launch_work(producer, work("x"))
    d.record_event(e, producer)
    assert "x" not in d.read_observation()["y"]  # y did not wait for x


def test_observation_in_stream_order(hip_device: HipDevice) -> None:
    d = hip_device
    s = d.create_stream()
    tags = ["p", "q", "r"]
    d.prepare_observation(tags)
    for t in tags:
        d.launch_work(s, work(t, 100.0))
    d.launch_work(s, work("unobserved", 0.0))
    assert d.read_observation() == {"p": set(), "q": {"p"}, "r": {"p", "q"}}


def test_work_times_follow_the_dependency(hip_device: HipDevice) -> None:
    d = hip_device
    a, b = d.create_stream(), d.create_stream()
    d.prepare_observation(["x", "y"], timing=True)
    e = d.create_event()
    d.launch_work(a, work("x", 20_000.0))
    d.record_event(e, a)
    d.stream_wait_event(b, e)
    d.launch_work(b, work("y", 10_000.0))
    times = d.read_work_times()
    (x0, x1), (y0, y1) = times["x"], times["y"]
    assert 0 <= x0 < x1 <= y0 < y1
    assert x1 - x0 >= 20_000.0 * 0.9
    assert y1 - y0 >= 10_000.0 * 0.9


def test_rule1_and_rule3_rerecord_does_not_move_earlier_waits(hip_device: HipDevice) -> None:
    d = hip_device
    slow, idle, w_old, w_new = (d.create_stream(n) for n in ("slow", "idle", "old", "new"))
    d.prepare_observation(["x", "old", "new"])
    e = d.create_event()
    d.launch_work(slow, work("x"))
    d.record_event(e, slow)
    d.stream_wait_event(w_old, e)
    d.record_event(e, idle)  # the event now refers to this (immediately done) record
    d.stream_wait_event(w_new, e)
    d.launch_work(w_old, work("old", 100.0))
    d.launch_work(w_new, work("new", 100.0))
    d.synchronize_event(e)
    assert d.query_event(e)
    seen = d.read_observation()
    assert "x" in seen["old"]  # the earlier wait kept record 1
    assert "x" not in seen["new"]  # the later wait took record 2, done at once
    assert "old" not in seen["x"]
    assert e.records == 2


def test_rule2_never_recorded_event_query_and_synchronize(hip_device: HipDevice) -> None:
    d = hip_device
    e = d.create_event()
    t0 = time.monotonic()
    assert d.query_event(e)
    d.synchronize_event(e)
    assert time.monotonic() - t0 < SHORT_S


def test_rule4_destroy_event_with_pending_wait(hip_device: HipDevice) -> None:
    d = hip_device
    producer, consumer = d.create_stream(), d.create_stream()
    d.prepare_observation(["x", "y"])
    e = d.create_event()
    d.launch_work(producer, work("x"))
    d.record_event(e, producer)
    d.stream_wait_event(consumer, e)
    d.launch_work(consumer, work("y", 100.0))
    t0 = time.monotonic()
    d.destroy_event(e)
    assert time.monotonic() - t0 < SHORT_S
    assert d.read_observation()["y"] == {"x"}
    with pytest.raises(DeviceError, match="not a live event"):
        d.query_event(e)


def test_rule5_host_functions_in_order_on_one_thread(hip_device: HipDevice) -> None:
    d = hip_device
    streams = [d.create_stream(f"s{i}") for i in range(3)]
    log: list[tuple[str, int]] = []

    def logger(name: str) -> Callable[[], None]:
        return lambda: log.append((name, threading.get_ident()))

    for i in range(3):
        for s in streams:
            d.launch_host_func(s, logger(f"{s.label}.{i}"))
    for s in streams:
        d.destroy_stream(s)  # blocks until the host functions ran
    assert len(log) == 9
    assert len({ident for _, ident in log}) == 1
    assert threading.get_ident() not in {ident for _, ident in log}
    for s in streams:
        assert [n for n, _ in log if n.startswith(s.label)] == [f"{s.label}.{i}" for i in range(3)]


def test_rule5_host_function_waits_for_earlier_work_and_blocks_later(
    hip_device: HipDevice,
) -> None:
    d = hip_device
    s = d.create_stream()
    d.prepare_observation(["before", "after"])
    gate = threading.Event()
    saw: list[set[str]] = []
    e = d.create_event()
    d.launch_work(s, work("before", 10_000.0))

    def hold() -> None:
        gate.wait(5.0)

    d.launch_host_func(s, hold)
    d.record_event(e, s)
    d.launch_work(s, work("after", 100.0))
    time.sleep(0.02 + SHORT_S)
    assert not d.query_event(e)  # blocked behind the host function
    gate.set()
    d.synchronize_event(e)
    saw.append(d.read_observation()["after"])
    assert saw == [{"before"}]


def test_rule6_device_call_in_host_function_is_refused_and_logged(hip_device: HipDevice) -> None:
    d = hip_device
    s = d.create_stream("s")
    e = d.create_event()
    after: list[str] = []

    def violating() -> None:
        d.destroy_event(e)  # what a pool releasing past capacity would do

    d.launch_host_func(s, violating)
    d.launch_host_func(s, lambda: after.append("next host function ran"))
    d.destroy_stream(s)
    assert d.host_function_api_calls == 1
    [entry] = d.host_function_api_call_log
    assert entry.startswith("destroy_event(e1) (host function ")
    assert entry.endswith(".<locals>.violating on s)")
    assert len(d.host_function_errors) == 1
    assert "HostFunctionApiCallError" in d.host_function_errors[0]
    assert after == ["next host function ran"]
    assert d.query_event(e)  # the refused call did not destroy the event


def test_rule6_record_policy_performs_and_counts_once(hip_runtime: RuntimeInfo) -> None:
    bw = BYTES_PER_US if hip_runtime.cpu is not None else None
    with HipDevice(hip_runtime, bytes_per_us=bw, host_function_calls="record") as d:
        try:
            s = d.create_stream("s")
            e = d.create_event()
            d.launch_host_func(s, lambda: d.destroy_event(e))
            d.destroy_stream(s)
            assert d.host_function_api_calls == 1
            assert d.host_function_errors == []
            assert e.destroyed
        finally:
            if hip_runtime.cpu is not None:
                hip_runtime.cpu.allow_host_function_calls = False


def test_rule6_counts_direct_hip_calls_on_the_cpu_runtime(
    hip_device: HipDevice, cpu_runtime: CpuRuntimeLib
) -> None:
    from hipbackend._hip import hip

    d = hip_device
    s = d.create_stream()
    d.launch_host_func(s, lambda: hip.hipDeviceSynchronize())
    d.destroy_stream(s)
    assert d.host_function_api_calls == 1
    assert d.host_function_api_call_log == []  # not a HipDevice method


def test_rule7_streams_are_independent(hip_device: HipDevice) -> None:
    d = hip_device
    slow, fast = d.create_stream(), d.create_stream()
    e_slow, e_fast = d.create_event(), d.create_event()
    d.launch_work(slow, work("slow"))
    d.record_event(e_slow, slow)
    d.launch_work(fast, work("fast", 1000.0))
    d.record_event(e_fast, fast)
    d.synchronize_event(e_fast)
    assert not d.query_event(e_slow)
    d.synchronize_event(e_slow)
    assert d.query_event(e_slow)


def test_rule8_destroy_stream_blocks(hip_device: HipDevice) -> None:
    """Judged by what ran, not by a duration: the work's length on a calibrated runtime
    (the CUDA-backed one) is only as exact as a calibration on a loaded machine."""
    d = hip_device
    s = d.create_stream()
    after: list[float] = []
    d.launch_work(s, work("x"))
    d.launch_host_func(s, lambda: after.append(time.monotonic()))  # runs after the work
    d.destroy_stream(s)
    returned = time.monotonic()
    assert after and after[0] <= returned  # the work and what followed it ran first
    assert s.state == "destroyed"
    with pytest.raises(DeviceError, match="not a live stream"):
        d.launch_work(s, work("y", 1.0))


def test_host_function_exception_is_logged_not_fatal(
    hip_device: HipDevice, caplog: pytest.LogCaptureFixture
) -> None:
    d = hip_device
    s = d.create_stream("s")
    ran: list[int] = []

    def boom() -> None:
        raise ValueError("boom")

    d.launch_host_func(s, boom)
    d.launch_host_func(s, lambda: ran.append(1))
    d.destroy_stream(s)
    assert ran == [1]
    assert d.host_function_errors == [
        "test_host_function_exception_is_logged_not_fatal.<locals>.boom on s: ValueError: boom"
    ]
    assert "boom" in caplog.text


def test_invalid_arguments(hip_device: HipDevice) -> None:
    d = hip_device
    s = d.create_stream()
    with pytest.raises(InvalidArgumentError):
        d.launch_work(s, WorkItem("x", -1.0))
    with pytest.raises(InvalidArgumentError):
        d.launch_work(s, WorkItem("x", float("nan")))
    with pytest.raises(InvalidArgumentError):
        d.launch_host_func(s, "not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="duplicate"):
        d.prepare_observation(["a", "a"])
    with pytest.raises(DeviceError, match="prepare_observation"):
        d.read_observation()
    with pytest.raises(DeviceError, match="not a live stream"):
        d.record_event(d.create_event(), object())  # type: ignore[arg-type]


def test_labels_are_unique(hip_device: HipDevice) -> None:
    d = hip_device
    assert [d.create_stream("q").label for _ in range(2)] == ["q", "q#1"]
    assert d.create_stream().label == "stream2"


def test_close_releases_everything_and_is_idempotent(
    hip_runtime: RuntimeInfo, cpu_runtime: CpuRuntimeLib
) -> None:
    before = cpu_runtime.live_counts()
    d = HipDevice(hip_runtime, bytes_per_us=BYTES_PER_US)
    s = d.create_stream()
    d.create_event()
    d.prepare_observation(["x"], timing=True)
    d.launch_work(s, work("x", 10_000.0))
    d.launch_host_func(s, lambda: None)
    d.close()  # blocks until the stream drained
    d.close()
    assert cpu_runtime.live_counts() == before
    with pytest.raises(DeviceError) as info:
        d.create_stream()
    assert info.value.code == StatusCode.FAILED_PRECONDITION


def test_finalizer_releases_a_forgotten_device(
    hip_runtime: RuntimeInfo, cpu_runtime: CpuRuntimeLib
) -> None:
    before = cpu_runtime.live_counts()
    d = HipDevice(hip_runtime, bytes_per_us=BYTES_PER_US)
    d.create_stream()
    d.create_event()
    d.prepare_observation(["x", "y"])
    del d
    gc.collect()
    assert cpu_runtime.live_counts() == before


def test_close_from_a_host_function_is_refused(hip_device: HipDevice) -> None:
    d = hip_device
    s = d.create_stream()
    d.launch_host_func(s, d.close)
    d.destroy_stream(s)
    assert not d.closed
    assert d.host_function_api_calls == 1


def test_cpu_bandwidth_knob_follows_the_device(
    hip_runtime: RuntimeInfo, cpu_runtime: CpuRuntimeLib
) -> None:
    with HipDevice(hip_runtime, bytes_per_us=250.0) as d:
        assert cpu_runtime.bandwidth == 250.0
        s = d.create_stream()
        t0 = time.monotonic()
        d.launch_work(s, work("x", 8_000.0))
        d.destroy_stream(s)
        assert time.monotonic() - t0 >= 0.008 * 0.9
    with pytest.raises(InvalidArgumentError):
        HipDevice(hip_runtime, bytes_per_us=0.0)


def test_host_function_api_call_error_type() -> None:
    assert issubclass(HostFunctionApiCallError, DeviceError)
    assert HostFunctionApiCallError("x").code == StatusCode.PERMISSION_DENIED


def test_finalizer_inside_a_host_function_releases_elsewhere(
    hip_runtime: RuntimeInfo, cpu_runtime: CpuRuntimeLib
) -> None:
    before = cpu_runtime.live_counts()
    calls_before = cpu_runtime.host_function_api_calls()
    holder = [HipDevice(hip_runtime, bytes_per_us=BYTES_PER_US)]
    holder[0].create_event()
    with HipDevice(hip_runtime, bytes_per_us=BYTES_PER_US) as d:
        s = d.create_stream()

        def drop() -> None:
            holder.clear()
            gc.collect()

        d.launch_host_func(s, drop)
        d.destroy_stream(s)
    deadline = time.monotonic() + 5.0
    while cpu_runtime.live_counts() != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cpu_runtime.live_counts() == before
    assert cpu_runtime.host_function_api_calls() == calls_before
