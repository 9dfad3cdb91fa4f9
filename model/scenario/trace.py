"""Chrome Trace Event JSON of a run, for ui.perfetto.dev (or chrome://tracing).

`chrome_trace(scenario, record)` returns `{"traceEvents": [...], "displayTimeUnit": "ns"}`
(docs/trace.md shows what a runtime engineer sees). One process, "hipsem" (pid 1), with
thread tracks in this order, each named by a `thread_name` metadata event and ordered by
`thread_sort_index`:

  * per queue, `<queue> deferred`: one slice per submitted execute from its submit call
    to the device's launch of its work (`parked <id>`, or `queued <id>` when it waited on
    nothing); an action whose work never ran is `<id> never ran` up to when the core said
    it finished (failed or cancelled), else to the end of the run, with the reason in
    `args.why` (`checker.not_run`);
  * per queue, `<queue> worker`: `idle` slices while the platform saw the worker parked
    waiting for work (`record.worker_parked`), and `issue <id>` from the device's launch
    call to the return of the record_event that followed it;
  * the record's span tracks (streams and their waits, callback streams), or
    `stream <queue>` slices synthesized from an execute's device times when the device
    reported no span for it;
  * per queue, `<queue> completion`: `retire <id> (claim)` from the end of the work on
    the device to when the core said it retired the action (a claim);
  * one track per host actor (`"<op> <id>"` slices from call to return; a call that never
    returned runs to the end, marked `(PENDING)`; an instant at each execute's submit, and
    `execute <id> never submitted` at the end when the actor never got there), the
    `host-function thread`, and `semaphore failures` (instants, the core's claims);
  * a `blocked` instant at the end of each blocked host wait and parked execute, with
    what it waits for in `args.why` (`model.scenario.blocked`).

Counters ("C"): per semaphore `<S> signalled` (ground truth: the highest value a host
signal call had returned with or a device work that signals it had finished, by then)
and `<S> value (claim)` (the host-visible value the core reported, `record.value_log`);
`event pool in use` and `timepoint pool in use` from `record.pool_log` (the core's use
of its pools as the recorder saw it; the device cannot observe pool occupancy).

Flow arrows ("s" -> "f", `bp: "e"`, same id), all built from ground-truth times:
  * `<S> >= <v>` (cat "flow"), per `record.flows`: from the moment the signal happened
    (a host signal's return, the end of device work) to the moment the wait was released
    (a host wait's return, the start of device work). A release that ground truth puts
    before its signal, beyond the clock tolerance, gets no arrow but an instant
    `released before <S> >= <v>` (cat "violation") on the released slice; an "any" wait
    released by another semaphore gets nothing for the ones it did not need.
  * `<S> failed: <code>` (cat "failure"): from a host `fail` call (its return), or from a
    failed action that signals S (the end of its `never ran` slice), to each action that
    failed waiting on S (its slice's end) and each host wait that returned the failure.

Invariants: `ts`/`dur` are microseconds >= 0 rounded to 3 decimals; every flow start has
exactly one finish with the same id, both lie inside the slices they bind to, and the
finish is not earlier than the start; the same record always gives the same event list;
building is O(n log n) in the record's size. `trace_problems(trace)` checks these rules.
`write_trace` writes one event per line with the C JSON encoder.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import heapq
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from model.scenario.blocked import explain_blocked
from model.scenario.checker import not_run
from model.scenario.record import HOST_FUNCTION_TRACK, PENDING, OpResult, RunRecord
from model.scenario.types import Execute, Fail, Scenario, Signal, Wait, WaitMode

__all__ = ["HOST_FUNCTION_TRACK", "chrome_trace", "trace_problems", "write_trace"]

PID = 1
PROCESS = "hipsem"
FAILURE_TRACK = "semaphore failures"
POOL_COUNTERS = {"event": "event pool in use", "timepoint": "timepoint pool in use"}
_EPS = 1e-6  # µs; float noise of ts + dur after rounding to 3 decimals
_NUDGE = 0.001  # µs; flow ends sit this far inside a slice's edge (unambiguous binding)
_NEST_LANES = 8  # lanes tried for nesting before the lowest free lane is taken
_CHUNK = 4096  # events per write

_REQUIRED: dict[str, tuple[str, ...]] = {
    "M": ("name", "ph", "pid", "args"),
    "X": ("name", "ph", "ts", "dur", "pid", "tid"),
    "i": ("name", "ph", "ts", "pid", "tid", "s"),
    "C": ("name", "ph", "ts", "pid", "args"),
    "s": ("name", "ph", "ts", "pid", "tid", "id", "cat"),
    "f": ("name", "ph", "ts", "pid", "tid", "id", "cat", "bp"),
}

Key = tuple[str, str]  # ("op", id): an op's slice; ("park", id): its deferred slice


def _us(t: float) -> float:
    return round(max(0.0, float(t)), 3)


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (str, int, bool)):
        return value
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


def _failed(status: str | None) -> bool:
    return status is not None and status not in ("OK", PENDING)


@dataclass(frozen=True, slots=True)
class _Slice:
    tid: int
    start: float
    end: float

    def at(self, t: float) -> float:
        """`t` clamped into the slice, kept `_NUDGE` inside its edges when it is wide
        enough (Perfetto binds a flow end to the slice that encloses it)."""
        t = min(max(_us(t), self.start), self.end)
        if self.end - self.start >= 2 * _NUDGE:
            t = min(max(t, round(self.start + _NUDGE, 3)), round(self.end - _NUDGE, 3))
        return t


@dataclass(slots=True)
class _Request:
    """A slice to place: lanes are assigned once every request is known."""

    track: str
    name: str
    start: float
    end: float
    cat: str
    args: dict[str, Any]
    key: Key | None  # what flows bind to this slice


class _Lanes:
    """Splits a track into lanes so that slices on one lane nest properly (Perfetto drops
    partially overlapping slices of one thread). Lane 0 keeps the track's name.

    Slices come sorted by (start, -end). A slice nests into the first of the lowest
    `_NEST_LANES` lanes whose innermost open slice encloses it, or goes to the lowest lane
    whose slices have all ended, whichever is lower; else a new lane opens. O(log n) per
    slice (first fit over every lane was O(lanes))."""

    def __init__(self) -> None:
        self.stacks: dict[str, list[list[float]]] = {}  # per lane, open slice ends
        self.busy: dict[str, list[tuple[float, int]]] = {}  # heap (outermost end, lane)
        self.free: dict[str, list[int]] = {}  # heap of lanes with nothing open

    def place(self, track: str, start: float, end: float) -> int:
        stacks = self.stacks.setdefault(track, [])
        busy, free = self.busy.setdefault(track, []), self.free.setdefault(track, [])
        while busy and busy[0][0] <= start:
            _, lane = heapq.heappop(busy)
            stacks[lane].clear()
            heapq.heappush(free, lane)
        nest = None
        for lane in range(min(_NEST_LANES, len(stacks))):
            stack = stacks[lane]
            while stack and stack[-1] <= start:
                stack.pop()
            if stack and end <= stack[-1]:
                nest = lane
                break
        if nest is not None and (not free or nest < free[0]):
            stacks[nest].append(end)
            return nest
        if free:
            lane = heapq.heappop(free)
        else:
            lane = len(stacks)
            stacks.append([])
        stacks[lane].append(end)
        heapq.heappush(busy, (end, lane))
        return lane


def _window(op: object, r: OpResult) -> tuple[float, float]:
    """When the effect of a signalling op happened, on ground truth: during a host call
    (start .. return), at the end of an execute's device work."""
    assert r.end_us is not None
    if isinstance(op, Execute) or r.start_us is None:
        return r.end_us, r.end_us
    return r.start_us, r.end_us


