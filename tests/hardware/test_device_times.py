"""The HIP record's ground truth: device times on the host clock, orders, call times, spans.

Every example (made device-observable) runs once on the HIP backend; its record must be
self-consistent in the ways the device guarantees, and its trace must have the SimPy
backend's tracks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hipbackend.diff import device_observable
from hipbackend.platform import SCHEDULING_TOLERANCE_US
from hipbackend.runner import run_hip
from hipbackend.runtime import RuntimeInfo
from model.scenario.parse import load_scenario
from model.scenario.record import RunRecord
from model.scenario.trace import HOST_FUNCTION_TRACK, chrome_trace, trace_problems
from model.scenario.types import Execute, Scenario
from model.sim.runner import run_sim

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def run(request: pytest.FixtureRequest, hip_runtime: RuntimeInfo) -> tuple[Scenario, RunRecord]:
    scenario = device_observable(load_scenario(request.param))
    return scenario, run_hip(scenario, 0, runtime=hip_runtime.kind)


def test_execute_times_are_device_times_on_the_host_clock(
        run: tuple[Scenario, RunRecord]) -> None:
    scenario, record = run
    tol = record.clock_tolerance_us
    assert 0 < tol < 5000
    assert record.scheduling_tolerance_us == SCHEDULING_TOLERANCE_US
    for _, _, op in scenario.ops():
        if not isinstance(op, Execute) or op.id not in record.launched_us:
            continue
        r = record.ops[op.id]
        assert r.start_us is not None and r.end_us is not None
        assert r.issue_us is not None  # the core's claim stays an extra field
        # Work starts after its launch call, lasts its duration, ends before the run.
        assert r.start_us >= record.launched_us[op.id] - tol
        assert r.end_us - r.start_us >= op.duration_us * 0.99
        assert r.end_us <= record.sim_time_us + tol
        assert record.recorded_us[op.id] >= record.launched_us[op.id]


def test_orders_come_from_the_device(run: tuple[Scenario, RunRecord]) -> None:
    scenario, record = run
    tol = record.clock_tolerance_us
    for q in scenario.queues:
        order = record.stream_order[q]
        assert sorted(order) == sorted(record.issue_order[q])
        starts = [record.ops[x].start_us or 0.0 for x in order]
        assert starts == sorted(starts)
    assert record.observed_before is not None
    for y, done in record.observed_before.items():
        for x in done:  # x was done when y began: x's end precedes y's start
            assert (record.ops[x].end_us or 0.0) <= (record.ops[y].start_us or 0.0) + tol


def test_trace_has_the_simpy_backends_tracks(run: tuple[Scenario, RunRecord]) -> None:
    scenario, record = run

    def tracks(trace: dict[str, object]) -> set[str]:
        events = trace["traceEvents"]
        assert isinstance(events, list)
        return {re.sub(r" \(\d+\)$", "", e["args"]["name"]) for e in events
                if e.get("name") == "thread_name"}

    hip = chrome_trace(scenario, record)
    assert trace_problems(hip) == []
    assert tracks(hip) == tracks(chrome_trace(scenario, run_sim(scenario, 0)))
    assert HOST_FUNCTION_TRACK in tracks(hip)
    if scenario.settings.completion.value == "callback":  # completion by host functions
        assert any(s.track == HOST_FUNCTION_TRACK for s in record.spans)
