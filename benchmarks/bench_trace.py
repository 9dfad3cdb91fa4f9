"""Trace building and writing: growth in the size of the run, and the JSON encoder path.

A synthetic record of N executes over 4 queues stands for a large run (the simulation
itself is not measured): every execute is submitted up front and parked (so N parked
spans overlap and need N lanes), waits on its queue's previous execute, runs, retires;
each has its flow arrow, worker issue, completion, pool and semaphore counter events.
For each N the script measures, in the same process:

  * `build`: `chrome_trace(scenario, record)`;
  * `write`: `write_trace` (one event per line, the C encoder);
  * `json.dump`: the same document through `json.dump` (the pure-Python encoder path);

and prints CPU seconds (best of R), µs per event, the ratio json.dump / write side by side, and the
fitted exponent of build + write in N (1.0 is linear; target at most 1.1).

    .venv/bin/python benchmarks/bench_trace.py [--sizes 1000,4000,16000,64000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from typing import Any

from model.scenario.parse import parse_scenario
from model.scenario.record import OpResult, RunRecord, Span, ValueChange
from model.scenario.recorder import derive_flows
from model.scenario.trace import chrome_trace, trace_problems, write_trace
from model.scenario.types import Scenario

QUEUES = 4


def synthetic_run(n: int) -> tuple[Scenario, RunRecord]:
    """A run of `n` executes as a recorder would have filled it (module docstring)."""
    ops: list[dict[str, Any]] = []
    for i in range(n):
        q, k = i % QUEUES, i // QUEUES
        ops.append({"op": "execute", "id": f"x{i}", "queue": f"q{q}",
                    "wait": {f"S{q}": k} if k else {}, "signal": {f"S{q}": k + 1},
                    "duration_us": 2.5})
    last = {f"S{q}": (n - 1 - q) // QUEUES + 1 for q in range(min(n, QUEUES))}
    ops.append({"op": "wait", "id": "w", "semaphores": last, "timeout_us": None})
    scenario = parse_scenario({
        "format": "hipsem/scenario-1", "name": f"bench-{n}",
        "semaphores": {f"S{q}": 0 for q in range(QUEUES)},
        "queues": [f"q{q}" for q in range(QUEUES)], "actors": {"main": ops}})
    record = RunRecord(scenario.name, "sim", 0)
    seq = 0
    pools: dict[str, list[tuple[float, int]]] = {"event": [], "timepoint": []}
    events: list[tuple[float, int]] = []
    timepoints: list[tuple[float, int]] = []
    for i in range(n):
        q, k = i % QUEUES, i // QUEUES
        submit = i * 0.5
        start = 10.0 + n * 0.5 + 3.0 * k + 0.1 * q
        end, launch = start + 2.5, start - 1.0
        r = OpResult(f"x{i}", "main", "execute", status="OK", start_us=start, end_us=end,
                     submit_start_us=submit, submit_us=submit + 0.2, issue_us=launch,
                     retire_us=end + 1.0, finish_us=end + 1.0, submit_seq=seq)
        seq += 1
        record.ops[r.id] = r
        record.launched_us[r.id], record.recorded_us[r.id] = launch, launch + 0.2
        record.spans.append(Span(f"q{q}", r.id, start, end, {"duration_us": 2.5}))
        record.value_log.append(ValueChange(f"S{q}", k + 1, "OK", end + 1.0, seq))
        seq += 1
        timepoints += [(submit, 1), (launch, -1)]
        events += [(launch, 1), (end + 1.0, -1)]
        record.worker_parked.setdefault(f"q{q}", []).append((launch - 2.0, launch - 0.5))
    for name, deltas in (("event", events), ("timepoint", timepoints)):
        level = 0
        for t, d in sorted(deltas):
            level += d
            pools[name].append((t, level))
    record.pool_log = pools
    end_all = 10.0 + n * 0.5 + 3.0 * (n // QUEUES + 1) + 5.0
    record.ops["w"] = OpResult("w", "main", "wait", status="OK", start_us=n * 0.5,
                               end_us=end_all)
    record.sim_time_us = end_all + 1.0
    record.flows = derive_flows(scenario, record)
    return scenario, record


def best(fn: Any, repeat: int) -> float:
    """Best of `repeat` runs, in CPU seconds of this process (`time.process_time`): on a
    shared machine wall time mostly measures the other processes."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,4000,16000,64000",
                    help="executes per run, comma-separated (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="best of R (default 3)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.json")
        for n in sizes:
            scenario, record = synthetic_run(n)
            trace = chrome_trace(scenario, record)
            assert trace_problems(trace) == [], "the synthetic trace is not well formed"
            count = len(trace["traceEvents"])
            build = best(lambda: chrome_trace(scenario, record), args.repeat)  # noqa: B023
            write = best(lambda: write_trace(path, trace), args.repeat)  # noqa: B023

            def dump() -> None:
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(trace, f, separators=(",", ":"), allow_nan=False)  # noqa: B023

            dumped = best(dump, args.repeat)
            rows.append((n, count, build, write, dumped))
    print(f"{'executes':>9} {'events':>9} {'build s':>9} {'write s':>9} {'json.dump s':>12} "
          f"{'dump/write':>11} {'us/event':>9}")
    for n, count, build, write, dumped in rows:
        print(f"{n:>9} {count:>9} {build:>9.3f} {write:>9.3f} {dumped:>12.3f} "
              f"{dumped / write:>11.2f} {(build + write) / count * 1e6:>9.2f}")
    if len(rows) >= 2:
        xs = [math.log(n) for n, *_ in rows]
        ys = [math.log(b + w) for _, _, b, w, _ in rows]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / \
            sum((x - mx) ** 2 for x in xs)
        print(f"fitted exponent of build + write in executes: {slope:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()
