"""Benchmarks of capacity planning (`hipsem plan`): simulation speed of the real core.

Two measurements (targets from issue 5):
  throughput  one run on one core, long enough for --acquisitions pool acquisitions
              (event + timepoint pools), for each --workload; reports wall and CPU
              seconds, acquisitions/s, actions/s and SimPy events per action.
              Target: 1,000,000 acquisitions in <= 5 s.
  sweep       a 16-capacity x 10-replication sweep with --jobs processes (target: <= 30 s
              on 2 cores) of --sweep-workload, --sweep-duration-s simulated seconds per run.

Usage:
  .venv/bin/python benchmarks/bench_planning.py                 # full (about a minute)
  .venv/bin/python benchmarks/bench_planning.py --quick         # 100k acquisitions
  .venv/bin/python benchmarks/bench_planning.py --json out.json # also write the figures

Timings depend on the machine and on what else runs on it: the CPU seconds are the
steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.planning.parse import load_workload  # noqa: E402
from model.planning.plan import plan_workload  # noqa: E402
from model.planning.simulate import PlanningRun  # noqa: E402
from model.planning.sweep import SweepSpec  # noqa: E402

WORKLOADS = ("examples/workloads/poisson.toml", "examples/workloads/serving.toml")
CALIBRATION_S = 0.05


def _run(path: str, duration_s: float, capacity: int = 32) -> dict[str, Any]:
    workload = load_workload(ROOT / path)
    run = PlanningRun(workload, capacity, seed=1)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run.run(duration_s)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    events = next(run.env._eid)  # SimPy's event counter: events scheduled so far
    acq = result.acquisitions
    return {"workload": path, "simulated_s": duration_s, "acquisitions": acq,
            "actions": result.actions, "wall_s": wall, "cpu_s": cpu,
            "acquisitions_per_s": acq / cpu, "actions_per_s": result.actions / cpu,
            "events_per_action": events / max(1, result.actions),
            "us_per_event": cpu * 1e6 / max(1, events)}


def throughput(path: str, acquisitions: int) -> dict[str, Any]:
    """One run long enough for `acquisitions` (duration calibrated by a short run)."""
    probe = _run(path, CALIBRATION_S)
    duration = CALIBRATION_S * acquisitions / max(1, probe["acquisitions"]) * 1.1
    return _run(path, duration)


def sweep(path: str, duration_s: float, jobs: int) -> dict[str, Any]:
    workload = load_workload(ROOT / path)
    spec = SweepSpec(tuple(range(1, 17)), 10, duration_s, seed=0, jobs=jobs)
    wall, cpu = time.perf_counter(), time.process_time()
    plans = plan_workload(workload, [], spec, 1e-3)
    wall = time.perf_counter() - wall
    return {"workload": path, "capacities": 16, "replications": 10, "jobs": jobs,
            "simulated_s_per_run": duration_s, "acquisitions": plans[0].acquisitions,
            "wall_s": wall, "cpu_s_in_runs": plans[0].run_wall_s,
            "main_process_cpu_s": time.process_time() - cpu}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    """One column per measured case, one row per figure."""
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    for row in rows:
        table.add_column(Path(str(row["workload"])).name, justify="right")
    for key in rows[0]:
        if key != "workload":
            table.add_row(key, *(_cell(row[key]) for row in rows))
    return table


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--acquisitions", type=int, default=1_000_000)
    p.add_argument("--workload", action="append", help="throughput workload(s)")
    p.add_argument("--sweep-workload", default="examples/workloads/poisson.toml")
    p.add_argument("--sweep-duration-s", type=float, default=0.05)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="100k acquisitions, short sweep")
    p.add_argument("--json", type=Path, help="write the figures to this file")
    args = p.parse_args()
    acquisitions = 100_000 if args.quick else args.acquisitions
    console = Console()
    console.print(f"cpus available: {len(os.sched_getaffinity(0))}; load average "
                  f"{os.getloadavg()[0]:.1f}")
    rows = [throughput(w, acquisitions) for w in args.workload or WORKLOADS]
    console.print(_table(f"throughput: one core, >= {acquisitions:,} acquisitions", rows))
    duration = args.sweep_duration_s / (5 if args.quick else 1)
    sweeps = [sweep(args.sweep_workload, duration, args.jobs)]
    console.print(_table("sweep: 16 capacities x 10 replications", sweeps))
    if args.json:
        args.json.write_text(json.dumps({"throughput": rows, "sweep": sweeps}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
