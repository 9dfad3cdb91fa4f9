"""Simulated executes per wall-second, next to raw SimPy timeouts per second.

Both are measured in the same run, on one core, so their ratio is meaningful on any
machine: it says how many SimPy timeouts one execute through the real core costs.

The workload: `--executes` executes spread over 4 queues, each waiting on its queue's
previous execute and on a cross-queue semaphore (wait-before-signal, submitted in
batches of 8 ahead of their producers), with a host wait per batch. Every execute goes
through the whole core: scan, bind, worker issue, record, host-function completion.

    .venv/bin/python benchmarks/bench_sim.py [--executes 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import simpy

from model.scenario.checker import check
from model.scenario.parse import parse_scenario
from model.sim.runner import run_sim


def workload(executes: int, queues: int = 4, batch: int = 8) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    for start in range(0, executes, batch):
        group = range(start, min(start + batch, executes))
        for i in reversed(group):  # consumers submitted before producers
            q = i % queues
            wait = {f"S{q}": i // queues} if i >= queues else {}
            if i >= 1:
                wait[f"S{(i - 1) % queues}"] = max(wait.get(f"S{(i - 1) % queues}", 0),
                                                   (i - 1) // queues + 1)
            ops.append({"op": "execute", "id": f"x{i}", "queue": f"q{q}", "wait": wait,
                        "signal": {f"S{q}": i // queues + 1}, "duration_us": 5})
        last = group[-1]
        ops.append({"op": "wait", "id": f"w{last}",
                    "semaphores": {f"S{last % queues}": last // queues + 1}})
    return {"format": "hipsem/scenario-1", "name": "bench",
            "queues": [f"q{q}" for q in range(queues)],
            "semaphores": {f"S{q}": 0 for q in range(queues)}, "actors": {"main": ops}}


def simpy_timeouts_per_second(n: int) -> float:
    env = simpy.Environment()

    def proc() -> Any:
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t0)


def executes_per_second(executes: int, with_checker: bool) -> float:
    scenario = parse_scenario(workload(executes))
    t0 = time.perf_counter()
    record = run_sim(scenario, seed=1)
    if with_checker:
        assert not check(scenario, record)
    assert all(r.status == "OK" for r in record.ops.values())
    return executes / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executes", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for _ in range(args.repeat):
        raw = simpy_timeouts_per_second(args.executes * 10)
        core = executes_per_second(args.executes, with_checker=False)
        checked = executes_per_second(args.executes, with_checker=True)
        rows.append((raw, core, checked))
    best = max(rows, key=lambda r: r[1])
    raw, core, checked = best
    print(f"raw SimPy timeouts/s          {raw:12.0f}")
    print(f"simulated executes/s          {core:12.0f}")
    print(f"executes/s incl. checker      {checked:12.0f}")
    print(f"ratio timeouts per execute    {raw / core:12.1f}")
    print(f"(best of {args.repeat}, {args.executes} executes per run)")


if __name__ == "__main__":
    main()
