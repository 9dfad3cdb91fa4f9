"""The CPU runtime through raw hip-python: DESIGN.md's HIP rules 1-8, one test (or more)
per rule. Device work is a memset slowed to LONG_US by the runtime's bandwidth knob; the
order of host functions (one process-wide thread) is the observable.

"At once" means well before LONG_US of device work could have finished; every such
check leaves LONG_US - SHORT_S of margin.
"""

from __future__ import annotations

import threading
import time

import pytest

from hipbackend.cpu_runtime import CpuRuntimeLib, LiveKind
from hipbackend.errors import HipError, hip_check
from model.core.status import StatusCode
from tests.hardware.conftest import LONG_US, SHORT_S, HipKit


def test_rule1_event_refers_to_most_recent_record(hip_kit: HipKit) -> None:
    k = hip_kit
    slow, idle, w_old, w_new = k.stream(), k.stream(), k.stream(), k.stream()
    e = k.event()
    k.busy(slow)
    k.host_fn(slow, "slow done")
    hip_check(k.hip.hipEventRecord(e, slow), "hipEventRecord")  # record 1: after slow work
    k.hip.hipStreamWaitEvent(w_old, e, 0)  # keeps record 1
    k.host_fn(w_old, "old waiter")
    assert not k.query(e)
    hip_check(k.hip.hipEventRecord(e, idle), "hipEventRecord")  # record 2: done at once
    k.hip.hipStreamWaitEvent(w_new, e, 0)
    k.host_fn(w_new, "new waiter")
    hip_check(k.hip.hipStreamSynchronize(w_new), "hipStreamSynchronize")
    assert k.query(e)  # the event is record 2 ...
    assert not k.stream_idle(slow)  # ... while record 1 is still pending
    hip_check(k.hip.hipStreamSynchronize(w_old), "hipStreamSynchronize")
    assert k.log.names() == ["new waiter", "slow done", "old waiter"]


def test_rule2_never_recorded_event_is_empty(hip_kit: HipKit) -> None:
    k = hip_kit
    s, later = k.stream(), k.stream()
    e = k.event()
    assert k.query(e)
    t0 = time.monotonic()
    hip_check(k.hip.hipEventSynchronize(e), "hipEventSynchronize")
    assert time.monotonic() - t0 < SHORT_S
    hip_check(k.hip.hipStreamWaitEvent(s, e, 0), "hipStreamWaitEvent")  # no-op
    k.host_fn(s, "waiter")
    k.busy(later)  # the trap: the record the wait "meant" comes later
    k.host_fn(later, "producer done")
    hip_check(k.hip.hipEventRecord(e, later), "hipEventRecord")
    hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
    assert k.log.names() == ["waiter"]  # ran without waiting for the producer
    hip_check(k.hip.hipStreamSynchronize(later), "hipStreamSynchronize")


def test_rule3_wait_snapshots_current_record(hip_kit: HipKit) -> None:
    k = hip_kit
    s1, s2, waiter = k.stream(), k.stream(), k.stream()
    e = k.event()
    hip_check(k.hip.hipEventRecord(e, s1), "hipEventRecord")  # record 1 on idle s1
    hip_check(k.hip.hipEventSynchronize(e), "hipEventSynchronize")
    k.busy(s2)
    k.host_fn(s2, "s2 done")
    hip_check(k.hip.hipEventRecord(e, s2), "hipEventRecord")  # record 2, pending
    hip_check(k.hip.hipStreamWaitEvent(waiter, e, 0), "hipStreamWaitEvent")  # snapshot: 2
    hip_check(k.hip.hipEventRecord(e, s1), "hipEventRecord")  # record 3: done at once
    hip_check(k.hip.hipEventSynchronize(e), "hipEventSynchronize")
    assert k.query(e)
    k.host_fn(waiter, "waiter")
    hip_check(k.hip.hipStreamSynchronize(waiter), "hipStreamSynchronize")
    assert k.log.names() == ["s2 done", "waiter"]  # the re-record did not release it


