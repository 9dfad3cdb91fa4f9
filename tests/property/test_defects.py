"""The property suite catches every seeded defect, shrinks it to at most one op more
than the hand-written minimal counterexample (tests/property/minimal/), and the clean
core passes the same budget.

Each campaign records the examples it needed, the seconds it took and the size of its
shrunk counterexample (printed at the end of the run, see conftest.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from model.core.defects import Defect
from model.fuzz import profiles
from model.fuzz.campaign import CampaignConfig, run_campaign
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.sim.runner import run_sim
from model.strategies import scenario_size
from tests.property.conftest import DEFECT_RESULTS

MINIMAL = Path(__file__).parent / "minimal"
BUDGET = profiles.budget()
REPLAY_SEEDS = 20


def _config(defects: frozenset[Defect], faults: bool = False) -> CampaignConfig:
    """A fault-path defect is searched with fault plans drawn (`hipsem fuzz --faults`)."""
    faults = faults or any(d.needs_faults for d in defects)
    return CampaignConfig(examples=BUDGET.defect_examples, seed=0, defects=defects,
                          shrink_seconds=10.0, restarts=2, faults=faults)


@pytest.mark.parametrize("defect", list(Defect), ids=lambda d: d.value)
def test_the_hand_minimal_counterexample_shows_the_defect(defect: Defect) -> None:
    scenario = load_scenario(MINIMAL / f"{defect.value}.json")
    hits = [s for s in range(REPLAY_SEEDS) if check(scenario, run_sim(scenario, s, {defect}))]
    assert hits, f"{defect.value}: no seed in 0..{REPLAY_SEEDS - 1} shows a violation"
    clean = [s for s in range(5) if check(scenario, run_sim(scenario, s))]
    assert not clean, f"the clean core fails the minimal scenario for seeds {clean}"


@pytest.mark.parametrize("defect", list(Defect), ids=lambda d: d.value)
def test_the_property_suite_finds_and_shrinks_the_defect(defect: Defect) -> None:
    result = run_campaign(_config(frozenset({defect})))
    assert result.failure is not None, (
        f"{defect.value}: not found in {result.examples} examples ({result.seconds:.1f} s)")
    minimal = scenario_size(load_scenario(MINIMAL / f"{defect.value}.json"))
    DEFECT_RESULTS.append({
        "defect": defect.value, "property": ",".join(result.failure.properties),
        "examples": result.found_at, "find_s": result.found_seconds or 0.0,
        "total_s": result.seconds, "size": result.failure.size, "minimal": minimal,
    })
    assert result.failure.size <= minimal + 1, (
        f"{defect.value}: shrunk to {result.failure.size} ops, minimal is {minimal}")


def test_the_clean_core_passes_the_same_budget() -> None:
    result = run_campaign(_config(frozenset()))
    assert result.failure is None, result.failure and result.failure.violations


def test_the_clean_core_passes_a_campaign_with_faults() -> None:
    """A third of the budget (faulted runs are as cheap; `hipsem fuzz --faults` and
    docs/faults.md report longer campaigns)."""
    config = dataclasses.replace(_config(frozenset(), faults=True),
                                 examples=BUDGET.defect_examples // 3)
    result = run_campaign(config)
    assert result.failure is None, result.failure and result.failure.violations
