"""Benchmark of campaigns and sweeps on Dask (`--workers N`), measured side by side.

  fuzz   a clean-core campaign of --examples examples (shards of --shard-size) in this
         process, then on a LocalCluster of 1 and of 2 worker processes (cluster start-up
         excluded, measured separately); examples/s each and the scaling efficiency
         (examples/s with 2 workers) / (2 x examples/s with 1 worker).
  plan   one sweep of --workload (its capacities x --replications, --duration-s each)
         with --jobs 1, --jobs 2 and on 2 Dask workers (cluster start-up included, as a
         user sees it).

Every figure of one run is measured in the same run, so the ratios hold on a loaded
machine even when the absolute numbers do not.

Usage:
  .venv/bin/python benchmarks/bench_distributed.py              # about a minute
  .venv/bin/python benchmarks/bench_distributed.py --quick      # a few seconds of work
  .venv/bin/python benchmarks/bench_distributed.py --json out/bench-distributed.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.distributed import connected  # noqa: E402
from model.fuzz.campaign import CampaignConfig  # noqa: E402
from model.fuzz.distributed import run_distributed  # noqa: E402
from model.fuzz.shards import plan_shards, run_local  # noqa: E402
from model.planning.parse import load_workload  # noqa: E402
from model.planning.sweep import SweepSpec, run_sweep  # noqa: E402


def fuzz_figures(examples: int, shard_size: int) -> dict[str, Any]:
    config = CampaignConfig(examples=examples)
    shards = plan_shards(examples, 0, shard_size)
    t0 = time.perf_counter()
    here = run_local(config, shards, shard_size=shard_size)
    figures: dict[str, Any] = {"examples": examples, "shard_size": shard_size,
                               "in_process_s": time.perf_counter() - t0}
    assert here.examples == examples
    for workers in (1, 2):
        t0 = time.perf_counter()
        with connected(workers=workers) as cluster:
            figures[f"startup_{workers}_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            there = run_distributed(cluster, config, shards, shard_size)
            figures[f"workers_{workers}_s"] = time.perf_counter() - t1
        assert there.examples == examples and not there.findings
    figures["in_process_per_s"] = examples / figures["in_process_s"]
    for workers in (1, 2):
        figures[f"workers_{workers}_per_s"] = examples / figures[f"workers_{workers}_s"]
    figures["efficiency_2"] = figures["workers_2_per_s"] / (2 * figures["workers_1_per_s"])
    return figures


def plan_figures(workload_path: str, replications: int, duration_s: float) -> dict[str, Any]:
    workload = load_workload(workload_path)
    spec = SweepSpec(workload.plan.capacities, replications, duration_s, seed=0, jobs=1)
    runs = len(spec.capacities) * replications
    figures: dict[str, Any] = {"workload": workload_path, "runs": runs,
                               "duration_s": duration_s}
    for label, variant in (("jobs_1", spec), ("jobs_2", replace(spec, jobs=2)),
                           ("dask_2", replace(spec, dask_workers=2))):
        t0 = time.perf_counter()
        run_sweep([workload], variant)
        figures[f"{label}_s"] = time.perf_counter() - t0
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--examples", type=int, default=None)
    p.add_argument("--shard-size", type=int, default=250)
    p.add_argument("--workload", default=str(ROOT / "examples/workloads/poisson.toml"))
    p.add_argument("--replications", type=int, default=None)
    p.add_argument("--duration-s", type=float, default=None)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    examples = args.examples or (1000 if args.quick else 8000)
    fuzz = fuzz_figures(examples, args.shard_size)
    plan = plan_figures(args.workload, args.replications or (2 if args.quick else 4),
                        args.duration_s or (0.02 if args.quick else 0.1))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {cores} core(s), load average {load:.2f} at the end")
    print(f"fuzz, {fuzz['examples']} clean-core examples in shards of {fuzz['shard_size']}:")
    print(f"  this process       {fuzz['in_process_s']:7.2f} s  "
          f"{fuzz['in_process_per_s']:8.0f} examples/s")
    for w in (1, 2):
        print(f"  {w} Dask worker(s)   {fuzz[f'workers_{w}_s']:7.2f} s  "
              f"{fuzz[f'workers_{w}_per_s']:8.0f} examples/s   (cluster start-up "
              f"{fuzz[f'startup_{w}_s']:.2f} s, not counted)")
    print(f"  scaling efficiency with 2 workers: {fuzz['efficiency_2']:.2f}")
    print(f"plan, {plan['runs']} runs of {plan['duration_s']} s ({Path(plan['workload']).name}):")
    for label, text in (("jobs_1", "--jobs 1"), ("jobs_2", "--jobs 2"),
                        ("dask_2", "--workers 2 (Dask, start-up included)")):
        print(f"  {text:<40} {plan[f'{label}_s']:7.2f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"fuzz": fuzz, "plan": plan, "cores": cores,
                                         "load": load}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
