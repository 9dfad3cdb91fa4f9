"""The seeded-defect catalogue on the HIP backend: the checker sees the same defects there.

For each defect, its hand-minimal scenario (tests/property/minimal/) runs on the HIP
backend with the defect switched on until the checker reports a violation of a property
the SimPy backend reports for it (real threads are not seeded, so a race may need a few
attempts), and the clean core runs the same scenario without any violation.

publish-before-record opens a window of one device call (between the publish and the
record) in which another worker must bind the unrecorded event and enqueue its stream
wait; on real threads that window is a few microseconds and was hit in about one run in
ten. Its scenario is made device-observable (5 ms of producer work, so a consumer whose
stream wait was a no-op visibly starts before the producer ended) and it runs on a device
whose record_event call takes 3 ms longer (`SlowRecordDevice`; HIP allows any call to be
slow), which widens the window: caught on the first attempt, also on a loaded machine.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import hipbackend.runner
from hipbackend.device import HipDevice
from hipbackend.diff import device_observable
from hipbackend.runner import DeviceFactory, HipRun
from hipbackend.runtime import RuntimeInfo
from model.core.defects import Defect
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.scenario.types import Scenario
from model.sim.runner import run_sim

MINIMAL = Path(__file__).resolve().parents[1] / "property" / "minimal"
ATTEMPTS = 200  # real threads are not seeded: a narrow race may need many runs
RECORD_DELAY_S = 0.003


class SlowRecordDevice(HipDevice):
    """A HipDevice whose record_event calls take RECORD_DELAY_S longer."""

    def record_event(self, event: Any, stream: Any) -> None:
        time.sleep(RECORD_DELAY_S)
        super().record_event(event, stream)


# Defects whose window real threads rarely hit: (device-observable scenario, device).
WIDENED: dict[Defect, DeviceFactory] = {Defect.PUBLISH_BEFORE_RECORD: SlowRecordDevice}


def defect_scenario(defect: Defect) -> Scenario:
    scenario = load_scenario(MINIMAL / f"{defect.value}.json")
    return device_observable(scenario) if defect in WIDENED else scenario


def sim_properties(scenario: Scenario, defect: Defect) -> set[str]:
    found: set[str] = set()
    for seed in range(40):
        found |= {v.property for v in check(scenario, run_sim(scenario, seed, [defect]))}
    return found


# Defects that hang a run: it is given HANG_LIMIT_S to settle and to tear down.
HANGS = frozenset({Defect.LOST_DEVICE_HANGS_TEARDOWN})
HANG_LIMIT_S = 2.0


@pytest.mark.parametrize("defect", list(Defect), ids=[d.value for d in Defect])
def test_defect_is_caught_on_the_hip_backend(defect: Defect, hip_runtime: RuntimeInfo,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = defect_scenario(defect)
    expected = sim_properties(scenario, defect)
    assert expected, f"the SimPy backend must catch {defect.value} on {scenario.name}"
    seen: set[str] = set()
    attempts = 3 if defect in WIDENED or defect.needs_faults else ATTEMPTS
    limit = {"limit_s": HANG_LIMIT_S} if defect in HANGS else {}
    if defect in HANGS:
        monkeypatch.setattr(hipbackend.runner, "TEARDOWN_S", HANG_LIMIT_S)
    for attempt in range(1, attempts + 1):
        record = HipRun(scenario, attempt, [defect], hip_runtime.kind,
                        device_factory=WIDENED.get(defect), **limit).run()
        seen |= {v.property for v in check(scenario, record)}
        if seen & expected:
            break
    assert seen & expected, (
        f"{defect.value}: HIP backend saw {sorted(seen)} in {attempts} attempts, "
        f"SimPy sees {sorted(expected)}")


@pytest.mark.parametrize("path", sorted(MINIMAL.glob("*.json")), ids=lambda p: p.stem)
def test_clean_core_passes_the_minimal_scenarios(path: Path, hip_runtime: RuntimeInfo) -> None:
    scenario = load_scenario(path)
    for attempt in range(3):
        record = HipRun(scenario, attempt, (), hip_runtime.kind).run()
        assert check(scenario, record) == []


@pytest.mark.parametrize("defect", list(WIDENED), ids=[d.value for d in WIDENED])
def test_clean_core_passes_the_widened_runs(defect: Defect, hip_runtime: RuntimeInfo) -> None:
    scenario = defect_scenario(defect)
    for attempt in range(3):
        record = HipRun(scenario, attempt, (), hip_runtime.kind,
                        device_factory=WIDENED[defect]).run()
        assert check(scenario, record) == []
