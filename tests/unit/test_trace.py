"""Chrome/Perfetto trace export: valid JSON, well-formed events, paired and bound flows."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from model.scenario.parse import load_scenario, parse_scenario
from model.scenario.record import Flow, RunRecord, Span
from model.scenario.trace import (
    HOST_FUNCTION_TRACK,
    chrome_trace,
    trace_problems,
    write_trace,
)
from model.scenario.types import Execute, Scenario, Wait, WaitMode
from model.sim.runner import run_sim
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
    assert counters[:2] == [("W signalled", 0.0, 0), ("S signalled", 0.0, 0)]
    assert ("W signalled", 4.0, 1) in counters  # ground truth: sw's call returned
    assert ("S signalled", 15.0, 1) in counters  # ground truth: the end of x's work
    assert ("W value (claim)", 3.0, 1) in counters and ("S value (claim)", 18.0, 1) in counters
    flows = [e for e in trace["traceEvents"] if e["ph"] in "sf"]
    assert [(e["ph"], tracks[e["tid"]], e["ts"]) for e in flows] == [
        ("s", "main", 3.999), ("f", "stream q0", 5.001),  # sw returned, x's work began
        ("s", "stream q0", 14.999), ("f", "main", 19.999),  # x's work ended, w returned
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


def flow_pairs(trace: dict[str, Any], cat: str | None = None
               ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(start, finish) of every flow arrow (of category `cat`), by id."""
    events = trace["traceEvents"]
    finish = {e["id"]: e for e in events if e["ph"] == "f"}
    return [(e, finish[e["id"]]) for e in events
            if e["ph"] == "s" and (cat is None or e["cat"] == cat)]


def expected_release_arrows(sc: Scenario, record: RunRecord) -> int:
    """Flows whose target ground truth shows released: an execute whose work ran, an
    "all" host wait that returned OK (an "any" wait may need only one of them)."""
    ops = sc.op_by_id()
    count = 0
    for flow in record.flows:
        op, r = ops[flow.target][1], record.ops[flow.target]
        if isinstance(op, Execute):
            count += r.start_us is not None
        elif isinstance(op, Wait) and op.mode is WaitMode.ALL:
            count += r.status == "OK"
    return count


def assert_flows_forward(sc: Scenario, record: RunRecord) -> dict[str, Any]:
    """The trace of a correct run: well formed, every arrow forward in time, an arrow for
    every release, no violation marker."""
    trace = chrome_trace(sc, record)
    assert_well_formed(trace)
    pairs = flow_pairs(trace)
    for start, finish in pairs:
        assert finish["ts"] >= start["ts"], (sc.name, start, finish)
    assert len(flow_pairs(trace, "flow")) >= expected_release_arrows(sc, record)
    assert not [e for e in trace["traceEvents"] if e.get("cat") == "violation"]
    return trace


EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_flow_of_every_example_goes_forward(path: Path, seed: int) -> None:
    sc = load_scenario(path)
    record = run_sim(sc, seed)
    trace = assert_flows_forward(sc, record)
    assert flow_pairs(trace, "flow") or not record.flows


def test_the_old_midpoint_binding_is_caught() -> None:
    """ping-pong: the device's D signal releases the host wait at the same instant the
    work ends; binding arrows to slice midpoints drew it backward. The check sees it."""
    sc = load_scenario(ROOT / "examples" / "ping-pong.json")
    trace = chrome_trace(sc, run_sim(sc, 0))
    assert trace_problems(trace) == []
    for start, finish in flow_pairs(trace, "flow"):
        finish["ts"], start["ts"] = start["ts"], finish["ts"] + 1.0
    assert any("backward in time" in p for p in trace_problems(trace))


def test_deferred_queue_worker_completion_and_pool_tracks() -> None:
    sc = load_scenario(ROOT / "examples" / "tiny-pools.json")
    record = run_sim(sc, 0)
    trace = chrome_trace(sc, record)
    assert_well_formed(trace)
    tracks = names_by_tid(trace)
    by_name = {e["name"]: e for e in slices(trace)}
    for x in (op for _, _, op in sc.ops() if isinstance(op, Execute)):
        r = record.ops[x.id]
        park = by_name[f"parked {x.id}" if x.wait else f"queued {x.id}"]
        assert tracks[park["tid"]].startswith(f"{x.queue} deferred")
        assert r.submit_start_us is not None
        assert park["ts"] == round(r.submit_start_us, 3)  # from its submit call ...
        assert park["ts"] + park["dur"] == pytest.approx(record.launched_us[x.id], abs=2e-3)
        issue = by_name[f"issue {x.id}"]  # ... to the device's launch of its work
        assert tracks[issue["tid"]].startswith(f"{x.queue} worker")
        retire = by_name[f"retire {x.id} (claim)"]
        assert retire["cat"] == "claim"
        assert tracks[retire["tid"]].startswith(f"{x.queue} completion")
    idle = [e for e in slices(trace) if e["name"] == "idle"]
    assert len(idle) >= sum(map(len, record.worker_parked.values())) > 0
    counters: dict[str, list[int]] = {}
    for e in trace["traceEvents"]:
        if e["ph"] == "C":
            counters.setdefault(e["name"], []).append(e["args"]["value"])
    pools = {name: record.pools[pool] for pool, name in
             (("event", "event pool in use"), ("timepoint", "timepoint pool in use"))}
    for name, report in pools.items():
        assert max(counters[name]) == report.peak_in_use > 0  # the core's own statistics
        assert counters[name][-1] == report.in_use_at_end == 0