class _Builder:
    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.scenario = scenario
        self.record = record
        self.events: list[dict[str, Any]] = []
        self.tracks: dict[str, int] = {}  # base track -> display position
        self.tids: dict[tuple[str, int], int] = {}  # (track, lane) -> tid
        self.requests: list[_Request] = []
        self.slices: dict[Key, _Slice] = {}
        self.ops = scenario.op_by_id()
        self.executes = [op for _, _, op in scenario.ops() if isinstance(op, Execute)]
        self.work_spans = self._work_spans()
        self.not_run = not_run(scenario, record)
        self.tolerance = max(0.0, record.clock_tolerance_us) \
            + max(0.0, record.scheduling_tolerance_us) + _EPS
        self.flow_ids = 0

    # -- tracks ------------------------------------------------------------------------

    def track(self, name: str) -> None:
        self.tracks.setdefault(name, len(self.tracks))

    def tid(self, track: str, lane: int = 0) -> int:
        self.track(track)
        return self.tids.setdefault((track, lane), len(self.tids) + 1)

    def declare_tracks(self) -> None:
        actors = set(self.scenario.actors)
        for q in self.scenario.queues:
            self.track(f"{q} deferred")
            self.track(f"{q} worker")
        for span in self.record.spans:
            if span.track not in actors and span.track != HOST_FUNCTION_TRACK:
                self.track(span.track)
        for x in self.executes:
            r = self.record.ops.get(x.id)
            if r is not None and r.start_us is not None and x.id not in self.work_spans:
                self.track(f"stream {x.queue}")
        for q in self.scenario.queues:
            self.track(f"{q} completion")
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
            order = self.tracks[track] * 100 + lane
            common = {"ph": "M", "pid": PID, "tid": tid}
            out.append({"name": "thread_name", **common, "args": {"name": name}})
            out.append({"name": "thread_sort_index", **common, "args": {"sort_index": order}})
        return out

    # -- slices ------------------------------------------------------------------------

    def place_slices(self) -> None:
        lanes = _Lanes()
        requests = self.requests
        order = sorted(range(len(requests)),
                       key=lambda i: (requests[i].start, -requests[i].end, i))
        for i in order:
            req = requests[i]
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
        key: Key | None = None,
    ) -> None:
        start, end = _us(times[0]), _us(max(times))
        self.track(track)
        self.requests.append(_Request(track, name, start, end, cat, args, key))

    def instant(self, track: str, name: str, t: float, cat: str,
                args: dict[str, Any] | None = None, tid: int | None = None) -> None:
        event: dict[str, Any] = {"name": name, "cat": cat, "ph": "i", "s": "t", "ts": _us(t),
                                 "pid": PID, "tid": self.tid(track) if tid is None else tid}
        if args:
            event["args"] = {k: _jsonable(v) for k, v in args.items()}
        self.events.append(event)

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
            op_id = work.get(i)
            times = (span.start_us, span.end_us)
            key: Key | None = ("op", op_id) if op_id is not None else None
            self.request(span.track, span.name, times, "device", span.args, key)

    def synthesized_work(self) -> None:
        for x in self.executes:
            r = self.record.ops.get(x.id)
            if x.id in self.work_spans or r is None or r.start_us is None:
                continue
            end = r.end_us if r.end_us is not None else self.record.sim_time_us
            args = {"op": x.id, "status": r.status}
            name = f"execute {x.id}"
            self.request(f"stream {x.queue}", name, (r.start_us, end), "device", args,
                         ("op", x.id))

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
            why = self.not_run.get(op_id)
            if why is not None:
                self.instant(actor, f"execute {op_id} never submitted", self.record.sim_time_us,
                             "host", {"why": why})
            return
        args: dict[str, Any] = {"status": r.status}
        if r.submit_status is not None:
            args["rejected"] = r.submit_status
        self.instant(actor, f"execute {op_id}", r.submit_us, "host", args)

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
        self.request(actor, name, (r.start_us, end), "host", args, ("op", op_id))

    # -- the deferred queue: parked spans, worker and completion tracks ----------------

    def deferred(self) -> None:
        record = self.record
        for x in self.executes:
            r = record.ops.get(x.id)
            if r is None or r.submit_status is not None:
                continue
            submitted = r.submit_start_us if r.submit_start_us is not None else r.submit_us
            if submitted is None:
                continue
            waits = ", ".join(f"{s} >= {v}" for s, v in x.wait.items())
            args: dict[str, Any] = {"op": x.id, "waits": waits or "nothing",
                                    "status": r.status}
            issued = record.launched_us.get(x.id)
            if issued is None and r.start_us is not None:
                issued = r.start_us  # work observed, its launch call not
            if issued is not None:
                name = f"parked {x.id}" if x.wait else f"queued {x.id}"
                args["parked_us"] = round(max(0.0, issued - submitted), 3)
                end = issued
            else:
                name = f"{x.id} never ran"
                args["why"] = self.not_run.get(x.id, "never issued")
                end = r.finish_us if r.finish_us is not None else record.sim_time_us
                if r.finish_us is not None:
                    args["finished_us (claim)"] = round(r.finish_us, 3)
            self.request(f"{x.queue} deferred", name, (submitted, end), "deferred", args,
                         ("park", x.id))

    def workers(self) -> None:
        record = self.record
        for q, intervals in record.worker_parked.items():
            for start, end in intervals:
                self.request(f"{q} worker", "idle", (start, end), "worker",
                             {"observed": "worker parked waiting for work (platform)"})
        for x in self.executes:
            launched = record.launched_us.get(x.id)
            if launched is None:
                continue
            recorded = record.recorded_us.get(x.id, launched)
            self.request(f"{x.queue} worker", f"issue {x.id}", (launched, recorded), "worker",
                         {"op": x.id, "observed": "launch_work .. record_event (device)"})

    def completions(self) -> None:
        for x in self.executes:
            r = self.record.ops.get(x.id)
            if r is None or r.end_us is None or r.retire_us is None:
                continue
            self.request(f"{x.queue} completion", f"retire {x.id} (claim)",
                         (r.end_us, r.retire_us), "claim",
                         {"op": x.id, "claim": "the core said it retired the action at the "
                          "end of this slice; it starts when the device finished the work"})

    # -- counters ----------------------------------------------------------------------

    def counter(self, name: str, t: float, value: int) -> None:
        self.events.append({"name": name, "ph": "C", "ts": _us(t), "pid": PID,
                            "args": {"value": value}})

    def counters(self) -> None:
        for s, initial in self.scenario.semaphores.items():
            self.counter(f"{s} signalled", 0.0, initial)
        for s, t, value in self._signalled():
            self.counter(f"{s} signalled", t, value)
        for s, initial in self.scenario.semaphores.items():
            self.counter(f"{s} value (claim)", 0.0, initial)
        for ch in sorted(self.record.value_log, key=lambda c: c.seq):
            if ch.status == "OK":
                self.counter(f"{ch.semaphore} value (claim)", ch.time_us, ch.value)
            else:
                self.instant(FAILURE_TRACK, f"{ch.semaphore} failed: {ch.status}", ch.time_us,
                             "claim")
        for pool in sorted(self.record.pool_log):
            name = POOL_COUNTERS.get(pool, f"{pool} pool in use")
            self.counter(name, 0.0, 0)
            for t, n in self.record.pool_log[pool]:
                self.counter(name, t, n)

    def _signalled(self) -> list[tuple[str, float, int]]:
        """(semaphore, time, value) each time ground truth raised a semaphore's highest
        signalled value: host signal returns (OK) and the ends of device work."""
        reached: list[tuple[float, str, int]] = []
        for _, _, op in self.scenario.ops():
            r = self.record.ops.get(op.id)
            if r is None or r.end_us is None:
                continue
            if isinstance(op, Signal) and r.status == "OK":
                reached.append((r.end_us, op.semaphore, op.value))
            elif isinstance(op, Execute) and r.start_us is not None:
                reached.extend((r.end_us, s, v) for s, v in op.signal.items())
        reached.sort()
        best = dict(self.scenario.semaphores)
        out = []
        for t, s, v in reached:
            if v > best.get(s, 0):
                best[s] = v
                out.append((s, t, v))
        return out

    # -- flows -------------------------------------------------------------------------

    def arrow(self, name: str, cat: str, src: _Slice, ts_s: float, dst: _Slice,
              ts_f: float) -> None:
        self.flow_ids += 1
        common = {"name": name, "cat": cat, "pid": PID, "id": self.flow_ids}
        self.events.append(common | {"ph": "s", "tid": src.tid, "ts": ts_s})
        self.events.append(common | {"ph": "f", "bp": "e", "tid": dst.tid, "ts": ts_f})

    def forward(self, name: str, cat: str, src: _Slice, window: tuple[float, float],
                dst: _Slice, t_dst: float) -> bool:
        """Draw an arrow from `src` to `dst` at `t_dst`, forward in time. The cause
        happened at some time in `window` (a host call's start and return: its effect may
        show before the call returns; device work: its end, twice). The arrow starts as
        late in the window as the release allows. False when ground truth puts the
        release before the window by more than the clock tolerance (nothing drawn);
        within the tolerance an arrow that cannot be drawn forward is left out."""
        lo, hi = window
        if t_dst < lo - self.tolerance:
            return False
        ts_s = src.at(min(hi, max(lo, t_dst)))
        ts_f = dst.at(max(t_dst, ts_s))
        if ts_f < ts_s:  # the release is at the very end of its slice: start earlier
            ts_s = src.at(ts_f)
        if ts_f >= ts_s:
            self.arrow(name, cat, src, ts_s, dst, ts_f)
        return True

    def release_flows(self) -> None:
        ops, record = self.ops, self.record
        for flow in record.flows:
            src, dst = self.slices.get(("op", flow.source)), self.slices.get(("op", flow.target))
            rs, rt = record.ops.get(flow.source), record.ops.get(flow.target)
            if src is None or dst is None or rs is None or rt is None or rs.end_us is None:
                continue
            target = ops[flow.target][1]
            if isinstance(target, Wait):
                if rt.status != "OK" or rt.end_us is None:
                    continue  # not released (timed out, failed or still waiting)
                released = rt.end_us
            elif rt.start_us is not None:
                released = rt.start_us
            else:
                continue
            name = f"{flow.semaphore} >= {flow.value}"
            if self.forward(name, "flow", src, _window(ops[flow.source][1], rs), dst, released):
                continue
            if isinstance(target, Wait) and target.mode is WaitMode.ANY:
                continue  # released by another of its semaphores
            self.instant("", f"released before {name}", released, "violation",
                         {"signalled_by": flow.source, "signalled_us": round(rs.end_us, 3)},
                         tid=dst.tid)

    def failure_flows(self) -> None:
        """Failure propagation, from ground truth where it exists: host fail calls and
        host waits' results; a failed action's failure time is the core's claim."""
        record = self.record
        # semaphore -> (window of the failure, slice key) of each failure of it
        sources: dict[str, list[tuple[tuple[float, float], Key]]] = {}
        targets: list[tuple[Key, float, Iterable[str], str]] = []
        for _, _, op in self.scenario.ops():
            r = record.ops.get(op.id)
            if r is None:
                continue
            if isinstance(op, Fail) and r.status == "OK" and r.end_us is not None:
                sources.setdefault(op.semaphore, []).append((_window(op, r), ("op", op.id)))
            elif isinstance(op, Execute) and r.start_us is None and _failed(r.status) \
                    and r.submit_status is None and r.finish_us is not None \
                    and op.id not in record.teardown.statuses:
                for s in op.signal:
                    sources.setdefault(s, []).append(((r.finish_us,) * 2, ("park", op.id)))
                targets.append((("park", op.id), r.finish_us, op.wait, r.status))
            elif isinstance(op, Wait) and _failed(r.status) and r.status != "DEADLINE_EXCEEDED" \
                    and r.end_us is not None:
                targets.append((("op", op.id), r.end_us, op.semaphores, r.status))
        for found in sources.values():
            found.sort()
        for key, t, semaphores, code in targets:
            dst = self.slices.get(key)
            if dst is None:
                continue
            for s in semaphores:
                candidates = sources.get(s, [])
                i = bisect.bisect_right(candidates, ((t + self.tolerance, math.inf), ("~", "~")))
                for window, src_key in candidates[:i]:
                    src = self.slices.get(src_key)
                    if src is not None and src_key != key:
                        self.forward(f"{s} failed: {code}", "failure", src, window, dst, t)
                        break

    def blocked(self) -> None:
        """An instant at the end of the run on each blocked actor and parked execute,
        saying what it waits for (model/scenario/blocked.py)."""
        blocked = explain_blocked(self.scenario, self.record)
        if blocked is None:
            return
        why: dict[tuple[str, str], list[str]] = {}
        for w in blocked["waits"]:
            kind = "park" if w["who"].startswith("execute ") else "op"
            why.setdefault((kind, w["op"]), []).append(w["why"])
        for key, reasons in why.items():
            found = self.slices.get(key)
            if found is not None:
                self.instant("", "blocked", found.end, "blocked", {"why": "; ".join(reasons)},
                             tid=found.tid)

    def build(self) -> dict[str, Any]:
        self.declare_tracks()
        self.spans()
        self.synthesized_work()
        self.host_ops()
        self.deferred()
        self.workers()
        self.completions()
        self.place_slices()
        self.blocked()
        self.counters()
        self.release_flows()
        self.failure_flows()
        return {"traceEvents": self.metadata() + self.events, "displayTimeUnit": "ns"}


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building and writing allocate hundreds of
    thousands of acyclic dicts, and the collections they trigger cost as much again on
    large runs (measured by benchmarks/bench_trace.py). Reference counting still frees
    everything; the collector resumes (if it was on) when the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def chrome_trace(scenario: Scenario, record: RunRecord) -> dict[str, Any]:
    """The Chrome Trace Event document of one run (see the module docstring)."""
    with _gc_paused():
        return _Builder(scenario, record).build()


