"""The run report (hipsem/report-1) and its human summary."""

from __future__ import annotations

import json

from model.scenario.checker import Violation, check
from model.scenario.report import build_report, format_summary, report_json
from tests.unit.test_checker import cascade_run, chain_run


def test_report_format_of_a_good_run() -> None:
    sc, run = chain_run()
    run.rec.ops["x"].start_us = 5.0004
    run.rec.sim_time_us = 30.12345
    report = build_report(sc, run.rec, check(sc, run.rec))
    assert list(report) == [
        "format", "scenario", "backend", "seed", "ok", "violations", "ops", "semaphores",
        "pools", "cancelled_at_teardown", "semaphores_after_teardown", "not_run",
        "blocked", "sim_time_us",
    ]  # fmt: skip
    assert report["blocked"] is None
    assert report["format"] == "hipsem/report-1"
    assert (report["scenario"], report["backend"], report["seed"]) == ("t", "sim", 0)
    assert report["ok"] is True and report["violations"] == []
    assert list(report["ops"]) == ["x", "sw", "w", "q"]  # scenario order
    assert report["ops"]["x"] == {
        "actor": "main", "op": "execute", "status": "OK", "start_us": 5.0, "end_us": 15.0,
    }  # fmt: skip
    assert report["ops"]["q"] == {
        "actor": "main", "op": "query", "status": "OK", "value": 1, "start_us": 21.0,
        "end_us": 22.0,
    }  # fmt: skip
    assert list(report["ops"]["q"]) == ["actor", "op", "status", "value", "start_us", "end_us"]
    assert report["semaphores"] == {
        "W": {"value": 1, "status": "OK"},
        "S": {"value": 1, "status": "OK"},
    }
    assert list(report["pools"]) == ["event", "timepoint"]
    assert report["pools"]["event"] == {
        "capacity": 32, "created": 2, "destroyed": 2, "peak_in_use": 1, "misses": 0,
        "in_use_at_end": 0,
    }  # fmt: skip
    assert report["cancelled_at_teardown"] == []
    assert report["sim_time_us"] == 30.123


def test_report_of_a_bad_run() -> None:
    sc, run = cascade_run()
    run.rec.ops["x"].message = "wait semaphore W failed: ABORTED"
    run.rec.ops["y"].status = "OK"
    run.rec.cancelled_at_teardown = ["y"]
    violations = check(sc, run.rec)
    report = build_report(sc, run.rec, violations)
    assert report["ok"] is False
    assert report["violations"][0] == {
        "property": violations[0].property,
        "op": violations[0].op,
        "message": violations[0].message,
    }
    assert report["ops"]["x"]["message"] == "wait semaphore W failed: ABORTED"
    assert "message" not in report["ops"]["y"]
    assert report["ops"]["x"]["start_us"] is None
    assert report["semaphores"]["T"] == {"value": 0, "status": "ABORTED"}
    assert report["cancelled_at_teardown"] == ["y"]


def test_report_json_is_byte_identical_for_identical_records() -> None:
    texts = set()
    for _ in range(3):
        sc, run = chain_run()
        texts.add(report_json(build_report(sc, run.rec, check(sc, run.rec))))
    assert len(texts) == 1
    text = texts.pop()
    assert text.endswith("\n") and json.loads(text)["ok"] is True


def test_missing_op_results_are_pending() -> None:
    sc, run = chain_run()
    del run.rec.ops["q"]
    report = build_report(sc, run.rec, [])
    assert report["ops"]["q"] == {
        "actor": "main", "op": "query", "status": "PENDING", "value": None, "start_us": None,
        "end_us": None,
    }  # fmt: skip


def test_summary() -> None:
    sc, run = cascade_run()
    violations = [Violation("liveness", "y", "execute y ended OK; allowed: ABORTED")]
    text = format_summary(build_report(sc, run.rec, violations))
    lines = text.splitlines()
    assert lines[0] == "scenario t | backend sim | seed 0 | FAILED"
    assert "violations: 1" in lines
    assert "  - liveness [y]: execute y ended OK; allowed: ABORTED" in lines
    assert "ops: 5 (ABORTED 3, OK 2)" in lines
    assert "semaphores: W=0 (ABORTED), S=0 (ABORTED), T=0 (ABORTED)" in lines
    assert any(line.startswith("  event: capacity 32, peak 1") for line in lines)
    assert any(line.startswith("  timepoint: capacity 32") for line in lines)

    sc, run = chain_run()
    ok = format_summary(build_report(sc, run.rec, []))
    assert ok.splitlines()[0].endswith("| OK") and "violations" not in ok


def test_order_messages_show_an_excerpt_around_the_difference() -> None:
    """FIFO messages name the first difference in context, never a whole Python list."""
    from model.scenario.checker.fifo import _excerpt, _order_mismatch

    long = [f"x{i}" for i in range(1000)]
    assert _excerpt(long, 500) == "..., x497, x498, x499, [x500], x501, x502, x503, ..."
    assert _excerpt(["a", "b"], 2) == "a, b, [end]"
    assert _excerpt([], 0) == "(none)"
    swapped = [*long[:500], "x501", "x500", *long[502:]]
    v = _order_mismatch("q0", "launch order", swapped, long, "ready order")
    assert v.op == "x501" and "[" + "'" not in v.message and len(v.message) < 250
    assert "x499, [x501], x500" in v.message and "at position 500" in v.message
