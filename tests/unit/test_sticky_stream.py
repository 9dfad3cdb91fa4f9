"""A device-work fault is sticky on its stream, on the SimPy device (docs/faults.md).

Driven directly (no core): the stream that ran faulted work enters its error state when
it has run it; later calls naming it answer the error, later records complete with it,
later work is skipped (no span) and logged, a stream that waits on an errored record is
poisoned once only, and destroy still succeeds. The same checks on the HIP backend's
device over the CPU runtime are in tests/hardware/test_sticky_stream_hip.py; the core's
outcome and the checker on faulted scenarios in tests/unit/test_faults.py.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy

from model.core.hip_errors import HipCallError
from model.device import WorkItem
from model.faults import FaultPlan, WorkFault
from model.sim import SeededEnvironment, SimDevice
from tests.unit.test_sim_device import exact_timing

ERROR = "hipErrorIllegalAddress"


def armed() -> tuple[SeededEnvironment, SimDevice]:
    env = SeededEnvironment(0)
    dev = SimDevice(env, exact_timing())
    dev.arm_faults(FaultPlan(work=(WorkFault("bad", ERROR),)), 0)
    return env, dev


def settle(env: SeededEnvironment, until: float | None = None) -> None:
    env.run(until=until)


def test_later_calls_on_the_errored_stream_answer_the_error() -> None:
    env, dev = armed()
    s, other = dev.create_stream("q0"), dev.create_stream("q1")
    e, f = dev.create_event(), dev.create_event()
    dev.launch_work(s, WorkItem("bad", 10.0))
    dev.record_event(e, s)
    dev.launch_work(other, WorkItem("elsewhere", 10.0))
    settle(env)
    for call in (lambda: dev.launch_work(s, WorkItem("late", 5.0)),
                 lambda: dev.record_event(f, s),
                 lambda: dev.stream_wait_event(s, f),
                 lambda: dev.launch_host_func(s, lambda: None)):
        with pytest.raises(HipCallError) as info:
            call()
        assert info.value.hip_name == ERROR and info.value.code.name == "INTERNAL"
    dev.record_event(f, other)  # an unrelated stream is alive
    settle(env)
    assert dev.query_event(f)
    sticky = [h for h in dev.fault_hits if h.kind == "sticky"]
    assert [h.call for h in sticky] == ["launch_work", "record_event", "stream_wait_event",
                                        "launch_host_func"]
    assert {h.stream for h in sticky} == {"q0"} and sticky[0].victims == ("late",)
    dev.destroy_stream(s)  # releases are never faulted
    dev.destroy_stream(other)
    settle(env)
    assert dev.live_streams == 0


def test_work_enqueued_before_the_error_is_skipped_and_its_record_answers_it() -> None:
    env, dev = armed()
    s = dev.create_stream("q0")
    e1, e2 = dev.create_event(), dev.create_event()
    dev.launch_work(s, WorkItem("bad", 50.0))
    dev.record_event(e1, s)
    dev.launch_work(s, WorkItem("next", 20.0))  # enqueued while "bad" still runs
    dev.record_event(e2, s)
    settle(env)
    for event in (e1, e2):
        with pytest.raises(HipCallError, match=ERROR):
            dev.query_event(event)
        done = dev.synchronize_event_async(event)
        assert done.triggered and not done.ok and isinstance(done.value, HipCallError)
        done.defused = True
    assert [sp.name for sp in dev.spans if sp.track == "q0"] == ["bad"]  # no span: skipped
    assert "next" not in dev.work_times
    kinds = [(h.kind, h.victims, h.error) for h in dev.fault_hits]
    assert kinds == [("work", ("bad",), ERROR), ("skipped", ("next",), ERROR)]
    assert dev.fault_hits[1].time_us == dev.fault_hits[0].time_us == 50.0


def test_a_stream_waiting_on_an_errored_record_is_poisoned_once_only() -> None:
    env, dev = armed()
    s, t = dev.create_stream("q0"), dev.create_stream("q1")
    e, f1, f2 = dev.create_event(), dev.create_event(), dev.create_event()
    dev.launch_work(s, WorkItem("bad", 10.0))
    dev.record_event(e, s)
    dev.stream_wait_event(t, e)
    dev.launch_work(t, WorkItem("consumer", 10.0))
    dev.record_event(f1, t)
    dev.launch_work(t, WorkItem("after", 10.0))
    dev.record_event(f2, t)
    settle(env)
    with pytest.raises(HipCallError, match=ERROR):
        dev.query_event(f1)  # the waiting stream's next record carries the error
    assert dev.query_event(f2)  # ... once: it is not sticky
    assert [sp.name for sp in dev.spans if sp.track == "q1" and "wait" not in sp.name] == \
        ["consumer", "after"]
    dev.launch_work(t, WorkItem("more", 1.0))  # calls on it still succeed
    assert all(h.stream != "q1" for h in dev.fault_hits)


def test_host_functions_still_run_on_an_errored_stream_and_destroy_waits() -> None:
    env, dev = armed()
    s = dev.create_stream("q0")
    ran: list[float] = []
    dev.launch_work(s, WorkItem("bad", 10.0))
    dev.launch_work(s, WorkItem("skipped", 10.0))
    dev.launch_host_func(s, lambda: ran.append(env.now))  # enqueued before the error

    def teardown() -> Generator[simpy.Event, Any, None]:
        yield dev.destroy_stream_async(s)

    p = env.process(teardown())
    env.run()
    assert p.processed and ran and dev.live_streams == 0
    assert [h.kind for h in dev.fault_hits] == ["work", "skipped"]
