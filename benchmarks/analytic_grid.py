"""The analytic check over a grid: Poisson single-kernel workloads, 1..64 queues,
utilizations 0.1..0.9, both completion modes.

Each cell is a workload with one Poisson process per queue (fixed queue offsets, so the
queues are independent), exponential kernels of mean 30 µs, and the rate that puts the
*bottleneck* stream at the cell's utilization: the kernel stream in thread mode, the
callback stream (one host callback per ~101 µs) in callback mode. It is planned with
`plan_workload` at the capacities where the chosen model predicts a fixed-pool miss
probability near 0.3 and 0.02, and the script prints, per cell, the model the report
names and how many (pool, capacity) points have the printed analytic value inside the
simulated 95% interval. `--round-robin` plans one process split round-robin instead
(M/G/inf at light load, "none applies" once streams queue).

    .venv/bin/python benchmarks/analytic_grid.py                       # the whole grid
    .venv/bin/python benchmarks/analytic_grid.py --queues 1,4 --rho 0.3,0.9 --jobs 2

Exit status 1 if a model that claims to apply misses an interval, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from model.planning.models import choose, predict
from model.planning.parse import parse_workload
from model.planning.plan import Plan, plan_workload
from model.planning.sweep import SweepSpec
from model.planning.workload import Workload

KERNEL_US = 30.0
CALLBACK_US = 101.0  # host-callback latency 100 µs + host-function body 1 µs
MAX_ACTIONS = 120_000  # per replication: bounds a cell's cost


def grid_workload(queues: int, rho: float, completion: str, round_robin: bool = False,
                  kernel: dict[str, Any] | None = None) -> Workload:
    """The cell's workload (see the module docstring)."""
    per_queue_hz = rho / (KERNEL_US if completion == "thread" else CALLBACK_US) * 1e6
    law = kernel or {"kind": "exponential", "mean_us": KERNEL_US}
    procs = ([{"name": "p", "graph": "one", "queue_offset": "round-robin",
               "arrivals": {"kind": "poisson", "rate_hz": per_queue_hz * queues}}]
             if round_robin else
             [{"name": f"p{q}", "graph": "one", "queue_offset": q,
               "arrivals": {"kind": "poisson", "rate_hz": per_queue_hz}}
              for q in range(queues)])
    return parse_workload({
        "format": "hipsem/workload-1", "name": f"grid-q{queues}-rho{rho:g}-{completion}",
        "queues": queues, "completion": completion,
        "kernels": {"k": law}, "graphs": {"one": {"shape": "single", "kernel": "k"}},
        "processes": procs,
    })


def capacities(w: Workload) -> tuple[int, ...]:
    """Where the model predicts ~0.3 and ~0.02 (a few small ones when none applies)."""
    choice = choose(w)
    pred = predict(choice, "event", 1.0, 1.2, 2.0) if choice.queueing else None
    if pred is None:
        return (1, 2, 4)
    picks = []
    for level in (0.3, 0.02):
        n = next(n for n in range(1, 10_000) if pred.seen_at_least(n) <= level)
        picks.append(n)
    return tuple(sorted(set(picks)))


def seconds(w: Workload, rho: float, completion: str) -> tuple[float, float]:
    """(duration, warm-up): ~40 relaxation times of the bottleneck, capped in actions."""
    service = KERNEL_US if completion == "thread" else CALLBACK_US
    relax_us = service / (1 - rho ** 0.5) ** 2
    rate = sum(p.arrivals.rate_hz for p in w.processes if p.arrivals is not None)
    duration = min(max(0.05, 40 * relax_us / 1e6), MAX_ACTIONS / rate)
    warmup = min(duration / 3, max(5 * relax_us / 1e6, 0.005))
    return duration + warmup, warmup


def run_cell(queues: int, rho: float, completion: str, replications: int, jobs: int,
             seed: int, round_robin: bool) -> dict[str, Any]:
    w = grid_workload(queues, rho, completion, round_robin)
    caps = capacities(w)
    duration, warmup = seconds(w, rho, completion)
    started = time.perf_counter()
    prior = choose(w)
    if not prior.applies:  # decided from the workload alone: nothing to simulate
        return {"queues": queues, "rho": rho, "completion": completion,
                "round_robin": round_robin, "model": prior.name,
                "reasons": list(prior.reasons), "capacities": [], "duration_s": 0.0,
                "warmup_s": 0.0, "inside": None, "points": 0, "detail": [], "wall_s": 0.0}
    plan: Plan = plan_workload(w, [], SweepSpec(caps, replications, duration, warmup, seed,
                                                jobs), 1e-3)[0]
    points = [p for pp in plan.pools.values() for p in pp.points]
    inside = sum(bool(p.agrees) for p in points)
    return {
        "queues": queues, "rho": rho, "completion": completion, "round_robin": round_robin,
        "model": plan.model.name, "reasons": list(plan.model.reasons),
        "capacities": list(caps), "duration_s": duration, "warmup_s": warmup,
        "inside": inside if plan.analytic else None, "points": len(points),
        "detail": [(p.pool, p.capacity, p.analytic, p.fixed_miss.lo, p.fixed_miss.mean,
                    p.fixed_miss.hi, p.acquires) for p in points],
        "wall_s": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", default="1,4,16,64")
    ap.add_argument("--rho", default="0.1,0.3,0.5,0.7,0.9")
    ap.add_argument("--completion", default="thread,callback")
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--round-robin", action="store_true")
    ap.add_argument("--json", help="write the cells here")
    args = ap.parse_args(argv)
    cells, bad = [], 0
    for completion in args.completion.split(","):
        for q in (int(x) for x in args.queues.split(",")):
            for rho in (float(x) for x in args.rho.split(",")):
                cell = run_cell(q, rho, completion, args.replications, args.jobs,
                                args.seed, args.round_robin)
                cells.append(cell)
                verdict = ("none applies: " + "; ".join(cell["reasons"])
                           if cell["inside"] is None
                           else f"{cell['inside']}/{cell['points']} inside")
                bad += cell["inside"] is not None and cell["inside"] < cell["points"]
                print(f"{completion:8} Q={q:<3} rho={rho:<4} N={cell['capacities']} "
                      f"{cell['model']}: {verdict} ({cell['wall_s']:.0f} s)", flush=True)
                if cell["inside"] is not None and cell["inside"] < cell["points"]:
                    for d in cell["detail"]:
                        print(f"    {d[0]} N={d[1]} analytic {d[2]:.4g} sim {d[4]:.4g} "
                              f"[{d[3]:.4g}, {d[5]:.4g}] ({d[6]} acquires)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(cells, f, indent=1)
    print(f"{len(cells)} cells, {bad} with a point outside its interval")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