def write_trace(path: str | os.PathLike[str], trace: dict[str, Any]) -> None:
    """Write a trace as compact JSON, one event per line (open it in ui.perfetto.dev).

    Each chunk of events is encoded by the C encoder (`JSONEncoder.encode`; `json.dump`
    would take the pure-Python path); the text equals `json.loads` of the document."""
    encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    events = trace.get("traceEvents", [])
    rest = {k: v for k, v in trace.items() if k != "traceEvents"}
    with _gc_paused(), open(path, "w", encoding="utf-8") as f:
        f.write('{"traceEvents":[\n')
        for i in range(0, len(events), _CHUNK):
            text = ",\n".join(map(encode, events[i:i + _CHUNK]))
            f.write(text if i == 0 else ",\n" + text)
        f.write("\n]")
        for k, v in rest.items():
            f.write(f",{encode(k)}:{encode(v)}")
        f.write("}\n")


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


class _SliceIndex:
    """Per tid, slices sorted by start, with the running maximum of their ends: "is t
    inside some slice of tid" in O(log n)."""

    def __init__(self, slices: list[dict[str, Any]]) -> None:
        by_tid: dict[Any, list[tuple[float, float]]] = {}
        for s in slices:
            by_tid.setdefault(s["tid"], []).append((s["ts"], s["ts"] + s["dur"]))
        self.starts: dict[Any, list[float]] = {}
        self.max_end: dict[Any, list[float]] = {}
        for tid, spans in by_tid.items():
            spans.sort()
            self.starts[tid] = [a for a, _ in spans]
            ends, best = [], -math.inf
            for _, b in spans:
                best = max(best, b)
                ends.append(best)
            self.max_end[tid] = ends

    def binds(self, tid: Any, ts: float) -> bool:
        starts = self.starts.get(tid)
        if not starts:
            return False
        i = bisect.bisect_right(starts, ts + _EPS) - 1
        return i >= 0 and self.max_end[tid][i] >= ts - _EPS


