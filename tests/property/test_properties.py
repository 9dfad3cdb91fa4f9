"""Every checker property holds on generated scenarios, run on the SimPy device with
several seeds (interleavings) per graph, on the clean core."""

from __future__ import annotations

import pytest
from hypothesis import given

from model.fuzz import profiles
from model.fuzz.campaign import evaluate
from model.scenario.checker import PROPERTIES
from model.strategies import FuzzCase, cases

SEEDS = profiles.budget().seeds_per_case


@pytest.mark.parametrize("prop", PROPERTIES)
@given(case=cases(max_ops=24, seeds_per_case=SEEDS))
def test_property_holds_on_the_clean_core(prop: str, case: FuzzCase) -> None:
    failure = evaluate(case)
    broken = [v for v in failure.violations if v.property in (prop, "crash")] if failure else []
    assert not broken, f"seed {failure and failure.seed}: {broken}"
