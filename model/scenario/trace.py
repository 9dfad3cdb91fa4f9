"""Chrome Trace Event JSON of a run, for ui.perfetto.dev (or chrome://tracing).

`chrome_trace(scenario, record)` returns `{"traceEvents": [...], "displayTimeUnit": "ns"}`:

  * one process, "hipsem" (pid 1), with one thread track per record span track (streams,
    host threads, ...), per host actor, and the "host-function thread"; each named by a
    `thread_name` metadata event and ordered by `thread_sort_index`. Slices of one track
    that overlap without nesting go to extra lanes, "<track> (2)", ... (Perfetto requires
    the slices of one thread to nest);
  * complete slices ("X") for the record's spans, for each host op (`"<op> <id>"`, from
    its call to its return; a call that never returned runs to the end of the run and is
    marked PENDING) and an instant ("i") at each execute's submit;
  * the work of an execute is the span whose `args["op"]` (or name) is its id; when the
    device reported none, a slice on track "stream <queue>" is made from the op's times;
  * one counter ("C") per semaphore: its initial value at ts 0, then each host-visible
    advance of `record.value_log`; failures are instants on a "semaphore failures" track;
  * one flow arrow ("s" -> "f", `bp: "e"`, same id) per `record.flows`, from the signalling
    slice (execute work or host signal) to the released slice (execute work or host wait).

Invariants: `ts`/`dur` are microseconds >= 0 rounded to 3 decimals; every flow start has
exactly one finish with the same id and both lie inside the slices they bind to; the same
record always gives the same event list. `trace_problems(trace)` checks these rules.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

from model.scenario.record import HOST_FUNCTION_TRACK, PENDING, OpResult, RunRecord
from model.scenario.types import Execute, Scenario

__all__ = ["HOST_FUNCTION_TRACK", "chrome_trace", "trace_problems", "write_trace"]

PID = 1
PROCESS = "hipsem"
FAILURE_TRACK = "semaphore failures"
_EPS = 1e-6  # µs; float noise of ts + dur after rounding to 3 decimals

_REQUIRED: dict[str, tuple[str, ...]] = {
    "M": ("name", "ph", "pid", "args"),
    "X": ("name", "ph", "ts", "dur", "pid", "tid"),
    "i": ("name", "ph", "ts", "pid", "tid", "s"),
    "C": ("name", "ph", "ts", "pid", "args"),
    "s": ("name", "ph", "ts", "pid", "tid", "id", "cat"),
    "f": ("name", "ph", "ts", "pid", "tid", "id", "cat", "bp"),
}


def _us(t: float) -> float:
    return round(max(0.0, float(t)), 3)


def _jsonable(value: object) -> object:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


@dataclass(frozen=True, slots=True)
class _Slice:
    tid: int
    start: float
    end: float

    def inside(self) -> float:
        """A timestamp inside the slice (its middle), for binding flow events."""
        return _us(self.start + (self.end - self.start) / 2)


@dataclass(slots=True)
class _Request:
    """A slice to place: lanes are assigned once every request is known."""

    track: str
    name: str
    start: float
    end: float
    cat: str
    args: dict[str, Any]
    key: str | None  # op id whose flows bind to this slice


class _Lanes:
    """Splits a track into lanes so that slices on one lane nest properly (Perfetto drops
    partially overlapping slices of one thread). Lane 0 keeps the track's name."""

    def __init__(self) -> None:
        self.open: dict[str, list[list[float]]] = {}  # track -> per lane, open slice ends

    def place(self, track: str, start: float, end: float) -> int:
        lanes = self.open.setdefault(track, [])
        for i, stack in enumerate(lanes):
            while stack and stack[-1] <= start:
                stack.pop()
            if not stack or end <= stack[-1]:
                stack.append(end)
                return i
        lanes.append([end])
        return len(lanes) - 1


