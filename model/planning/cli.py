"""`hipsem plan`: capacity planning of the event and timepoint pools from the command line.

`plan_main(argv)` parses options, checks the output paths (`--out` a folder, created;
`--save-workload` a file name; `model.outpaths`), loads the workload (or imports a trace),
sweeps it on the real core over the SimPy device, prints tables (plain into a pipe,
`model.output`) or JSON with --json, then writes plan.json, plan.csv and PNG plots under
--out and the workload to --save-workload, and returns an exit code:

  0  the plan was made;
  1  the simulation failed (a core invariant broke), or an output could not be written
     (after the tables or JSON were printed: the result is not lost), or the baseline
     overloaded in every run, so no capacity can be recommended (the report, JSON and
     files are still written and say so);
  2  invalid input: the message names the file (or option), field path, bad value and
     what was expected. Never a traceback;
  130 interrupted (Ctrl-C): the runs stop at once (worker processes are terminated) and
      the plan of the capacities whose runs all finished is printed.

`--workers N` / `--scheduler ADDRESS` run the sweep's runs as Dask tasks (docs/
distributed.md); the plan is the same as with `--jobs`. A cluster that cannot be used
exits 2.

Options given on the command line override the workload's `[plan]` section. What-ifs come
from the workload's `what_if` section and from each `--what-if KEY=VALUE[,KEY=VALUE]`.

`demo_plan(console)` runs a small bundled workload in a few seconds (for the README's
main command).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from model.argtypes import cluster_options, timing_file
from model.core.status import HipsemError
from model.outpaths import OutputPathError, output_dir, output_file
from model.output import Output, as_output, output
from model.planning.dump import workload_document
from model.planning.parse import (
    load_workload,
    parse_capacities,
    parse_what_if_text,
    parse_workload,
)
from model.planning.plan import Plan, partial_plans, plan_workload
from model.planning.report import (
    comparison_table,
    plan_csv,
    plan_document,
    pool_table,
    summary_lines,
)
from model.planning.simulate import RunResult
from model.planning.sweep import Job, SweepInterrupted, SweepSpec, default_jobs, jobs_of
from model.planning.validate import Checker, WorkloadError
from model.planning.workload import PlanDefaults, WhatIf, Workload

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "demo_plan", "plan_main"]

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hipsem plan",
        description="How large must the event and timepoint pools be for a workload? "
        "Simulates it on the real core for each capacity and recommends the smallest one "
        "meeting a miss-probability target. See docs/planning.md.",
    )
    p.add_argument("workload", help="workload file (.toml or .json, format hipsem/workload-1) "
                   "or a Chrome/Perfetto trace (.json) to replay")
    p.add_argument("--capacities", metavar="N,N,...",
                   help="pool capacities to sweep (both pools), e.g. 8,16,32,64")
    p.add_argument("--target-miss", metavar="P", help="target miss probability, e.g. 1e-3")
    p.add_argument("--replications", metavar="R", help="independent runs per capacity")
    p.add_argument("--duration-s", metavar="T", help="simulated seconds per run")
    p.add_argument("--warmup-s", metavar="W", help="simulated seconds excluded at the start")
    p.add_argument("--seed", metavar="S", help="seed of replication 0 (replication r: S+r)")
    p.add_argument("--jobs", metavar="J", help="parallel processes (default: CPUs)")
    cluster_options(p, "run the sweep")  # --workers is checked with the other options
    p.add_argument("--what-if", metavar="K=V[,K=V]", action="append", default=[],
                   help="a variant to compare: rate=, duration=, burst=, latency= "
                   "(multipliers), queues= (count), completion=callback|thread; repeatable")
    p.add_argument("--exact-calls", action="store_true",
                   help="charge every device call as its own simulated step (slower; by "
                   "default consecutive calls are charged as one, see docs/planning.md)")
    p.add_argument("--timing", type=timing_file, metavar="FILE",
                   help="timing file (hipsem calibrate --out FILE) under the workload's "
                   "own timing overrides (default: DESIGN.md's figures)")
    p.add_argument("--out", type=Path, metavar="DIR", help="write plan.json, plan.csv, plots "
                   "(a folder, created before the simulation starts)")
    p.add_argument("--no-plots", action="store_true", help="with --out: skip the PNG plots")
    p.add_argument("--json", action="store_true", help="print the JSON report, not tables")
    p.add_argument("--plain", action="store_true",
                   help="plain output even on a terminal (the default into a pipe or file)")
    p.add_argument("--save-workload", type=Path, metavar="PATH",
                   help="also write the (imported) workload as canonical JSON")
    return p


def _option(c: Checker, name: str, raw: str | None, default: Any,
            convert: Callable[[str], Any], check: Callable[[Any, str], Any]) -> Any:
    if raw is None:
        return default
    try:
        value = convert(raw)
    except ValueError:
        c.expect(name, raw, "a number")
    return check(value, name)


def sweep_spec(args: argparse.Namespace, plan: PlanDefaults) -> tuple[SweepSpec, float]:
    """Command-line options over the workload's plan defaults (WorkloadError if invalid)."""
    c = Checker("<command line>")
    caps = plan.capacities if args.capacities is None else parse_capacities(
        c, [_option(c, "--capacities", v.strip(), None, int, lambda x, _: x)
            for v in args.capacities.split(",")], "--capacities")
    spec = SweepSpec(
        capacities=caps,
        replications=_option(c, "--replications", args.replications, plan.replications, int,
                             lambda v, n: c.integer(v, n, 1, 10_000)),
        duration_s=_option(c, "--duration-s", args.duration_s, plan.duration_s, float,
                           lambda v, n: c.number(v, n, positive=True)),
        warmup_s=_option(c, "--warmup-s", args.warmup_s, plan.warmup_s, float,
                         lambda v, n: c.number(v, n)),
        seed=_option(c, "--seed", args.seed, plan.seed, int,
                     lambda v, n: c.integer(v, n, 0, 2**63 - 1)),
        jobs=_option(c, "--jobs", args.jobs, default_jobs(), int,
                     lambda v, n: c.integer(v, n, 1, 1024)),
        coalesce_calls=not getattr(args, "exact_calls", False),
        dask_workers=_option(c, "--workers", getattr(args, "workers", None), None, int,
                             lambda v, n: c.integer(v, n, 1, 1024)),
        scheduler=getattr(args, "scheduler", None),
    )
    if spec.warmup_s >= spec.duration_s:
        c.fail("--warmup-s", f"warm-up {spec.warmup_s} s must be shorter than the run "
               f"({spec.duration_s} s)")
    target = _option(c, "--target-miss", args.target_miss, plan.target_miss, float,
                     lambda v, n: c.number(v, n, hi=1.0, positive=True))
    return spec, target