def test_actions_that_never_ran_and_failure_arrows() -> None:
    sc = load_scenario(ROOT / "examples" / "failure-propagation.json")
    record = run_sim(sc, 0)
    trace = assert_flows_forward(sc, record)
    tracks = names_by_tid(trace)
    by_name = {e["name"]: e for e in slices(trace)}
    x, y = by_name["x never ran"], by_name["y never ran"]
    assert x["args"]["why"] == "failed with ABORTED before it was issued"
    assert tracks[x["tid"]].startswith("q0 deferred")
    def base(tid: int) -> str:
        return tracks[tid].split(" (")[0]

    chain = [(start["name"], base(start["tid"]), base(finish["tid"]))
             for start, finish in flow_pairs(trace, "failure")]
    assert chain == [("W failed: ABORTED", "helper", "q0 deferred"),  # abort -> x
                     ("S failed: ABORTED", "q0 deferred", "q0 deferred"),  # x -> y
                     ("T failed: ABORTED", "q0 deferred", "main")]  # y -> wait-t
    ends = [finish for _, finish in flow_pairs(trace, "failure")]
    assert ends[0]["tid"] == x["tid"] and ends[1]["tid"] == y["tid"]
    assert ends[2]["tid"] == by_name["wait wait-t"]["tid"]


def test_never_submitted_and_cancelled_actions_show() -> None:
    sc = parse_scenario({
        "format": "hipsem/scenario-1", "name": "stuck", "semaphores": {"A": 0, "B": 0},
        "queues": ["q0"],
        "actors": {"main": [
            {"op": "execute", "id": "x", "queue": "q0", "wait": {"A": 1}, "signal": {"B": 1}},
            {"op": "wait", "id": "w", "semaphores": {"B": 1}, "timeout_us": None},
            {"op": "execute", "id": "late", "queue": "q0", "signal": {"A": 1}},
        ]},
    })
    record = run_sim(sc, 0)
    trace = chrome_trace(sc, record)
    assert_well_formed(trace)
    by_name = {e["name"]: e for e in trace["traceEvents"] if e["ph"] in "Xi"}
    assert "CANCELLED at teardown" in by_name["x never ran"]["args"]["why"]
    assert by_name["x never ran"]["ts"] + by_name["x never ran"]["dur"] == \
        pytest.approx(record.sim_time_us, abs=2e-3)
    assert "blocked at w" in by_name["execute late never submitted"]["args"]["why"]
    assert "wait w (PENDING)" in by_name


def test_a_release_before_its_signal_is_marked_not_drawn() -> None:
    sc, run = chain_run()
    run.rec.flows = [Flow("x", "w", "S", 1)]
    run.rec.ops["w"].end_us = 12.0  # w returned before x's work ended (at 15)
    trace = chrome_trace(sc, run.rec)
    assert_well_formed(trace)
    assert flow_pairs(trace) == []
    marks = [e for e in trace["traceEvents"] if e.get("cat") == "violation"]
    assert [(m["name"], m["ts"], m["args"]["signalled_by"]) for m in marks] == [
        ("released before S >= 1", 12.0, "x")]
    run.rec.clock_tolerance_us = 5.0  # within the clock tolerance: no mark, no arrow back
    trace = chrome_trace(sc, run.rec)
    assert_well_formed(trace)
    assert not [e for e in trace["traceEvents"] if e.get("cat") == "violation"]


def test_write_trace_uses_the_c_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """json.dump encodes through the pure-Python `_make_iterencode`; write_trace must not."""
    import json.encoder

    sc = load_scenario(ROOT / "examples" / "fan-out-fan-in.json")
    trace = chrome_trace(sc, run_sim(sc, 0))

    def python_path(*args: object, **kwargs: object) -> object:
        raise AssertionError("the pure-Python JSON encoder was used")

    monkeypatch.setattr(json.encoder, "_make_iterencode", python_path)
    path = tmp_path / "t.json"
    write_trace(path, trace)
    assert json.loads(path.read_text()) == trace
    with pytest.raises(AssertionError, match="pure-Python"), \
            open(tmp_path / "old.json", "w") as f:
        json.dump(trace, f, separators=(",", ":"))


def test_lanes_are_linear_in_overlapping_slices() -> None:
    """Many actions parked at once: one lane each, placed in O(log n) (first fit over
    every lane was quadratic)."""
    from model.scenario.trace import _Lanes

    def place(n: int) -> float:
        lanes = _Lanes()
        start = time.process_time()
        for i in range(n):
            assert lanes.place("q", float(i), float(n + i + 1)) == i  # each overlaps the last
        return time.process_time() - start

    small, large = min(place(2000) for _ in range(3)), min(place(16000) for _ in range(3))
    assert large / small < 8 * 3, (small, large)  # quadratic would be ~64x


def test_blocked_waits_are_marked_with_what_they_wait_for() -> None:
    sc = load_scenario(ROOT / "examples" / "blocked" / "device-cycle.json")
    trace = chrome_trace(sc, run_sim(sc, 0))
    assert_well_formed(trace)
    tracks = names_by_tid(trace)
    marks = {tracks[e["tid"]].split(" (")[0]: e["args"]["why"]
             for e in trace["traceEvents"] if e.get("cat") == "blocked"}
    assert marks["main"] == "main waits for C >= 1, which only execute z signals"
    assert set(marks) == {"main", "q0 deferred", "q1 deferred"}
    assert "which nothing signals" in " ".join(marks.values())
