"""Differential suites: the same scenarios on the SimPy backend and on the HIP backend.

The HIP backend runs on the runtime chosen by --hip-runtime (default: hipsem's CPU
runtime, a test vehicle). Scenarios are made device-observable (`device_observable`: work
of milliseconds), outcomes the SimPy runs agree on must agree and no run may have a
violation (`hipbackend.diff.compare`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hipbackend.diff import compare, device_observable, diff_scenario, generated_scenarios
from hipbackend.runtime import RuntimeInfo
from model.scenario.parse import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "examples").glob("*.json")) + sorted(
    (Path(__file__).parent / "scenarios").glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_agrees_on_both_backends(path: Path, hip_runtime: RuntimeInfo) -> None:
    result = diff_scenario(device_observable(load_scenario(path)), hip_runtime.kind)
    assert result.violations == {"sim": [], "hip": []}
    assert [r for r in result.rows if r[3] == "DISAGREE"] == []


def test_generated_graphs_agree_on_both_backends(hip_runtime: RuntimeInfo) -> None:
    scenarios = generated_scenarios(12, seed=1)
    assert len(scenarios) == 12
    failing = {}
    for scenario in scenarios:
        result = diff_scenario(scenario, hip_runtime.kind)
        if not result.ok:
            failing[scenario.name] = (result.violations,
                                      [r for r in result.rows if r[3] == "DISAGREE"])
    assert failing == {}


def test_compare_flags_a_disagreement(hip_runtime: RuntimeInfo) -> None:
    from model.sim.runner import run_sim

    scenario = load_scenario(ROOT / "examples" / "submit-with-wait.json")
    sim = run_sim(scenario, 0)
    other = run_sim(scenario, 1)
    other.ops["x"].status = "ABORTED"
    other.semaphores["S"] = (100, "ABORTED")
    result = compare(scenario, sim, other)
    verdicts = {item: verdict for item, _, _, verdict in result.rows}
    assert verdicts["op x"] == "DISAGREE" and verdicts["semaphore S"] == "DISAGREE"
    assert not result.ok


def test_diff_command_exit_codes(hip_runtime: RuntimeInfo, capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path) -> None:
    import json

    from model.cli import main

    runtime = ["--hip-runtime", hip_runtime.kind]
    assert main(["diff", str(FILES[0]), "--json", *runtime]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["scenarios"][0]["disagreements"] == 0
    assert main(["diff", *runtime]) == 2
    assert "give scenario files" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["diff", "--generated", "-4"])
    assert stop.value.code == 2
    assert "-4" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["diff", str(bad), *runtime]) == 2
    assert str(bad) in capsys.readouterr().err


def test_a_disagreement_is_confirmed_before_it_is_reported() -> None:
    """One stalled HIP run (here: another seed's SimPy record with one op's status changed)
    is re-run: an item that varies across the HIP runs is racy, one that is wrong in every
    run stays DISAGREE."""
    from model.scenario.record import RunRecord
    from model.sim.runner import run_sim

    scenario = load_scenario(ROOT / "examples" / "submit-with-wait.json")

    def flaky(s: object, k: int) -> RunRecord:
        record = run_sim(scenario, k)
        if k == 0:  # only the first HIP run is off
            record.ops["x"].status = "ABORTED"
        return record

    def broken(s: object, k: int) -> RunRecord:
        record = run_sim(scenario, k)
        record.ops["x"].status = "ABORTED"
        return record

    calls: list[int] = []

    def counted(s: object, k: int) -> RunRecord:
        calls.append(k)
        return flaky(s, k)

    racy = diff_scenario(scenario, "cpu", run_hip=counted, sim_runs=1)
    assert {item: v for item, _, _, v in racy.rows}["op x"] == "racy"
    assert racy.disagreements == 0 and calls == [0, 1]
    wrong = diff_scenario(scenario, "cpu", run_hip=broken, sim_runs=1)
    assert {item: v for item, _, _, v in wrong.rows}["op x"] == "DISAGREE"
    assert not wrong.ok
    once = diff_scenario(scenario, "cpu", run_hip=broken, sim_runs=1, confirm_runs=0)
    assert once.disagreements and not once.ok