class _Builder:
    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.scenario = scenario
        self.record = record
        self.events: list[dict[str, Any]] = []
        self.tracks: list[str] = []  # base tracks, in display order
        self.tids: dict[tuple[str, int], int] = {}  # (track, lane) -> tid
        self.requests: list[_Request] = []
        self.slices: dict[str, _Slice] = {}  # op id -> the slice flows bind to
        self.executes = [op for _, _, op in scenario.ops() if isinstance(op, Execute)]
        self.work_spans = self._work_spans()

    # -- tracks ------------------------------------------------------------------------

    def track(self, name: str) -> None:
        if name not in self.tracks:
            self.tracks.append(name)

    def tid(self, track: str, lane: int = 0) -> int:
        self.track(track)
        return self.tids.setdefault((track, lane), len(self.tids) + 1)

    def declare_tracks(self) -> None:
        actors = set(self.scenario.actors)
        for span in self.record.spans:
            if span.track not in actors and span.track != HOST_FUNCTION_TRACK:
                self.track(span.track)
        for x in self.executes:
            r = self.record.ops.get(x.id)
            if r is not None and r.start_us is not None and x.id not in self.work_spans:
                self.track(f"stream {x.queue}")
        for actor in self.scenario.actors:
            self.track(actor)
        self.track(HOST_FUNCTION_TRACK)

    def metadata(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {"name": "process_name", "ph": "M", "pid": PID, "args": {"name": PROCESS}}
        ]
        for track in self.tracks:
            self.tid(track)  # every declared track shows, even when empty
        for (track, lane), tid in sorted(self.tids.items(), key=lambda kv: kv[1]):
            name = track if lane == 0 else f"{track} ({lane + 1})"
            order = self.tracks.index(track) * 100 + lane
            common = {"ph": "M", "pid": PID, "tid": tid}
            out.append({"name": "thread_name", **common, "args": {"name": name}})
            out.append({"name": "thread_sort_index", **common, "args": {"sort_index": order}})
        return out

    # -- slices ------------------------------------------------------------------------

    def slice(self, req: _Request) -> None:
        self.track(req.track)
        self.requests.append(req)

    def place_slices(self) -> None:
        lanes = _Lanes()
        order = sorted(
            range(len(self.requests)),
            key=lambda i: (self.requests[i].start, -self.requests[i].end, i),
        )
        for i in order:
            req = self.requests[i]
            tid = self.tid(req.track, lanes.place(req.track, req.start, req.end))
            self.events.append(
                {
                    "name": req.name,
                    "cat": req.cat,
                    "ph": "X",
                    "ts": req.start,
                    "dur": round(req.end - req.start, 3),
                    "pid": PID,
                    "tid": tid,
                    "args": {k: _jsonable(v) for k, v in req.args.items()},
                }
            )
            if req.key is not None:
                self.slices[req.key] = _Slice(tid, req.start, req.end)

    def request(
        self,
        track: str,
        name: str,
        times: tuple[float, float],
        cat: str,
        args: dict[str, Any],
        key: str | None = None,
    ) -> None:
        start, end = _us(times[0]), _us(max(times))
        self.slice(_Request(track, name, start, end, cat, args, key))

    def _work_spans(self) -> dict[str, int]:
        """Op id -> index of its work span: `args["op"]` matches, else the span's name."""
        ids = {x.id for x in self.executes}
        by_arg: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for i, span in enumerate(self.record.spans):
            op = span.args.get("op")
            if isinstance(op, str) and op in ids:
                by_arg.setdefault(op, i)
            if span.name in ids:
                by_name.setdefault(span.name, i)
        return by_name | by_arg

    def spans(self) -> None:
        work = {i: op_id for op_id, i in self.work_spans.items()}
        for i, span in enumerate(self.record.spans):
            times = (span.start_us, span.end_us)
            self.request(span.track, span.name, times, "device", span.args, work.get(i))

    def synthesized_work(self) -> None:
        for x in self.executes:
            r = self.record.ops.get(x.id)
            if x.id in self.work_spans or r is None or r.start_us is None:
                continue
            end = r.end_us if r.end_us is not None else self.record.sim_time_us
            args = {"op": x.id, "status": r.status}
            name = f"execute {x.id}"
            self.request(f"stream {x.queue}", name, (r.start_us, end), "device", args, x.id)

    def host_ops(self) -> None:
        for actor, _, op in self.scenario.ops():
            r = self.record.ops.get(op.id)
            if r is None:
                continue
            if isinstance(op, Execute):
                self.submit_instant(actor, op.id, r)
            elif r.start_us is not None:
                self.host_slice(actor, f"{op.op} {op.id}", op.id, r)

    def submit_instant(self, actor: str, op_id: str, r: OpResult) -> None:
        if r.submit_us is None:
            return
        self.events.append(
            {
                "name": f"execute {op_id}",
                "cat": "host",
                "ph": "i",
                "s": "t",
                "ts": _us(r.submit_us),
                "pid": PID,
                "tid": self.tid(actor),
                "args": {"status": r.status},
            }
        )

    def host_slice(self, actor: str, name: str, op_id: str, r: OpResult) -> None:
        assert r.start_us is not None
        end = r.end_us
        if end is None or r.status == PENDING:
            name, end = f"{name} (PENDING)", max(self.record.sim_time_us, r.start_us)
        args: dict[str, Any] = {"status": r.status}
        if r.value is not None:
            args["value"] = r.value
        if r.message:
            args["message"] = r.message
        self.request(actor, name, (r.start_us, end), "host", args, op_id)

    # -- counters, failures, flows -----------------------------------------------------

    def counters(self) -> None:
        for s, initial in self.scenario.semaphores.items():
            self.counter(s, 0.0, initial)
        for ch in sorted(self.record.value_log, key=lambda c: c.seq):
            if ch.status == "OK":
                self.counter(ch.semaphore, ch.time_us, ch.value)
            else:
                self.failure(ch.semaphore, ch.status, ch.time_us)

    def counter(self, semaphore: str, t: float, value: int) -> None:
        self.events.append(
            {"name": semaphore, "ph": "C", "ts": _us(t), "pid": PID, "args": {"value": value}}
        )

    def failure(self, semaphore: str, status: str, t: float) -> None:
        self.events.append(
            {
                "name": f"{semaphore} failed: {status}",
                "cat": "semaphore",
                "ph": "i",
                "s": "t",
                "ts": _us(t),
                "pid": PID,
                "tid": self.tid(FAILURE_TRACK),
            }
        )

    def flows(self) -> None:
        for n, flow in enumerate(self.record.flows, start=1):
            src, dst = self.slices.get(flow.source), self.slices.get(flow.target)
            if src is None or dst is None:
                continue
            common = {"name": f"{flow.semaphore} >= {flow.value}", "cat": "flow", "pid": PID}
            self.events.append(common | {"ph": "s", "id": n, "tid": src.tid, "ts": src.inside()})
            self.events.append(
                common | {"ph": "f", "bp": "e", "id": n, "tid": dst.tid, "ts": dst.inside()}
            )

    def build(self) -> dict[str, Any]:
        self.declare_tracks()
        self.spans()
        self.synthesized_work()
        self.host_ops()
        self.place_slices()
        self.counters()
        self.flows()
        return {"traceEvents": self.metadata() + self.events, "displayTimeUnit": "ns"}