def test_rule4_destroy_event_with_pending_waits(
    hip_kit: HipKit, cpu_runtime: CpuRuntimeLib
) -> None:
    k = hip_kit
    producer, waiter = k.stream(), k.stream()
    e = k.event()
    k.busy(producer)
    k.host_fn(producer, "producer done")
    hip_check(k.hip.hipEventRecord(e, producer), "hipEventRecord")
    hip_check(k.hip.hipStreamWaitEvent(waiter, e, 0), "hipStreamWaitEvent")
    k.host_fn(waiter, "waiter")
    t0 = time.monotonic()
    k.destroy_event(e)
    assert time.monotonic() - t0 < SHORT_S  # returned at once
    assert not k.stream_idle(producer)
    hip_check(k.hip.hipStreamSynchronize(waiter), "hipStreamSynchronize")
    assert k.log.names() == ["producer done", "waiter"]  # the wait still held
    hip_check(k.hip.hipDeviceSynchronize(), "hipDeviceSynchronize")
    assert cpu_runtime.live(LiveKind.MARKERS) == 0  # the orphaned record was freed


def test_rule5_host_function_blocks_its_stream(hip_kit: HipKit) -> None:
    k = hip_kit
    s = k.stream()
    e = k.event()
    release = threading.Event()
    k.host_fn(s, "gate", lambda: release.wait(5.0))
    hip_check(k.hip.hipEventRecord(e, s), "hipEventRecord")
    time.sleep(SHORT_S)
    assert not k.query(e)  # later work waits for the host function to return
    release.set()
    hip_check(k.hip.hipEventSynchronize(e), "hipEventSynchronize")
    assert k.log.names() == ["gate"]


def test_rule5_host_function_runs_after_earlier_work(hip_kit: HipKit) -> None:
    k = hip_kit
    s = k.stream()
    t0 = time.monotonic()
    k.busy(s, LONG_US)
    k.host_fn(s, "after work")
    hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
    assert k.log.time_of("after work") - t0 >= LONG_US / 1e6 * 0.9


def test_rule5_one_host_function_thread_serializes_all_streams(hip_kit: HipKit) -> None:
    k = hip_kit
    streams = [k.stream() for _ in range(4)]
    active, peak = [0], [0]
    lock = threading.Lock()

    def body() -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.003)
        with lock:
            active[0] -= 1

    for i in range(3):
        for j, s in enumerate(streams):
            k.host_fn(s, f"s{j}.{i}", body)
    hip_check(k.hip.hipDeviceSynchronize(), "hipDeviceSynchronize")
    entries = k.log.entries
    assert len(entries) == 12
    assert len({ident for _, ident, _ in entries}) == 1  # one thread for every stream
    assert peak[0] == 1  # never two host functions at once
    for j in range(4):  # each stream's host functions in its own order
        mine = [n for n in k.log.names() if n.startswith(f"s{j}.")]
        assert mine == [f"s{j}.{i}" for i in range(3)]


def test_rule6_hip_call_in_host_function_is_refused_and_counted(
    hip_kit: HipKit, cpu_runtime: CpuRuntimeLib
) -> None:
    k = hip_kit
    s = k.stream()
    results: list[object] = []
    before = cpu_runtime.host_function_api_calls()
    k.host_fn(s, "caller", lambda: results.append(k.hip.hipGetDeviceCount()[0]))
    k.host_fn(s, "syncer", lambda: results.append(k.hip.hipStreamSynchronize(s)[0]))
    hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
    assert [r.name for r in results] == ["hipErrorIllegalState"] * 2  # type: ignore[attr-defined]
    assert cpu_runtime.host_function_api_calls() - before == 2
    assert cpu_runtime.allow_host_function_calls is False
    # Outside host functions nothing is refused.
    assert hip_check(k.hip.hipGetDeviceCount(), "hipGetDeviceCount") == 1


def test_rule6_error_raised_in_host_function_is_permission_denied(hip_kit: HipKit) -> None:
    k = hip_kit
    s = k.stream()
    caught: list[HipError] = []

    def call() -> None:
        try:
            hip_check(k.hip.hipGetDeviceCount(), "hipGetDeviceCount")
        except HipError as exc:
            caught.append(exc)

    k.host_fn(s, "caller", call)
    hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
    assert len(caught) == 1
    assert caught[0].code == StatusCode.PERMISSION_DENIED
    assert "host function caller" in str(caught[0])


def test_rule6_allow_policy_performs_and_counts(
    hip_kit: HipKit, cpu_runtime: CpuRuntimeLib
) -> None:
    k = hip_kit
    s = k.stream()
    results: list[object] = []
    before = cpu_runtime.host_function_api_calls()
    cpu_runtime.allow_host_function_calls = True
    try:
        k.host_fn(s, "caller", lambda: results.append(k.hip.hipGetDeviceCount()))
        hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
    finally:
        cpu_runtime.allow_host_function_calls = False
    assert hip_check(results[0], "hipGetDeviceCount") == 1
    assert cpu_runtime.host_function_api_calls() - before == 1


