"""A blocked run explains itself: cycles of waits and unsatisfiable waits, from ground truth
(model/scenario/blocked.py), in the report's JSON and text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model.cli import main
from model.core.defects import Defect
from model.scenario.blocked import explain_blocked
from model.scenario.checker import check
from model.scenario.parse import load_scenario, parse_scenario
from model.scenario.report import build_report, format_summary
from model.scenario.types import Scenario
from model.sim.runner import run_sim

ROOT = Path(__file__).resolve().parents[2]


def scenario(semaphores: dict[str, int], actors: dict[str, list[dict[str, Any]]],
             queues: tuple[str, ...] = ("q0",)) -> Scenario:
    return parse_scenario({"format": "hipsem/scenario-1", "name": "blocked",
                           "semaphores": semaphores, "queues": list(queues), "actors": actors})


def wait(op_id: str, **values: int) -> dict[str, Any]:
    return {"op": "wait", "id": op_id, "semaphores": values, "timeout_us": None}


def signal(op_id: str, semaphore: str, value: int) -> dict[str, Any]:
    return {"op": "signal", "id": op_id, "semaphore": semaphore, "value": value}


def execute(op_id: str, queue: str, wait: dict[str, int], signal: dict[str, int]
            ) -> dict[str, Any]:
    return {"op": "execute", "id": op_id, "queue": queue, "wait": wait, "signal": signal}


HOST_CYCLE = scenario({"A": 0, "B": 0}, {
    "w": [wait("wb", B=1), signal("sa", "A", 1)],
    "x": [wait("wa", A=1), signal("sb", "B", 1)],
})


def report_of(sc: Scenario, seed: int = 0, defects: tuple[Defect, ...] = ()
              ) -> dict[str, Any]:
    record = run_sim(sc, seed, defects)
    return build_report(sc, record, check(sc, record))


def test_two_host_threads_waiting_on_each_other() -> None:
    report = report_of(HOST_CYCLE)
    assert report["ok"]  # the core did nothing wrong: the scenario deadlocked
    blocked = report["blocked"]
    assert blocked["explanation"] == [
        "w waits for B >= 1, which only x signals; x waits for A >= 1, which only w signals"]
    assert blocked["cycles"] == [["w", "x"]]
    assert {(w["who"], w["op"], w["semaphore"], w["value"], w["reached"])
            for w in blocked["waits"]} == {("w", "wb", "B", 1, 0), ("x", "wa", "A", 1, 0)}
    text = format_summary(report)
    assert "| OK | BLOCKED" in text.splitlines()[0]
    assert "w waits for B >= 1, which only x signals; x waits for A >= 1" in text


def test_a_cycle_of_executes_an_unsatisfiable_wait_and_who_is_behind_them() -> None:
    sc = scenario({"A": 0, "B": 0, "C": 0, "Z": 0}, {
        "main": [execute("x", "q0", {"A": 1}, {"B": 1}), execute("y", "q1", {"B": 1}, {"A": 1}),
                 execute("z", "q1", {"Z": 5}, {"C": 1}), wait("wc", C=1),
                 signal("late", "Z", 2)],
        "other": [wait("wb", B=1)],
    }, queues=("q0", "q1"))
    blocked = report_of(sc)["blocked"]
    assert blocked["explanation"] == [
        "execute x waits for A >= 1, which only execute y signals; "
        "execute y waits for B >= 1, which only execute x signals",
        "execute z waits for Z >= 5, which nothing signals (no op signals Z above 2)",
        "main waits for C >= 1, which only execute z signals",
        "other waits for B >= 1, which only execute x signals",
    ]
    assert blocked["cycles"] == [["execute x", "execute y"]]


def test_an_actor_waiting_for_its_own_later_signal() -> None:
    sc = scenario({"D": 0}, {"main": [
        execute("d", "q0", {}, {"D": 1}), wait("w", D=2), signal("s", "D", 2)]})
    blocked = report_of(sc)["blocked"]
    assert blocked["explanation"] == ["main waits for D >= 2, which only main signals"]
    assert blocked["cycles"] == [["main"]]


def test_a_wait_nobody_can_satisfy_any_more() -> None:
    sc = scenario({"A": 0}, {"main": [wait("w", A=3)], "h": [signal("s", "A", 1)]})
    blocked = report_of(sc)["blocked"]
    assert blocked["explanation"] == ["main waits for A >= 3, which nothing signals "
                                      "(no op signals A above 1)"]


def test_an_any_wait_is_blocked_only_when_none_of_its_values_is_reached() -> None:
    sc = scenario({"A": 0, "B": 0}, {"main": [
        {"op": "wait", "id": "w", "semaphores": {"A": 1, "B": 1}, "mode": "any",
         "timeout_us": None}]})
    blocked = report_of(sc)["blocked"]
    assert blocked["explanation"] == ["main waits for any of A >= 1, B >= 1, which nothing "
                                      "signals"]
    sc = scenario({"A": 0, "B": 0}, {
        "main": [{"op": "wait", "id": "w", "semaphores": {"A": 1, "B": 1}, "mode": "any",
                  "timeout_us": None}],
        "h": [signal("s", "B", 1)]})
    assert report_of(sc)["blocked"] is None


def test_a_core_that_loses_a_wakeup_is_named_not_excused() -> None:
    sc = load_scenario(ROOT / "tests" / "property" / "minimal" / "lost-wakeup.json")
    for seed in range(16):
        report = report_of(sc, seed, (Defect.LOST_WAKEUP,))
        if not report["ok"]:
            break
    else:
        pytest.fail("lost-wakeup never hung in 16 seeds")
    (line,) = report["blocked"]["explanation"]
    assert line.startswith("h0 waits for A >= 1, which was reached at ")
    assert line.endswith("but it was not released")
    assert "| FAILED | BLOCKED" in format_summary(report)


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.json")),
                         ids=lambda p: p.stem)
def test_the_examples_are_not_blocked(path: Path) -> None:
    sc = load_scenario(path)
    assert explain_blocked(sc, run_sim(sc, 0)) is None


def test_a_blocked_scenario_exits_0_and_says_why(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from model.scenario.parse import scenario_to_json

    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(scenario_to_json(HOST_CYCLE)))
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "blocked (the scenario deadlocked; the core did nothing wrong):" in out
    assert main(["run", str(path), "--json"]) == 0
    assert '"cycles"' in capsys.readouterr().out


def test_a_long_blocked_chain_is_explained_in_linear_time() -> None:
    """4000 parked executes, each waiting for the previous one, the first for a value
    nobody signals: no recursion limit, no quadratic scan, a short text summary."""
    n = 4000
    ops = [execute(f"x{i}", "q0", {f"S{i}": 1}, {f"S{i + 1}": 1}) for i in range(n)]
    sc = scenario({f"S{i}": 0 for i in range(n + 1)}, {"main": [*reversed(ops),
                                                               wait("w", **{f"S{n}": 1})]})
    record = run_sim(sc, 0)
    blocked = explain_blocked(sc, record)
    assert blocked is not None
    lines = blocked["explanation"]
    assert lines[0] == ("execute x0 waits for S0 >= 1, which nothing signals "
                        "(no op signals S0 above 0)")
    assert len(lines) == n + 1 and blocked["cycles"] == []
    text = format_summary(build_report(sc, record, []))
    assert f"... and {n + 1 - 12} more (see --json: blocked)" in text


def test_cycle_is_found_where_a_greedy_walk_dead_ends() -> None:
    """a -> b, b -> {c, d}, c -> b, d -> a: walking to the first unseen successor goes
    a, b, c and dead-ends at c (found by the property suite: a KeyError for a missing
    step c -> a); the cycle through a is a, b, d."""
    from model.scenario.blocked import _Explainer

    explainer = _Explainer.__new__(_Explainer)
    explainer.edges = {"a": ["b"], "b": ["c", "d"], "c": ["b"], "d": ["a"]}
    assert explainer._cycle_from("a", {"a", "b", "c", "d"}) == ["a", "b", "d"]
    explainer.edges = {"s": ["s"]}
    assert explainer._cycle_from("s", {"s"}) == ["s"]