def chrome_trace(scenario: Scenario, record: RunRecord) -> dict[str, Any]:
    """The Chrome Trace Event document of one run (see the module docstring)."""
    return _Builder(scenario, record).build()


def write_trace(path: str | os.PathLike[str], trace: dict[str, Any]) -> None:
    """Write a trace as compact JSON (open the file in ui.perfetto.dev)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(trace, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")


# --------------------------------------------------------------------------- validation


def _event_problems(i: int, e: dict[str, Any]) -> list[str]:
    ph = e.get("ph")
    if ph not in _REQUIRED:
        return [f"event {i}: unknown phase {ph!r}"]
    out = [f"event {i} ({ph}): missing {k!r}" for k in _REQUIRED[ph] if k not in e]
    for key in ("ts", "dur"):
        v = e.get(key)
        if key in e and (not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
            out.append(f"event {i} ({ph}): {key} {v!r} is not a number >= 0")
    return out


def _binds(e: dict[str, Any], slices: list[dict[str, Any]]) -> bool:
    return any(s["tid"] == e["tid"] and s["ts"] <= e["ts"] <= s["ts"] + s["dur"] for s in slices)


def _flow_problems(events: list[dict[str, Any]]) -> list[str]:
    starts = [e for e in events if e.get("ph") == "s"]
    finishes = [e for e in events if e.get("ph") == "f"]
    out: list[str] = []
    ids_s, ids_f = [e.get("id") for e in starts], [e.get("id") for e in finishes]
    if sorted(map(str, ids_s)) != sorted(map(str, ids_f)) or len(set(ids_s)) != len(ids_s):
        out.append(f"flow starts {ids_s} and finishes {ids_f} do not pair up one to one")
    slices = [e for e in events if e.get("ph") == "X"]
    for e in starts + finishes:
        if not _binds(e, slices):
            out.append(f"flow {e.get('ph')} {e.get('id')} at {e.get('ts')} is inside no slice")
    return out


def _nesting_problems(events: list[dict[str, Any]]) -> list[str]:
    """Complete slices of one thread must nest (or follow each other)."""
    by_tid: dict[Any, list[tuple[float, float, str]]] = {}
    for e in events:
        if e.get("ph") == "X":
            by_tid.setdefault(e["tid"], []).append((e["ts"], -e["dur"], e["name"]))
    out: list[str] = []
    for tid, slices in by_tid.items():
        stack: list[tuple[float, str]] = []
        for ts, neg_dur, name in sorted(slices):
            while stack and stack[-1][0] <= ts + _EPS:
                stack.pop()
            if stack and ts - neg_dur > stack[-1][0] + _EPS:
                out.append(f"tid {tid}: slice {name!r} overlaps {stack[-1][1]!r} without nesting")
            stack.append((ts - neg_dur, name))
    return out


def trace_problems(trace: dict[str, Any]) -> list[str]:
    """Structural problems of a Chrome trace document (empty when well formed): missing
    keys, bad times, unpaired or unbound flows, slices of one thread that do not nest."""
    events = trace.get("traceEvents")
    if not isinstance(events, list):
        return ["traceEvents is not a list"]
    out = [p for i, e in enumerate(events) for p in _event_problems(i, e)]
    return out or _flow_problems(events) + _nesting_problems(events)
