"""Trace of HIP-backend runs (over the bundled CPU runtime, as `hipsem run --backend hip`):
every flow arrow of every bundled example goes forward in time, although device times
are aligned to the host clock only within `record.clock_tolerance_us`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipbackend.runner import run_hip
from hipbackend.runtime import RuntimeInfo
from model.scenario.parse import load_scenario
from tests.unit.test_trace import assert_flows_forward, flow_pairs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_flow_of_every_example_goes_forward_on_hip(
        path: Path, hip_runtime: RuntimeInfo) -> None:
    scenario = load_scenario(path)  # as written: `hipsem run FILE --backend hip`
    for seed in (0, 1):
        record = run_hip(scenario, seed, runtime=hip_runtime.kind)
        trace = assert_flows_forward(scenario, record)
        assert flow_pairs(trace, "flow") or not record.flows
        if scenario.name == "failure-propagation":
            assert len(flow_pairs(trace, "failure")) == 3
