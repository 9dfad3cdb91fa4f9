"""A device-work fault is sticky on its stream, on the HIP backend's device over the CPU
runtime (docs/faults.md): the same checks as tests/unit/test_sticky_stream.py's on the
SimPy device, here with the runtime's stream threads doing it (hipsemCpuFailNextCommand,
the fault log) and the errors coming back through hip-python."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hipbackend.device import HipDevice
from hipbackend.errors import HipError
from hipbackend.runtime import RuntimeInfo
from model.device import WorkItem
from model.faults import FaultPlan, WorkFault

ERROR = "hipErrorIllegalAddress"
# The faulted work lasts long enough for the host to enqueue what follows it before the
# stream enters its error state, also on a loaded machine.
BAD_US = 50_000.0


@pytest.fixture
def dev(hip_runtime: RuntimeInfo) -> Iterator[HipDevice]:
    if hip_runtime.cpu is None:
        pytest.skip("fault injection needs the CPU runtime")
    device = HipDevice(hip_runtime, bytes_per_us=1000.0)
    t0 = time.perf_counter()
    device.arm_faults(FaultPlan(work=(WorkFault("bad", ERROR),)), 0,
                      lambda: (time.perf_counter() - t0) * 1e6)
    try:
        yield device
    finally:
        device.close()


def fails(fn: object) -> HipError:
    with pytest.raises(HipError) as info:
        fn()  # type: ignore[operator]
    assert info.value.hip_name == ERROR and info.value.code.name == "INTERNAL"
    return info.value


def test_later_calls_on_the_errored_stream_answer_the_error(dev: HipDevice) -> None:
    s, other = dev.create_stream("q0"), dev.create_stream("q1")
    e, f = dev.create_event(), dev.create_event()
    dev.launch_work(s, WorkItem("bad", BAD_US))
    dev.record_event(e, s)
    fails(lambda: dev.synchronize_event(e))  # the work ran, then failed
    fails(lambda: dev.launch_work(s, WorkItem("late", 5.0)))
    fails(lambda: dev.record_event(f, s))
    fails(lambda: dev.stream_wait_event(s, e))
    fails(lambda: dev.launch_host_func(s, lambda: None))
    dev.record_event(f, other)  # an unrelated stream is alive
    dev.synchronize_event(f)
    dev.destroy_stream(s)  # releases are never faulted
    dev.destroy_stream(other)
    dev.disarm_faults()
    assert dev.faults is not None
    hits = [(h.kind, h.call, h.stream, h.victims) for h in dev.faults.hits]
    assert hits == [("work", "", "q0", ("bad",)),
                    ("sticky", "launch_work", "q0", ("late",)),
                    ("sticky", "record_event", "q0", ()),
                    ("sticky", "stream_wait_event", "q0", ("bad",)),
                    ("sticky", "launch_host_func", "q0", ())]
    assert dev.stream_order["q0"] == ["bad"]


def test_work_enqueued_before_the_error_is_skipped_and_its_record_answers_it(
        dev: HipDevice) -> None:
    dev.prepare_observation(["bad", "next"], timing=True)
    s = dev.create_stream("q0")
    e1, e2 = dev.create_event(), dev.create_event()
    dev.launch_work(s, WorkItem("bad", BAD_US))  # the rest is enqueued meanwhile
    dev.record_event(e1, s)
    dev.launch_work(s, WorkItem("next", 1000.0))
    dev.record_event(e2, s)
    fails(lambda: dev.synchronize_event(e2))
    fails(lambda: dev.query_event(e1))
    fails(lambda: dev.query_event(e2))
    times = dev.read_work_times()
    assert set(times) == {"bad"}  # "next" never ran: no device times
    assert dev.read_done() == {"bad"}
    dev.disarm_faults()
    assert dev.faults is not None
    assert [(h.kind, h.victims, h.error) for h in dev.faults.hits] == [
        ("work", ("bad",), ERROR), ("skipped", ("next",), ERROR)]
    work, skipped = dev.faults.hits
    assert work.time_us <= skipped.time_us


def test_a_stream_waiting_on_an_errored_record_is_poisoned_once_only(dev: HipDevice) -> None:
    dev.prepare_observation(["bad", "consumer", "after"], timing=True)  # timing records
    s, t = dev.create_stream("q0"), dev.create_stream("q1")  # must not take the poison
    e, f1, f2 = dev.create_event(), dev.create_event(), dev.create_event()
    dev.launch_work(s, WorkItem("bad", BAD_US))
    dev.record_event(e, s)
    dev.stream_wait_event(t, e)
    dev.launch_work(t, WorkItem("consumer", 100.0))
    dev.record_event(f1, t)
    dev.launch_work(t, WorkItem("after", 100.0))
    dev.record_event(f2, t)
    fails(lambda: dev.synchronize_event(f1))  # the waiting stream's next record
    dev.synchronize_event(f2)  # ... once: it is not sticky
    dev.launch_work(t, WorkItem("more", 1.0))  # calls on it still succeed
    assert set(dev.read_work_times()) == {"bad", "consumer", "after"}
    dev.disarm_faults()
    assert dev.faults is not None
    assert [h.kind for h in dev.faults.hits] == ["work"]


def test_host_functions_still_run_on_an_errored_stream_and_destroy_completes(
        dev: HipDevice) -> None:
    s = dev.create_stream("q0")
    ran: list[str] = []
    dev.launch_work(s, WorkItem("bad", BAD_US))
    dev.launch_work(s, WorkItem("skipped", 10.0))
    dev.launch_host_func(s, lambda: ran.append("ran"))  # enqueued before the error
    dev.destroy_stream(s)  # drains: the host function ran, nothing hangs
    assert ran == ["ran"]
    dev.disarm_faults()
    assert dev.faults is not None
    assert [h.kind for h in dev.faults.hits] == ["work", "skipped"]