def _flow_problems(events: list[dict[str, Any]]) -> list[str]:
    starts = [e for e in events if e.get("ph") == "s"]
    finishes = [e for e in events if e.get("ph") == "f"]
    out: list[str] = []
    ids_s, ids_f = [e.get("id") for e in starts], [e.get("id") for e in finishes]
    if sorted(map(str, ids_s)) != sorted(map(str, ids_f)) or len(set(ids_s)) != len(ids_s):
        out.append(f"flow starts {ids_s} and finishes {ids_f} do not pair up one to one")
    index = _SliceIndex([e for e in events if e.get("ph") == "X"])
    for e in starts + finishes:
        if not index.binds(e["tid"], e["ts"]):
            out.append(f"flow {e.get('ph')} {e.get('id')} at {e.get('ts')} is inside no slice")
    start_at = {str(e.get("id")): e for e in starts}
    for e in finishes:
        s = start_at.get(str(e.get("id")))
        if s is not None and e["ts"] < s["ts"]:
            out.append(f"flow {e.get('id')} {e.get('name')!r} goes backward in time: "
                       f"starts at {s['ts']}, ends at {e['ts']}")
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
    keys, bad times, unpaired, unbound or backward flows, slices of one thread that do
    not nest."""
    events = trace.get("traceEvents")
    if not isinstance(events, list):
        return ["traceEvents is not a list"]
    out = [p for i, e in enumerate(events) for p in _event_problems(i, e)]
    return out or _flow_problems(events) + _nesting_problems(events)