def _what_ifs(args: argparse.Namespace, workload: Workload) -> list[WhatIf]:
    return [*workload.what_ifs,
            *(parse_what_if_text(t, i) for i, t in enumerate(args.what_if))]


def _progress(err: Console, total: int) -> Progress:
    """A progress bar on stderr; refreshed by hand (no thread, so workers can fork)."""
    return Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("runs"), TimeElapsedColumn(), console=err, transient=True,
                    auto_refresh=False, disable=not err.is_terminal or total < 2)


def _run(workload: Workload, what_ifs: list[WhatIf], spec: SweepSpec, target: float,
         err: Console) -> list[Plan]:
    total = len(jobs_of(spec, 1 + len(what_ifs)))
    with _progress(err, total) as progress:
        task = progress.add_task("sweep", total=total)
        def advance(job: Job, result: RunResult) -> None:
            progress.advance(task)
            progress.refresh()

        return plan_workload(workload, what_ifs, spec, target, advance)


def _where(spec: SweepSpec) -> str:
    if spec.scheduler is not None:
        return f"Dask scheduler {spec.scheduler}"
    if spec.dask_workers is not None:
        return f"{spec.dask_workers} Dask worker process(es)"
    return f"{spec.jobs} process(es)"


def _write_outputs(plans: list[Plan], out: Path, plots: bool, wall_s: float) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "plan.json", out / "plan.csv"]
    files[0].write_text(json.dumps(plan_document(plans, wall_s), indent=2) + "\n")
    files[1].write_text(plan_csv(plans))
    if plots:
        from model.planning.plots import write_plots

        files += write_plots(plans, out)
    return files


def print_plans(console: Console | Output, plans: Sequence[Plan]) -> None:
    show = as_output(console)
    baseline = plans[0]
    for pp in baseline.pools.values():
        show.table(pool_table(baseline, pp))
    for line in summary_lines(baseline):
        show.print(line)
    if len(plans) > 1:
        show.table(comparison_table(plans))


def _complain(err: Console, text: str) -> None:
    """One unwrapped line on stderr (no markup: file names may contain brackets)."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def plan_main(argv: list[str]) -> int:
    """Entry point of `hipsem plan` (see the module docstring); returns the exit code."""
    err = Console(stderr=True)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse printed usage and the problem
        return int(stop.code or 0)
    if args.no_plots and args.out is None:
        _complain(err, "hipsem plan: error: --no-plots only applies with --out DIR (the "
                  "plots are written there; without --out none are)")
        return EXIT_INVALID
    try:
        check_outputs(args)
        workload = load_workload(args.workload, args.timing)
        spec, target = sweep_spec(args, workload.plan)
        what_ifs = _what_ifs(args, workload)
    except (WorkloadError, OutputPathError) as error:
        _complain(err, f"hipsem plan: error: {error}")
        return EXIT_INVALID
    return _plan_and_report(args, workload, what_ifs, spec, target, err)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse unwritable outputs before anything runs: `--out` must be (or become) a
    writable folder, `--save-workload` a writable file name, not a folder
    (OutputPathError, exit 2). Nothing is written here but the folders."""
    if args.out is not None:
        output_dir(args.out, "--out")
    if args.save_workload is not None:
        output_file(args.save_workload, "--save-workload")


