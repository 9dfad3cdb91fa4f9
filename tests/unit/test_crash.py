"""A run that raises is a failure of the run under test (property `crash`), not of hipsem.

Mutants of the core (tests/mutants.py) raise at every place a run can crash; the seeded
defect `reuse-destroyed-event` makes the SimPy device reject a destroyed event. Each is
recorded as `record.crash`, reported first by the checker, shrunk, saved, replayed and
reported with exit 1. A `RecorderError` (hipsem's own bug) still propagates: exit 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model.cli import main
from model.core.defects import Defect
from model.fuzz.campaign import CampaignConfig, run_campaign
from model.fuzz.replay import replay_file, save_failure
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.scenario.recorder import Recorder, RecorderError
from model.scenario.report import build_report, format_summary, report_json
from model.scenario.trace import chrome_trace, trace_problems
from model.scenario.types import Scenario
from model.sim.runner import run_sim
from model.sim.timing import Timing
from model.strategies import scenario_size
from tests.mutants import MUTANTS, Boom, crash_scenario

MINIMAL = Path(__file__).resolve().parents[1] / "property" / "minimal"
DEFECT = Defect.REUSE_DESTROYED_EVENT
CASES = [(name, mode) for name in MUTANTS for mode in ("callback", "thread")
         if not (name == "host-function" and mode == "thread")]  # no host function there


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("name", "mode"), CASES)
def test_a_raising_core_is_recorded_as_a_crash_and_reported_first(name: str, mode: str) -> None:
    factory, where, op = MUTANTS[name]
    sc = crash_scenario(completion=mode)
    record = run_sim(sc, 0, (), None, context_factory=factory)
    assert record.crash is not None
    assert (record.crash.type, record.crash.where, record.crash.op) == ("Boom", where, op)
    violations = check(sc, record)
    first = violations[0]
    assert (first.property, first.op) == ("crash", op)
    assert f"Boom in {where}" in first.message
    assert sum(v.property == "crash" for v in violations) == 1
    assert trace_problems(chrome_trace(sc, record)) == []
    report = build_report(sc, record, violations)
    assert not report["ok"] and report["violations"][0]["property"] == "crash"
    assert "crash" in format_summary(report)
    again = run_sim(sc, 0, (), None, context_factory=factory)
    assert report_json(build_report(sc, again, check(sc, again))) == report_json(report)


def test_an_actor_crash_names_the_op_it_was_running() -> None:
    sc = crash_scenario()
    violation = check(sc, run_sim(sc, 0, (), None, context_factory=MUTANTS["actor"][0]))[0]
    assert violation.message == ("the run raised Boom in actor h1 while running op s1: "
                                 "signal A = 1")


def test_the_clean_core_does_not_crash() -> None:
    for mode in ("callback", "thread"):
        sc = crash_scenario(completion=mode)
        record = run_sim(sc, 0)
        assert record.crash is None
        assert check(sc, record) == []


def _broken_seq(self: Recorder) -> int:
    raise ZeroDivisionError("recorder bug")


def test_a_recorder_error_is_not_a_crash_it_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Recorder, "seq", _broken_seq)
    with pytest.raises(RecorderError, match="recorder bug"):
        run_sim(crash_scenario(), 0)


def test_hipsem_run_reports_a_recorder_error_as_internal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Recorder, "seq", _broken_seq)
    code, out, err = run(capsys, "run", str(MINIMAL / "lifo-ready.json"))
    assert code == 3 and "internal error" in err and out == ""


# --------------------------------------------------------------------------- the defect


def test_the_defect_crashes_the_run_on_the_device() -> None:
    sc = load_scenario(MINIMAL / f"{DEFECT.value}.json")
    record = run_sim(sc, 0, {DEFECT})
    assert record.crash is not None and record.crash.type == "DeviceError"
    assert "destroyed" in record.crash.message
    assert [v.property for v in check(sc, record)] == ["crash"]


def test_the_defect_is_found_shrunk_saved_and_replayed(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    result = run_campaign(CampaignConfig(examples=500, seed=0, defects=frozenset({DEFECT}),
                                         shrink_seconds=5.0))
    failure = result.failure
    assert failure is not None and failure.properties[0] == "crash"
    assert failure.size <= scenario_size(load_scenario(MINIMAL / f"{DEFECT.value}.json")) + 1
    saved = save_failure(failure, frozenset({DEFECT}), tmp_path)
    assert saved.replays and saved.scenario_file.name.startswith(f"{DEFECT.value}-crash-")
    assert trace_problems(json.loads(saved.trace_file.read_text())) == []
    _, replayed = replay_file(saved.scenario_file)
    assert replayed == failure.properties
    code, out, _ = run(capsys, "run", str(saved.scenario_file), "--json")
    assert code == 1
    assert json.loads(out)["violations"][0]["property"] == "crash"
    code, out, _ = run(capsys, "run", str(saved.scenario_file))
    assert code == 1 and "crash" in out and "DeviceError" in out


def test_hipsem_fuzz_json_reports_the_crash(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "fuzz", "--defect", DEFECT.value, "--examples", "500",
                         "--json", "--save-failures", str(tmp_path))
    assert code == 1, err
    summary = json.loads(out)
    failure = summary["failures"][0]
    assert failure["property"] == "crash" and failure["replays"] is True
    assert "DeviceError" in failure["messages"][0]
    assert Path(failure["scenario_file"]).exists() and Path(failure["trace_file"]).exists()
    assert isinstance(failure["seed"], int) and failure["size"] >= 1


def test_hipsem_fuzz_human_summary_shows_the_crash(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fuzz", "--defect", DEFECT.value, "--examples", "500",
                       "--save-failures", str(tmp_path))
    assert code == 1
    assert "crash failed" in out and "the run raised DeviceError" in out
    assert "saved:" in out and "replay differs" not in out


# --------------------------------------------------------------------------- campaigns


def test_a_mutant_that_raises_is_found_shrunk_and_saved_without_raising(tmp_path: Path) -> None:
    factory = MUTANTS["worker"][0]
    result = run_campaign(CampaignConfig(examples=200, seed=0, context_factory=factory,
                                         shrink_seconds=5.0))
    failure = result.failure
    assert failure is not None and failure.properties[0] == "crash"
    assert failure.size == 1  # one execute is enough for the worker to raise
    # The saved file runs the default core (a file cannot name a mutant): it is written
    # and replayed without raising, and reports that the replay differs.
    saved = save_failure(failure, frozenset(), tmp_path)
    assert saved.scenario_file.exists() and saved.replays is False


def _raising_runner(scenario: Scenario, seed: int, defects: Any, timing: Timing) -> Any:
    raise Boom("runner")


def test_a_custom_runner_that_raises_is_a_crash_finding() -> None:
    result = run_campaign(CampaignConfig(examples=20, seed=0, runner=_raising_runner,
                                         shrink_seconds=1.0, minimize=False))
    assert result.failure is not None and result.failure.properties == ["crash"]
    assert "Boom: runner" in result.failure.violations[0].message


def _recorder_error_runner(scenario: Scenario, seed: int, defects: Any, timing: Timing) -> Any:
    raise RecorderError("recorder bug")


def test_a_recorder_error_stops_the_campaign() -> None:
    with pytest.raises(RecorderError):
        run_campaign(CampaignConfig(examples=20, seed=0, runner=_recorder_error_runner,
                                    shrink=False, minimize=False))