def test_rule7_streams_in_order_and_independent(hip_kit: HipKit) -> None:
    k = hip_kit
    slow, fast = k.stream(), k.stream()
    e_slow, e_fast = k.event(), k.event()
    k.busy(slow)
    hip_check(k.hip.hipEventRecord(e_slow, slow), "hipEventRecord")
    for i in range(5):
        k.host_fn(fast, f"fast{i}")
    k.busy(fast, 1000.0)
    hip_check(k.hip.hipEventRecord(e_fast, fast), "hipEventRecord")
    hip_check(k.hip.hipEventSynchronize(e_fast), "hipEventSynchronize")
    assert not k.query(e_slow)  # the fast stream did not wait for the slow one
    assert k.log.names() == [f"fast{i}" for i in range(5)]
    hip_check(k.hip.hipEventSynchronize(e_slow), "hipEventSynchronize")


def test_rule8_stream_destroy_blocks_until_done(
    hip_kit: HipKit, cpu_runtime: CpuRuntimeLib
) -> None:
    k = hip_kit
    streams_before = cpu_runtime.live(LiveKind.STREAMS)
    s = k.stream()
    t0 = time.monotonic()
    k.busy(s)
    k.host_fn(s, "last")
    k.destroy_stream(s)
    assert time.monotonic() - t0 >= LONG_US / 1e6 * 0.9
    assert k.log.names() == ["last"]  # queued work, host function included, ran first
    assert cpu_runtime.live(LiveKind.STREAMS) == streams_before


def test_memcpy_async_and_stream_query(hip_kit: HipKit) -> None:
    k = hip_kit
    s = k.stream()
    src = hip_check(k.hip.hipMalloc(16), "hipMalloc")
    dst = hip_check(k.hip.hipMalloc(16), "hipMalloc")
    try:
        hip_check(k.hip.hipMemsetAsync(src, 7, 16, s), "hipMemsetAsync")
        kinds = k.hip.hipMemcpyKind
        d2d, d2h = kinds.hipMemcpyDeviceToDevice, kinds.hipMemcpyDeviceToHost
        hip_check(k.hip.hipMemcpyAsync(dst, src, 16, d2d, s), "hipMemcpyAsync")
        hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
        assert k.stream_idle(s)
        out = bytearray(16)
        hip_check(k.hip.hipMemcpy(out, dst, 16, d2h), "hipMemcpy")
        assert out == bytearray([7] * 16)
    finally:
        hip_check(k.hip.hipFree(src), "hipFree")
        hip_check(k.hip.hipFree(dst), "hipFree")


def test_bandwidth_knob_sets_memset_duration(hip_kit: HipKit) -> None:
    k = hip_kit
    s = k.stream()
    t0 = time.monotonic()
    k.busy(s, 20_000.0)
    hip_check(k.hip.hipStreamSynchronize(s), "hipStreamSynchronize")
    elapsed_us = (time.monotonic() - t0) * 1e6
    assert 20_000.0 * 0.95 <= elapsed_us < 20_000.0 + 1e6  # upper bound: loaded machines


@pytest.mark.parametrize("flags", [0, 1])
def test_stream_flags_are_kept(hip_kit: HipKit, flags: int) -> None:
    s = hip_check(hip_kit.hip.hipStreamCreateWithFlags(flags), "hipStreamCreateWithFlags")
    hip_kit.streams.append(s)
    assert hip_check(hip_kit.hip.hipStreamGetFlags(s), "hipStreamGetFlags") == flags


def test_invalid_arguments_are_hip_errors(hip_kit: HipKit) -> None:
    k = hip_kit
    s, e = k.stream(), k.event()
    with pytest.raises(HipError) as info:
        hip_check(k.hip.hipStreamWaitEvent(s, e, 7), "hipStreamWaitEvent")
    assert info.value.hip_name == "hipErrorInvalidValue"
    assert info.value.code == StatusCode.INVALID_ARGUMENT
    with pytest.raises(HipError) as info:
        hip_check(k.hip.hipSetDevice(3), "hipSetDevice")
    assert info.value.hip_name == "hipErrorInvalidDevice"
    err = k.hip.hipGetLastError()[0]
    assert err.name == "hipErrorInvalidDevice"
    assert k.hip.hipGetLastError()[0].name == "hipSuccess"  # reset by the first read
