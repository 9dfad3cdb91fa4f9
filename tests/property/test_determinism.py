"""Runs are reproducible: the same scenario and seed give the same report, byte for byte,
and the same trace."""

from __future__ import annotations

import json

from hypothesis import given

from model.scenario.checker import check
from model.scenario.report import build_report, report_json
from model.scenario.trace import chrome_trace
from model.sim.runner import run_sim
from model.strategies import FuzzCase, cases


def _report(case: FuzzCase) -> tuple[str, str]:
    record = run_sim(case.scenario, case.seeds[0], (), case.timing)
    report = report_json(build_report(case.scenario, record, check(case.scenario, record)))
    trace = json.dumps(chrome_trace(case.scenario, record), sort_keys=True)
    return report, trace


@given(cases(max_ops=24))
def test_same_scenario_and_seed_give_the_same_report_and_trace(case: FuzzCase) -> None:
    assert _report(case) == _report(case)
