"""`hipsem fuzz`: catalogue, clean campaign, a seeded defect found, saved and replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.cli import main
from model.core.defects import Defect
from model.scenario.trace import trace_problems


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_defects_names_the_whole_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fuzz", "--list-defects")
    assert code == 0
    assert all(d.value in out for d in Defect)


def test_clean_core_campaign_finds_nothing(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fuzz", "--examples", "150", "--json",
                       "--save-failures", str(tmp_path))
    summary = json.loads(out)
    assert code == 0
    assert summary["examples"] == 150 and summary["failures"] == []
    assert summary["seconds"] > 0
    assert list(tmp_path.iterdir()) == []


def test_seeded_defect_is_found_saved_and_replayed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fuzz", "--defect", "lifo-ready", "--examples", "3000",
                       "--json", "--save-failures", str(tmp_path))
    assert code == 1
    failure = json.loads(out)["failures"][0]
    assert failure["property"] == "fifo"
    saved = Path(failure["scenario_file"])
    assert saved.exists() and failure["replays"] is True
    assert failure["replay"] == f"hipsem run {saved}"
    assert trace_problems(json.loads(Path(failure["trace_file"]).read_text())) == []
    code, out, _ = run(capsys, "run", str(saved), "--json")
    assert code == 1
    violations = json.loads(out)["violations"]
    assert "fifo" in {v["property"] for v in violations}
    assert all(v["replay"].startswith(f"hipsem run {saved} --seed ") for v in violations)
    clean = json.loads(saved.read_text())
    clean["replay"]["defects"] = []
    without = tmp_path / "without-defect.json"
    without.write_text(json.dumps(clean))
    code, _, _ = run(capsys, "run", str(without), "--json")
    assert code == 0, "the same file without its defect runs clean"


@pytest.mark.parametrize(("argv", "expected"), [
    (["--examples", "-1"], "--examples"),
    (["--defect", "no-such-bug"], "no-such-bug"),
    (["--seed", "x"], "--seed"),
])
def test_bad_arguments_exit_2(argv: list[str], expected: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fuzz", *argv)
    assert code == 2 and expected in err and "Traceback" not in err


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_that_python_swallows_still_stops_the_campaign() -> None:
    """SIGINT's KeyboardInterrupt can land in a gc callback (Hypothesis has one), where
    Python ignores it; the latched Ctrl-C still stops the search at its next example."""
    import gc
    import signal

    from model.fuzz.campaign import CampaignConfig
    from model.fuzz.shards import LiveCounts, plan_shards, run_local

    swallowed: list[bool] = []

    def ctrl_c_inside_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not swallowed:
            swallowed.append(True)
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # type: ignore[operator]

    def progress(counts: LiveCounts) -> None:
        if not swallowed and sum(n for _, n in counts.running.values()) >= 3:
            gc.callbacks.append(ctrl_c_inside_gc)
            try:
                gc.collect()  # the interrupt is raised, and ignored, in the callback
            finally:
                gc.callbacks.remove(ctrl_c_inside_gc)

    config = CampaignConfig(examples=100_000, seed=0)
    result = run_local(config, plan_shards(100_000, 0), progress)
    assert swallowed and result.interrupted
    assert 3 <= result.examples < 100
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_printed_counterexample_shows_its_fault_plan() -> None:
    from model.faults import CallFault, DeviceLost, FaultPlan, WorkFault
    from model.fuzz.cli import fault_plan_lines

    plan = FaultPlan(calls=(CallFault("create_event", "hipErrorOutOfMemory", at=2),
                            CallFault("launch_work", "hipErrorInvalidHandle",
                                      probability=0.25)),
                     work=(WorkFault("x0"),), device_lost=DeviceLost(50.0))
    assert fault_plan_lines(plan) == [
        "create_event call #2 fails with hipErrorOutOfMemory",
        "each launch_work call fails with hipErrorInvalidHandle with probability 0.25",
        "the work of x0 fails with hipErrorLaunchFailure",
        "the device is lost at 50 us (hipErrorNoDevice)"]
    assert fault_plan_lines(FaultPlan()) == []
