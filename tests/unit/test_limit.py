"""No hidden time limit: long valid runs are judged as usual; `--limit` stops a runaway.

A run ends when it is quiescent, however long it is in simulated time; an explicit
`--limit S` (run, fuzz, diff) stops a run that is not quiescent after S simulated
seconds, reports it with exit status 4, never with violations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hipbackend.diff import diff_scenario, sim_records
from model.cli import EXIT_LIMIT, main
from model.fuzz.campaign import CampaignConfig, run_campaign
from model.scenario.checker import check
from model.scenario.types import Scenario
from model.sim.runner import run_sim
from tests.unit.helpers import execute, scenario

SECOND = 1_000_000.0


def long_sleep() -> Scenario:  # an 11 s sleep between a wait's start and its signal
    return scenario({"main": [{"op": "sleep", "id": "z", "us": 11 * SECOND},
                              {"op": "signal", "id": "s", "semaphore": "S", "value": 1}],
                     "waiter": [{"op": "wait", "id": "w", "semaphores": {"S": 1}}]},
                    {"S": 0}, name="sleep-11s")


def long_kernel() -> Scenario:  # a 12 s kernel, waited on by the host and a consumer
    return scenario({"main": [execute("x1", wait={"S": 1}, signal={"S": 2}),
                              execute("x0", signal={"S": 1}, duration_us=12 * SECOND),
                              {"op": "wait", "id": "w", "semaphores": {"S": 2}}]},
                    {"S": 0}, name="kernel-12s")


def long_timeout() -> Scenario:  # a 20 s timed wait that expires, then a late signal
    return scenario({"main": [{"op": "wait", "id": "w", "semaphores": {"S": 1},
                               "timeout_us": 20 * SECOND},
                              {"op": "signal", "id": "s", "semaphore": "S", "value": 1}]},
                    {"S": 0}, name="timeout-20s")


def runaway() -> Scenario:  # an hour-long kernel: fine, but more than one wants to wait
    return scenario({"main": [execute("x0", signal={"S": 1}, duration_us=3600 * SECOND),
                              {"op": "wait", "id": "w", "semaphores": {"S": 1}}]},
                    {"S": 0}, name="runaway")


@pytest.mark.parametrize("make", [long_sleep, long_kernel, long_timeout])
def test_runs_longer_than_10_simulated_seconds_are_judged_without_violations(
        make: Any) -> None:
    sc = make()
    record = run_sim(sc, seed=1)
    assert record.limit_reached_us is None
    assert check(sc, record) == []
    assert record.sim_time_us > 10 * SECOND
    assert record.conservation_problems == []
    expected = {"timeout-20s": {"w": "DEADLINE_EXCEEDED", "s": "OK"}}.get(sc.name)
    statuses = {op: r.status for op, r in record.ops.items()}
    assert statuses == (expected or dict.fromkeys(statuses, "OK"))


def _write(tmp_path: Path, sc: Scenario) -> Path:
    from model.scenario.parse import scenario_to_json

    path = tmp_path / f"{sc.name}.json"
    path.write_text(json.dumps(scenario_to_json(sc)))
    return path


def test_run_reaching_its_limit_exits_4_with_a_message_and_no_violations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, runaway())
    code = main(["run", str(path), "--limit", "2", "--json"])
    out, err = capsys.readouterr()
    assert code == EXIT_LIMIT == 4
    report = json.loads(out)
    assert report["violations"] == [] and report["ok"] is False
    assert report["limit_reached_us"] == 2 * SECOND
    assert report["ops"]["w"]["status"] == "PENDING"
    assert "reached --limit 2 s of simulated time" in err and "not judged" in err
    # Without the limit the same scenario runs its simulated hour and passes.
    assert main(["run", str(path)]) == 0
    capsys.readouterr()


def test_a_limit_past_the_end_changes_nothing(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, long_kernel())
    assert main(["run", str(path), "--json"]) == 0
    plain = capsys.readouterr().out
    assert main(["run", str(path), "--json", "--limit", "13"]) == 0
    assert capsys.readouterr().out == plain


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "soon"])
def test_bad_limits_exit_2(bad: str, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, long_sleep())
    assert main(["run", str(path), "--limit", bad]) == 2
    assert "--limit" in capsys.readouterr().err
    assert main(["fuzz", "--examples", "1", "--limit", bad]) == 2
    capsys.readouterr()


def test_fuzz_counts_runs_at_the_limit_as_unjudged_not_failures(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_campaign(CampaignConfig(examples=40, seed=0, limit_us=50.0))
    assert result.failure is None and result.limited > 0
    assert main(["fuzz", "--examples", "40", "--limit", "0.00005", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["unjudged_at_limit"] > 0 and summary["failures"] == []


def test_diff_does_not_compare_a_scenario_whose_sim_run_reached_the_limit() -> None:
    def no_hip(_s: Scenario, _k: int) -> Any:
        raise AssertionError("the HIP backend must not run")

    c = diff_scenario(runaway(), "cpu", run_hip=no_hip, sim_runs=2, limit_us=SECOND)
    assert c.limit_reached_us == SECOND and not c.failed and not c.ok and c.rows == []
    assert c.to_json()["limit_reached_us"] == SECOND
    assert all(r.limit_reached_us is None and not check(long_timeout(), r)
               for r in sim_records(long_timeout(), runs=2))