def _plan_and_report(args: argparse.Namespace, workload: Workload, what_ifs: list[WhatIf],
                     spec: SweepSpec, target: float, err: Console) -> int:
    started = time.perf_counter()
    try:
        plans = _run(workload, what_ifs, spec, target, err)
    except HipsemError as error:
        _complain(err, f"hipsem plan: failed: {error}")
        return EXIT_FAILED
    except SweepInterrupted as stop:
        return _interrupted(args, workload, what_ifs, spec, target, stop, err,
                            time.perf_counter() - started)
    except KeyboardInterrupt:
        _complain(err, "hipsem plan: interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        from model.distributed import ClusterError

        if isinstance(error, ClusterError):
            _complain(err, f"hipsem plan: error: {error}")
            return EXIT_INVALID
        raise
    wall_s = time.perf_counter() - started
    if args.json:
        print(json.dumps(plan_document(plans, wall_s), indent=2))
    else:
        show = output(args.plain)
        print_plans(show, plans)
        show.print(f"{len(jobs_of(spec, len(plans)))} runs, "
                   f"{sum(p.acquisitions for p in plans):,} pool acquisitions simulated in "
                   f"{wall_s:.1f} s ({_where(spec)}).")
    try:  # after the result is printed: a write that fails loses nothing
        files = _write_outputs(plans, args.out, not args.no_plots, wall_s) if args.out else []
        if args.save_workload is not None:
            args.save_workload.write_text(json.dumps(workload_document(workload), indent=2))
            files.append(args.save_workload)
    except OSError as error:
        _complain(err, f"hipsem plan: failed: cannot write an output: {error}")
        return EXIT_FAILED
    for f in files:
        err.print(f"wrote {f}", highlight=False)
    if plans[0].always_overloaded:
        _complain(err, "hipsem plan: no plan: the workload overloaded the simulated queues "
                  "in every run (see the report)")
        return EXIT_FAILED
    return EXIT_OK


def _interrupted(args: argparse.Namespace, workload: Workload, what_ifs: list[WhatIf],
                 spec: SweepSpec, target: float, stop: SweepInterrupted, err: Console,
                 wall_s: float) -> int:
    """Ctrl-C: say how far the sweep got and show the plan of the finished capacities."""
    total = len(jobs_of(spec, 1 + len(what_ifs)))
    plans = partial_plans(workload, what_ifs, spec, target, stop.done)
    finished = list(plans[0].spec.capacities) if plans else []
    _complain(err, f"hipsem plan: interrupted after {len(stop.done)} of {total} runs "
              f"({wall_s:.1f} s); capacities finished: "
              f"{', '.join(map(str, finished)) or 'none'}")
    if plans:
        if args.json:
            document = plan_document(plans, wall_s)
            document["interrupted"] = {"runs": len(stop.done), "of": total,
                                       "capacities_finished": finished}
            print(json.dumps(document, indent=2))
        else:
            print_plans(output(args.plain), plans)
    return EXIT_INTERRUPTED


# ----------------------------------------------------------------------------- demo

DEMO_WORKLOAD: dict[str, Any] = {
    "format": "hipsem/workload-1",
    "name": "demo: serving + periodic bursts",
    "description": "Poisson requests (a fan-out of 3 across queues) plus a burst of 12 "
                   "single kernels every 2 ms, on 4 queues.",
    "queues": 4,
    "kernels": {"gemm": {"kind": "lognormal", "median_us": 60, "sigma": 0.6},
                "small": {"kind": "exponential", "mean_us": 15}},
    "graphs": {
        "request": {"shape": "fan", "width": 3, "kernel": "gemm", "root_kernel": "small",
                    "join_kernel": "small", "spread": True},
        "burst": {"shape": "single", "kernel": "small"},
    },
    "processes": [
        {"name": "requests", "graph": "request", "queue_offset": "round-robin",
         "arrivals": {"kind": "poisson", "rate_hz": 1500}},
        {"name": "bursts", "graph": "burst", "queue_offset": "round-robin",
         "arrivals": {"kind": "burst", "size": 12, "period_us": 2000}},
    ],
    "plan": {"capacities": [4, 8, 16, 32], "replications": 2, "duration_s": 0.25},
}


def demo_plan(console: Console | Output, jobs: int | None = None) -> list[Plan]:
    """Plan the bundled demo workload (a few seconds on 2 cores) and print a short table."""
    workload = parse_workload(DEMO_WORKLOAD, "<demo>")
    plan = workload.plan
    spec = SweepSpec(plan.capacities, plan.replications, plan.duration_s, seed=plan.seed,
                     jobs=min(2, default_jobs()) if jobs is None else jobs)
    plans = plan_workload(workload, [], spec, plan.target_miss)
    show = as_output(console)
    show.print(f"[bold]Capacity plan[/] for {workload.name}: {workload.description}")
    show.table(pool_table(plans[0], plans[0].pools["event"]))
    for line in summary_lines(plans[0]):
        show.print(line)
    return plans


def main() -> None:  # pragma: no cover - convenience for `python -m model.planning.cli`
    sys.exit(plan_main(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    main()
