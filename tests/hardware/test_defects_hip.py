"""The seeded-defect catalogue on the HIP backend: the checker sees the same defects there.

For each defect, its hand-minimal scenario (tests/property/minimal/) runs on the HIP
backend with the defect switched on until the checker reports a violation of a property
the SimPy backend reports for it (real threads are not seeded, so a race may need a few
attempts), and the clean core runs the same scenario without any violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hipbackend.runner import HipRun
from hipbackend.runtime import RuntimeInfo
from model.core.defects import Defect
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.sim.runner import run_sim

MINIMAL = Path(__file__).resolve().parents[1] / "property" / "minimal"
ATTEMPTS = 200  # real threads are not seeded: a narrow race may need many runs


def sim_properties(path: Path, defect: Defect) -> set[str]:
    scenario = load_scenario(path)
    found: set[str] = set()
    for seed in range(40):
        found |= {v.property for v in check(scenario, run_sim(scenario, seed, [defect]))}
    return found


@pytest.mark.parametrize("defect", list(Defect), ids=[d.value for d in Defect])
def test_defect_is_caught_on_the_hip_backend(defect: Defect, hip_runtime: RuntimeInfo) -> None:
    path = MINIMAL / f"{defect.value}.json"
    expected = sim_properties(path, defect)
    assert expected, f"the SimPy backend must catch {defect.value} on {path.name}"
    scenario = load_scenario(path)
    seen: set[str] = set()
    for attempt in range(1, ATTEMPTS + 1):
        record = HipRun(scenario, attempt, [defect], hip_runtime.kind).run()
        seen |= {v.property for v in check(scenario, record)}
        if seen & expected:
            break
    assert seen & expected, (
        f"{defect.value}: HIP backend saw {sorted(seen)} in {ATTEMPTS} attempts, "
        f"SimPy sees {sorted(expected)}")


@pytest.mark.parametrize("path", sorted(MINIMAL.glob("*.json")), ids=lambda p: p.stem)
def test_clean_core_passes_the_minimal_scenarios(path: Path, hip_runtime: RuntimeInfo) -> None:
    scenario = load_scenario(path)
    for attempt in range(3):
        record = HipRun(scenario, attempt, (), hip_runtime.kind).run()
        assert check(scenario, record) == []
