"""`--timing FILE` in run, fuzz, diff and plan: honoured, and a bad file exits 2 by name."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from model.cli import main
from model.sim.timing import Timing
from model.sim.timingfile import load_timing
from model.strategies import timings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "reverse-chain.json")
WORKLOAD = str(ROOT / "examples" / "workloads" / "poisson.toml")
SLOW = """\
format = "hipsem/timing-1"
[timing]
callback_latency_us = 5000.0
record_event_us = 50.0
"""
BAD = 'format = "hipsem/timing-1"\n[timing]\nrecord_event_us = -3\n'
PLAN_ARGS = ("--capacities", "4", "--replications", "1", "--duration-s", "0.05",
             "--warmup-s", "0.01", "--jobs", "1", "--json")


@pytest.fixture
def slow(tmp_path: Path) -> Path:
    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:  # diff's argparse exits on bad options
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


COMMANDS = {
    "run": ("run", EXAMPLE),
    "fuzz": ("fuzz", "--examples", "2"),
    "diff": ("diff", EXAMPLE, "--sim-runs", "1"),
    "plan": ("plan", WORKLOAD, *PLAN_ARGS),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_timing_file_exits_2_naming_field_value_and_expectation(
    command: str, bad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *COMMANDS[command], "--timing", str(bad))
    assert code == 2, (out, err)
    assert f"{bad}: timing.record_event_us: got -3 (integer); expected a finite number >= 0" \
        in err
    assert "Traceback" not in err


def test_run_uses_the_file_and_its_replay_command_names_it(
    slow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = json.loads(run(capsys, "run", EXAMPLE, "--json")[1])
    code, out, _ = run(capsys, "run", EXAMPLE, "--json", "--timing", str(slow))
    timed = json.loads(out)
    assert code == 0 and timed["ok"]
    assert timed["ops"]["c"]["end_us"] > plain["ops"]["c"]["end_us"] + 50  # 50 µs records
    code, out, _ = run(capsys, "run", EXAMPLE, "--json", "--timing", str(slow),
                       "--defect", "fresh-event-wait")
    assert code == 1
    assert json.loads(out)["violations"][0]["replay"].endswith(f"--timing {slow}")


def test_run_refuses_timing_on_the_hip_backend(slow: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", EXAMPLE, "--backend", "hip", "--timing", str(slow))
    assert code == 2 and "--timing applies to the SimPy backend" in err


def test_fuzz_draws_its_timings_over_the_file(
    slow: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import model.fuzz.shards as shards  # each shard of the campaign is one search

    seen: list[Any] = []
    real = shards.run_campaign

    def spy(config: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(config)
        return real(config, *args, **kwargs)

    monkeypatch.setattr(shards, "run_campaign", spy)
    code, out, _ = run(capsys, "fuzz", "--examples", "3", "--json", "--timing", str(slow))
    assert code == 0 and json.loads(out)["failures"] == []
    assert seen[0].base_timing == load_timing(slow)


@settings(max_examples=30, database=None, deadline=None)
@given(timings(dataclasses.replace(Timing(), record_event_us=50.0, callback_latency_us=5000.0)))
def test_drawn_timings_keep_the_base_and_start_from_it(t: Timing) -> None:
    assert t.record_event_us == 50.0  # not a drawn field: the calibration's
    assert t.callback_latency_us in (5000.0, 10.0, 1.0, 500.0)  # code 0 is the base's


def test_diff_hands_the_file_to_the_simpy_runs(
    slow: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hipbackend.diff as diff

    seen: list[Timing | None] = []
    real = diff.sim_records

    def spy(scenario: Any, seed: int = 0, runs: int = 12, limit_us: float | None = None,
            timing: Timing | None = None) -> Any:
        seen.append(timing)
        return real(scenario, seed, runs, limit_us, timing)

    monkeypatch.setattr(diff, "sim_records", spy)
    code, out, err = run(capsys, "diff", EXAMPLE, "--observable", "--sim-runs", "2",
                         "--json", "--timing", str(slow))
    assert code == 0, (out, err)
    assert seen == [load_timing(slow)]


def test_diff_simpy_runs_follow_the_timing(slow: Path) -> None:
    from hipbackend.diff import sim_records
    from model.scenario.parse import load_scenario

    scenario = load_scenario(EXAMPLE)
    plain = sim_records(scenario, 0, 1)[0]  # the even seeds: the base timing itself
    timed = sim_records(scenario, 0, 1, timing=load_timing(slow))[0]
    assert timed.ops["c"].retire_us > plain.ops["c"].retire_us + 4000  # 5 ms callbacks


def test_plan_uses_the_file_under_the_workloads_own_timing(
    slow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def hold(out: str) -> float:
        point = json.loads(out)["plans"][0]["pools"]["event"]["points"][0]
        return float(point["mean_hold_us"])

    late = slow.with_name("late.toml")  # slow.toml overloads the queues: no plan (exit 1)
    late.write_text('format = "hipsem/timing-1"\n[timing]\ncallback_latency_us = 2000.0\n')
    code, plain, _ = run(capsys, "plan", WORKLOAD, *PLAN_ARGS)
    code2, timed, _ = run(capsys, "plan", WORKLOAD, *PLAN_ARGS, "--timing", str(late))
    assert code == code2 == 0
    assert hold(timed) > hold(plain) + 1500  # events are held over the 2 ms callbacks


def test_workload_overrides_win_over_the_file(slow: Path, tmp_path: Path) -> None:
    from model.planning.parse import load_workload

    text = Path(WORKLOAD).read_text()
    assert "[timing]" not in text
    mine = tmp_path / "w.toml"
    mine.write_text(text + "\n[timing]\ncallback_latency_us = 7.0\n")
    w = load_workload(mine, load_timing(slow))
    assert (w.timing.callback_latency_us, w.timing.record_event_us) == (7.0, 50.0)


def test_a_fuzz_finding_keeps_the_calibration_in_its_replay(
    slow: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "fuzz", "--defect", "lifo-ready", "--examples", "300",
                       "--shrink-seconds", "2", "--json", "--timing", str(slow),
                       "--save-failures", str(tmp_path / "found"))
    assert code == 1
    saved = json.loads(out)["failures"][0]["scenario_file"]
    replay = json.loads(Path(saved).read_text())["replay"]
    assert replay["timing"]["record_event_us"] == 50.0  # minimized toward the file, not past it
    assert run(capsys, "run", saved)[0] == 1
