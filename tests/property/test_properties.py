"""Every checker property holds on generated scenarios, run on the SimPy device with
several seeds (interleavings) per graph, on the clean core.

A failing example is saved (scenario with its replay seed and timing, plus its trace) to
$HIPSEM_FAILURES (default `hipsem-failures/`), and the assertion says the one command that
replays it: `hipsem run FILE`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given

from model.fuzz import profiles
from model.fuzz.campaign import evaluate
from model.fuzz.replay import save_failure
from model.scenario.checker import PROPERTIES
from model.strategies import FuzzCase, cases

SEEDS = profiles.budget().seeds_per_case


@pytest.mark.parametrize("prop", PROPERTIES)
@given(case=cases(max_ops=24, seeds_per_case=SEEDS))
def test_property_holds_on_the_clean_core(prop: str, case: FuzzCase) -> None:
    failure = evaluate(case)
    broken = [v for v in failure.violations if v.property in (prop, "crash")] if failure else []
    if broken and failure is not None:
        saved = save_failure(failure, frozenset(), FAILURES)
        pytest.fail(f"{broken}\nreplay: hipsem run {saved.scenario_file} "
                    f"(trace: {saved.trace_file})")


FAILURES = Path(os.environ.get("HIPSEM_FAILURES", "hipsem-failures"))
