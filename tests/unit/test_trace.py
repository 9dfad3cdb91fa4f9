"""Chrome/Perfetto trace export: valid JSON, well-formed events, paired and bound flows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from model.scenario.record import Flow, Span
from model.scenario.trace import (
    HOST_FUNCTION_TRACK,
    chrome_trace,
    trace_problems,
    write_trace,
)
from tests.unit.test_checker import cascade_run, chain_run

ROOT = Path(__file__).resolve().parents[2]

REQUIRED = {
    "M": {"name", "ph", "pid", "args"},
    "X": {"name", "ph", "ts", "dur", "pid", "tid"},
    "i": {"name", "ph", "ts", "pid", "tid", "s"},
    "C": {"name", "ph", "ts", "pid", "args"},
    "s": {"name", "ph", "ts", "pid", "tid", "id"},
    "f": {"name", "ph", "ts", "pid", "tid", "id", "bp"},
}


def assert_well_formed(trace: dict[str, Any]) -> None:
    text = json.dumps(trace, allow_nan=False)
    assert json.loads(text) == trace
    assert trace["displayTimeUnit"] == "ns"
    events = trace["traceEvents"]
    for e in events:
        assert e["ph"] in REQUIRED, e
        assert REQUIRED[e["ph"]] <= set(e), e
        for key in ("ts", "dur"):
            if key in e:
                assert isinstance(e[key], (int, float)) and math.isfinite(e[key]), e
                assert e[key] >= 0, e
    starts = sorted(e["id"] for e in events if e["ph"] == "s")
    finishes = sorted(e["id"] for e in events if e["ph"] == "f")
    assert starts == finishes and len(set(starts)) == len(starts)
    assert trace_problems(trace) == []


def names_by_tid(trace: dict[str, Any]) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}


def slices(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in trace["traceEvents"] if e["ph"] == "X"]


def test_chain_trace_tracks_slices_counters_and_flows() -> None:
    sc, run = chain_run()
    run.rec.flows = [Flow("sw", "x", "W", 1), Flow("x", "w", "S", 1)]
    run.rec.sim_time_us = 30.0
    trace = chrome_trace(sc, run.rec)
    assert_well_formed(trace)
    tracks = names_by_tid(trace)
    assert {"main", HOST_FUNCTION_TRACK, "stream q0"} <= set(tracks.values())
    process = [e for e in trace["traceEvents"] if e["name"] == "process_name"]
    assert process == [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "hipsem"}}]
    by_name = {e["name"]: e for e in slices(trace)}
    assert by_name["signal sw"]["ts"] == 2.0 and by_name["signal sw"]["dur"] == 2.0
    assert by_name["wait w"]["args"]["status"] == "OK"
    assert by_name["query q"]["args"]["value"] == 1
    assert tracks[by_name["execute x"]["tid"]] == "stream q0"  # synthesized from the op
    counters = [(e["name"], e["ts"], e["args"]["value"]) for e in trace["traceEvents"]
                if e["ph"] == "C"]  # fmt: skip
    assert counters[:2] == [("W", 0.0, 0), ("S", 0.0, 0)]
    assert ("W", 3.0, 1) in counters and ("S", 18.0, 1) in counters
    flows = [e for e in trace["traceEvents"] if e["ph"] in "sf"]
    assert [(e["ph"], tracks[e["tid"]]) for e in flows] == [
        ("s", "main"), ("f", "stream q0"), ("s", "stream q0"), ("f", "main"),
    ]  # fmt: skip
    assert all(e["bp"] == "e" for e in flows if e["ph"] == "f")


def test_device_spans_are_used_for_execute_work() -> None:
    sc, run = chain_run()
    run.rec.spans = [
        Span("q0 stream", "x", 5.0, 15.0, {"op": "x"}),
        Span(HOST_FUNCTION_TRACK, "complete q0", 16.0, 17.0),
    ]
    run.rec.flows = [Flow("x", "w", "S", 1)]
    trace = chrome_trace(sc, run.rec)
    assert_well_formed(trace)
    tracks = names_by_tid(trace)
    assert "stream q0" not in tracks.values()  # nothing synthesized
    work = [e for e in slices(trace) if e["name"] == "x"]
    assert len(work) == 1 and tracks[work[0]["tid"]] == "q0 stream"
    start = next(e for e in trace["traceEvents"] if e["ph"] == "s")
    assert start["tid"] == work[0]["tid"]


def test_pending_ops_failures_and_submits() -> None:
    sc, run = cascade_run()
    run.rec.ops["w"].status, run.rec.ops["w"].end_us = "PENDING", None
    run.rec.sim_time_us = 80.0
    run.rec.flows = [Flow("f", "w", "T", 1)]  # no slice for a fail -> no arrow, no error
    trace = chrome_trace(sc, run.rec)
    assert_well_formed(trace)
    by_name = {e["name"]: e for e in slices(trace)}
    pending = by_name["wait w (PENDING)"]
    assert pending["ts"] == 2.0 and pending["dur"] == 78.0
    instants = {e["name"] for e in trace["traceEvents"] if e["ph"] == "i"}
    assert {"execute x", "execute y", "W failed: ABORTED", "T failed: ABORTED"} <= instants


def test_write_trace_round_trips(tmp_path: Path) -> None:
    sc, run = chain_run()
    trace = chrome_trace(sc, run.rec)
    path = tmp_path / "t.json"
    write_trace(path, trace)
    assert json.loads(path.read_text()) == trace
    assert chrome_trace(sc, run.rec) == trace  # deterministic


def test_trace_problems_finds_broken_traces() -> None:
    base = {"name": "a", "ph": "X", "ts": 0.0, "dur": 1.0, "pid": 1, "tid": 1}
    assert trace_problems({"traceEvents": [base]}) == []
    assert trace_problems({"traceEvents": [base | {"ts": -1.0}]})
    assert trace_problems({"traceEvents": [{"ph": "X", "ts": 0}]})
    assert trace_problems({"traceEvents": [{"ph": "?"}]})
    lone = {"name": "f", "ph": "s", "ts": 0.5, "pid": 1, "tid": 1, "id": 1, "cat": "flow"}
    assert trace_problems({"traceEvents": [base, lone]})
    stray = lone | {"ph": "f", "bp": "e", "tid": 2}
    assert any("inside no slice" in p for p in trace_problems({"traceEvents": [base, lone, stray]}))
    assert trace_problems({}) == ["traceEvents is not a list"]
    overlap = base | {"name": "b", "ts": 0.5}
    assert any("without nesting" in p for p in trace_problems({"traceEvents": [base, overlap]}))


def test_overlapping_slices_of_one_track_go_to_lanes() -> None:
    sc, run = chain_run()
    # Hardware-like execute times (issue .. retire) that overlap on one queue.
    run.rec.spans = [
        Span("q0", "k1", 0.0, 10.0),
        Span("q0", "k2", 5.0, 15.0),
        Span("q0", "k3", 10.0, 12.0),
        Span("q0", "inner", 1.0, 2.0),
    ]
    trace = chrome_trace(sc, run.rec)
    assert_well_formed(trace)
    tracks = names_by_tid(trace)
    lane = {e["name"]: tracks[e["tid"]] for e in slices(trace)}
    assert lane == lane | {"k1": "q0", "inner": "q0", "k3": "q0", "k2": "q0 (2)"}


def test_simulated_run_trace_is_well_formed() -> None:
    runner = pytest.importorskip("model.sim.runner")
    from model.scenario.parse import load_scenario

    paths = sorted((ROOT / "examples").glob("*.json"))
    if not paths:
        pytest.skip("no examples")
    for path in paths:
        sc = load_scenario(path)
        record = runner.run_sim(sc, 0)
        trace = chrome_trace(sc, record)
        assert_well_formed(trace)
        arrows = sum(e["ph"] == "s" for e in trace["traceEvents"])
        assert arrows <= len(record.flows)
