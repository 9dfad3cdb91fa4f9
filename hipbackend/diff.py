"""`hipsem diff`: run scenarios on the SimPy and HIP backends and compare the outcomes.

For each scenario the SimPy backend runs under `SIM_SEEDS` seeds (half of them with
`THREAD_TIMING_FIELDS`, a timing as uneven as real threads) and the HIP backend once
(again, up to `CONFIRM_RUNS` times, when something disagrees); every run is checked by
the checker, and the runs are compared item by item on
everything the scenario determines (`outcomes`): each op's status, each query's value,
the set of values each semaphore showed on the host (its value log), each semaphore's
final state before and after teardown, each pool's balance (created == destroyed, none in
use at the end), and per queue the issue, stream and completion orders.

Which items are racy is MEASURED, not inferred: an item is "racy" iff the SimPy runs
disagree on it among themselves, or the HIP runs do; then the HIP outcome may be
anything. Otherwise the HIP outcome must equal the SimPy outcome, else the item is a
DISAGREEment. A disagreement is reported only once it repeated in every HIP run: on a
loaded machine a thread can stall for tens of milliseconds, so one HIP run can show an
order the SimPy runs do not explore; a wrong model or a wrong backend disagrees every
time (tests/hardware/test_broken_backends.py). (The checker's
analysis allows more than one outcome for many items; that is what the checker judges
each run by, not what two backends running the same scenario may differ on.)

Scenarios must make device order observable: `device_observable` stretches device work
to milliseconds (long against the HIP backend's per-call overhead, a few hundred µs on
the CPU runtime) and scales timeouts and sleeps with it, so that a consumer that does not
really wait on the device starts visibly before its producer ended. `--generated N`
scenarios are always stretched; scenario files only with `--observable`.

SimPy runs have no simulated-time limit unless `--limit S` is given; a scenario whose
SimPy run reaches it is not compared (nor run on the HIP backend) and is reported as
"limit reached".

Output: one line per scenario (how many items agree, are racy, DISAGREE) and a table of
only the disagreeing items, since a table of everything that agrees is noise; `--full`
prints every item's table, `--json` every item as JSON.

`--workers N` / `--scheduler ADDRESS` compare the scenarios as Dask tasks
(`hipbackend.distributed_diff`); the outcome is the same.

Exit codes: 0 all agree and no run has a violation; 1 a disagreement or a violation; 2
invalid input, no usable HIP runtime (the message says what is missing) or an unusable
cluster; 4 no disagreement or violation, but a scenario's SimPy run reached `--limit`;
130 interrupted (the comparisons finished so far are printed).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from model.argtypes import cluster_options, int_at_least, sim_limit, timing_file
from model.output import Output, output
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.scenario.record import RunRecord
from model.scenario.types import Execute, Op, Query, Scenario, Sleep, Wait
from model.sim.timing import Timing

SIM_SEEDS = 12  # SimPy runs per scenario; an item is racy iff they disagree
CONFIRM_RUNS = 2  # further HIP runs that must repeat a disagreement before it is reported
# Half of them run with THREAD_TIMING instead of the default timing: real threads start
# and interleave far less evenly than the default model assumes (every cost drawn from
# [0, 2x] its base instead of +-10%), a worker thread may issue up to a GIL switch
# interval (5 ms) late while an actor thread runs Python, and host functions start up to
# ~1 ms after the device reached them (measured, docs/hardware.md). Without it, races of
# two actors on one semaphore, or of an actor against a worker, look determined.
THREAD_TIMING_FIELDS: dict[str, float] = {
    "jitter": 1.0, "launch_work_max_us": 5000.0, "callback_latency_us": 500.0}
# device_observable: every execute's work lasts at least MIN_WORK_US (the HIP backend's
# submit-to-launch overhead is about 0.2 ms, at most ~1 ms, on the CPU runtime; see
# docs/hardware.md), durations, timeouts and sleeps are multiplied by SCALE.
MIN_WORK_US = 5000.0
SCALE = 50.0
# Host-side times (timeouts other than polls, sleeps) are multiplied by HOST_SCALE, at
# most HOST_CAP_US: the HIP backend's threads start ~0.2 ms apart and wake up to a few ms
# late, so host events the SimPy model separates by microseconds must be milliseconds
# apart on the HIP backend.
HOST_SCALE = 1000.0
HOST_CAP_US = 250_000.0
# The THREAD_TIMING runs also start each actor up to START_SKEW_US late (seeded): real
# actor threads start a few hundred µs apart (measured ~0.25 ms on the CPU runtime),
# while the SimPy model starts every actor at t = 0, so a race between two actors' first
# ops would otherwise look determined.
START_SKEW_US = 2000.0

RunHip = Callable[[Scenario, int], RunRecord]


@dataclass(slots=True)
class Comparison:
    """The outcome of running one scenario on both backends."""

    scenario: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # what, sim, hip, verdict
    violations: dict[str, list[str]] = field(default_factory=dict)  # backend -> messages
    limit_reached_us: float | None = None  # a SimPy run reached --limit: not compared

    @property
    def disagreements(self) -> int:
        return sum(row[3] == "DISAGREE" for row in self.rows)

    @property
    def ok(self) -> bool:
        return (not self.disagreements and not any(self.violations.values())
                and self.limit_reached_us is None)

    @property
    def failed(self) -> bool:
        """A disagreement or a violation (a reached limit is neither)."""
        return bool(self.disagreements or any(self.violations.values()))

    def to_json(self) -> dict[str, Any]:
        out = {"scenario": self.scenario, "ok": self.ok, "disagreements": self.disagreements,
               "violations": self.violations,
               "rows": [dict(zip(("item", "sim", "hip", "verdict"), r, strict=True))
                        for r in self.rows]}
        if self.limit_reached_us is not None:
            out["limit_reached_us"] = self.limit_reached_us
        return out


def _state(state: tuple[int, str] | None) -> str:
    return "missing" if state is None else f"{state[0]} {state[1]}"


def _shown(record: RunRecord, semaphore: str) -> str:
    """The values `semaphore` showed on the host (value log) and its failure, if any."""
    values = sorted({c.value for c in record.value_log
                     if c.semaphore == semaphore and c.status == "OK"})
    failures = [c.status for c in sorted(record.value_log, key=lambda c: c.seq)
                if c.semaphore == semaphore and c.status != "OK"]
    text = "{" + ", ".join(map(str, values)) + "}"
    return text + (f" failed {failures[0]}" if failures else "")


def outcomes(scenario: Scenario, record: RunRecord) -> dict[str, str]:
    """Every compared item of one run, in a stable order (docs/hardware.md lists them)."""
    out: dict[str, str] = {}
    ops = [op for _, _, op in scenario.ops()]
    for op in ops:
        r = record.ops.get(op.id)
        out[f"op {op.id}"] = r.status if r is not None else "missing"
    for op in ops:
        if isinstance(op, Query):
            r = record.ops.get(op.id)
            out[f"query {op.id}"] = str(r.value) if r is not None else "missing"
    for s in scenario.semaphores:
        out[f"values {s}"] = _shown(record, s)
        out[f"semaphore {s}"] = _state(record.semaphores.get(s))
        out[f"teardown {s}"] = _state(record.teardown.semaphores.get(s))
    for name in ("event", "timepoint"):
        p = record.pools.get(name)
        out[f"pool {name}"] = ("missing" if p is None else "balanced"
                               if p.created == p.destroyed and p.in_use_at_end == 0 else
                               f"created {p.created}, destroyed {p.destroyed}, "
                               f"in use {p.in_use_at_end}")
    for q in scenario.queues:
        for what in ("issue_order", "stream_order", "completion_order"):
            order: dict[str, list[str]] = getattr(record, what)
            out[f"{what} {q}"] = " ".join(order.get(q, [])) or "-"
    return out


def compare(scenario: Scenario, sim: RunRecord | Sequence[RunRecord],
            hip: RunRecord | Sequence[RunRecord]) -> Comparison:
    """Compare the HIP run(s) with the SimPy run(s) of the same scenario (module docstring).

    An item is racy when either side saw more than one outcome; otherwise it agrees or
    DISAGREEs. With one record per side nothing is measured racy: every item must agree."""
    sims = [sim] if isinstance(sim, RunRecord) else list(sim)
    hips = [hip] if isinstance(hip, RunRecord) else list(hip)
    if not sims or not hips:
        raise ValueError("compare needs at least one SimPy record and one HIP record")
    sim_items = [outcomes(scenario, r) for r in sims]
    hip_items = [outcomes(scenario, r) for r in hips]
    result = Comparison(scenario.name)
    for item in hip_items[0]:
        seen = Counter(items[item] for items in sim_items)
        observed = Counter(items.get(item, "(absent)") for items in hip_items)
        theirs = " | ".join(value for value, _ in observed.most_common())
        if len(seen) == 1 and len(observed) == 1:
            mine = next(iter(seen))
            verdict = "agree" if mine == theirs else "DISAGREE"
        else:
            mine = " | ".join(value for value, _ in seen.most_common())
            verdict = "racy"
        result.rows.append((item, mine, theirs, verdict))
    result.violations = {"sim": _violations(scenario, sims, True),
                         "hip": _violations(scenario, hips, len(hips) > 1)}
    return result


def _violations(scenario: Scenario, records: Sequence[RunRecord], seeds: bool) -> list[str]:
    """Every distinct violation the checker finds in `records` (with the run's seed)."""
    out: list[str] = []
    for record in records:
        for v in check(scenario, record):
            message = f"{v.property} {v.op}: {v.message}" + (
                f" (seed {record.seed})" if seeds else "")
            if message not in out:
                out.append(message)
    return out


def sim_records(scenario: Scenario, seed: int = 0, runs: int = SIM_SEEDS,
                limit_us: float | None = None,
                timing: Timing | None = None) -> list[RunRecord]:
    """The SimPy runs `diff` measures raciness with: seeds seed .. seed + runs - 1, the
    even ones with the default timing (or `timing`, a calibration), the odd ones with
    THREAD_TIMING_FIELDS over it (each figure at least the base's); each stopped at
    `limit_us` of simulated time if given (`record.limit_reached_us`)."""
    from model.sim.runner import run_sim

    base = timing or Timing()
    thread = {k: max(v, float(getattr(base, k))) for k, v in THREAD_TIMING_FIELDS.items()}
    timings = (base, replace(base, **thread))
    records = []
    for k in range(runs):
        if k % 2 == 0:
            records.append(run_sim(scenario, seed + k, timing=timings[0], limit_us=limit_us))
        else:
            skewed, extra = _skewed_start(scenario, seed + k)
            record = run_sim(skewed, seed + k, timing=timings[1], limit_us=limit_us)
            for op_id in extra:
                record.ops.pop(op_id, None)
            records.append(record)
    return records


def _skewed_start(scenario: Scenario, seed: int) -> tuple[Scenario, list[str]]:
    """`scenario` with each actor starting after a seeded sleep of up to START_SKEW_US,
    and the ids of those sleeps (removed from the record before comparing)."""
    rng = random.Random(seed)
    actors: dict[str, list[Op]] = {}
    extra = []
    for name, ops in scenario.actors.items():
        op_id = f"__start_{name}"
        extra.append(op_id)
        actors[name] = [Sleep(op_id, rng.uniform(0.0, START_SKEW_US)), *ops]
    return replace(scenario, actors=actors), extra


def diff_scenario(scenario: Scenario, runtime: str, seed: int = 0,
                  run_hip: RunHip | None = None, sim_runs: int = SIM_SEEDS,
                  limit_us: float | None = None,
                  timing: Timing | None = None,
                  confirm_runs: int = CONFIRM_RUNS) -> Comparison:
    """Run `scenario` on both backends and compare; `run_hip(scenario, seed)` replaces the
    HIP run (a test's broken backend); `timing` is the SimPy runs' base timing. If a SimPy
    run reaches `limit_us`, nothing is compared and the HIP backend is not run
    (`Comparison.limit_reached_us`).

    A disagreement is confirmed before it is reported: the HIP backend runs again (up to
    `confirm_runs` more times, seeds seed+1, ...) and an item stays DISAGREE only if every
    HIP run gave the same outcome; one the real threads vary on is racy (a loaded machine
    can stall a thread for tens of milliseconds, past what the SimPy runs explore)."""
    if run_hip is None:
        from hipbackend.runner import run_hip as run

        def run_hip(s: Scenario, k: int) -> RunRecord:
            return run(s, k, runtime=runtime)

    sims = sim_records(scenario, seed, sim_runs, limit_us, timing)
    limited = [r.limit_reached_us for r in sims if r.limit_reached_us is not None]
    if limited:
        return Comparison(scenario.name, limit_reached_us=limited[0])
    hips = [run_hip(scenario, seed)]
    result = compare(scenario, sims, hips)
    while result.disagreements and len(hips) <= confirm_runs:
        hips.append(run_hip(scenario, seed + len(hips)))
        result = compare(scenario, sims, hips)
    return result


def _observable(op: Op, min_work_us: float, scale: float, host_scale: float,
                host_cap_us: float) -> Op:
    if isinstance(op, Execute):
        return replace(op, duration_us=max(op.duration_us * scale, min_work_us))
    if isinstance(op, Wait) and op.timeout_us:
        return replace(op, timeout_us=min(op.timeout_us * host_scale, host_cap_us))
    if isinstance(op, Sleep):
        return replace(op, us=min(op.us * host_scale, host_cap_us))
    return op


def device_observable(scenario: Scenario, min_work_us: float = MIN_WORK_US,
                      scale: float = SCALE, host_scale: float = HOST_SCALE,
                      host_cap_us: float = HOST_CAP_US) -> Scenario:
    """`scenario` with device order observable on the HIP backend: every execute's work
    lasts `duration_us * scale`, at least `min_work_us`; timeouts (other than polls) and
    sleeps are multiplied by `host_scale`, at most `host_cap_us`. The graph is
    unchanged."""
    actors = {name: [_observable(op, min_work_us, scale, host_scale, host_cap_us)
                     for op in ops]
              for name, ops in scenario.actors.items()}
    return replace(scenario, actors=actors)


def generated_scenarios(count: int, seed: int, observable: bool = True) -> list[Scenario]:
    """`count` scenarios from the public strategies, reproducible from `seed`, made
    device-observable (`device_observable`) unless `observable` is False."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from model.strategies import scenarios

    drawn: list[Scenario] = []

    # derandomize=True would ignore `seed`: every seed gave the same scenarios.
    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=False), scenarios())
    def collect(_: Any, scenario: Scenario) -> None:
        if len(drawn) < count:
            drawn.append(scenario)

    from model.fuzz.campaign import no_local_constants

    with no_local_constants():  # the same scenarios whatever modules are loaded
        collect()
    out = [replace(s, name=f"generated-{seed}-{i}") for i, s in enumerate(drawn)]
    return [device_observable(s) for s in out] if observable else out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hipsem diff", description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", type=Path, help="scenario files")
    p.add_argument("--generated", type=int_at_least("--generated"), metavar="N",
                   help="also N generated scenarios (made device-observable)")
    p.add_argument("--observable", action="store_true",
                   help="make the files device-observable, as generated ones: work "
                        f">= {MIN_WORK_US:g} us and x{SCALE:g}, timeouts and sleeps "
                        f"x{HOST_SCALE:g} (at most {HOST_CAP_US:g} us)")
    p.add_argument("--sim-runs", type=int_at_least("--sim-runs", 1), default=SIM_SEEDS,
                   metavar="K", help=f"SimPy runs per scenario (default {SIM_SEEDS})")
    p.add_argument("--seed", type=int_at_least("--seed"), default=0)
    p.add_argument("--hip-runtime", choices=["cpu", "rocm", "cuda"], default="cpu")
    p.add_argument("--timing", type=timing_file, metavar="FILE",
                   help="timing file (hipsem calibrate --out FILE): the SimPy runs' timing")
    p.add_argument("--backend", choices=["hip", "iree"], default="hip",
                   help="iree: compare IREE's own HIP driver (over the CPU runtime) with "
                        "the SimPy model instead (docs/iree.md)")
    p.add_argument("--limit", type=sim_limit, default=None, metavar="S",
                   help="stop each SimPy run at S seconds of simulated time if it is not "
                        "quiescent by then; such a scenario is not compared (exit status 4 "
                        "unless something disagrees); default: no limit")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with every compared item of every scenario")
    p.add_argument("--full", action="store_true",
                   help="a table of every compared item per scenario (default: one line per "
                        "scenario, and only the items that disagree)")
    p.add_argument("--plain", action="store_true",
                   help="plain output even on a terminal (the default into a pipe or file)")
    cluster_options(p, "compare the scenarios", workers_type=int_at_least("--workers", 1))
    return p


def _table(c: Comparison, runtime: str, verdicts: Sequence[str] | None = None) -> Table:
    """The rows of `c` (those with a verdict in `verdicts`, default all) as a table."""
    shown = "" if verdicts is None else f" ({', '.join(verdicts)} items)"
    table = Table(title=f"{escape(c.scenario)}: SimPy vs HIP ({runtime} runtime){shown}")
    for column in ("item", "sim", "hip", "verdict"):
        table.add_column(column)
    style = {"agree": "green", "racy": "yellow", "DISAGREE": "bold red"}
    for item, a, b, verdict in c.rows:
        if verdicts is None or verdict in verdicts:
            table.add_row(escape(item), escape(a), escape(b), f"[{style[verdict]}]{verdict}[/]")
    return table


def _summary_line(c: Comparison) -> str:
    verdicts = Counter(row[3] for row in c.rows)
    violations = sum(len(m) for m in c.violations.values())
    parts = [f"{verdicts['agree']} agree", f"{verdicts['racy']} racy"]
    if verdicts["DISAGREE"]:
        parts.append(f"[bold red]{verdicts['DISAGREE']} DISAGREE[/]")
    if violations:
        parts.append(f"[red]{violations} violation(s)[/red]")
    verdict = "[green]ok[/green]" if c.ok else "[bold red]FAILED[/]"
    return f"{escape(c.scenario)}: {verdict} ({', '.join(parts)} of {len(c.rows)} items)"


def print_comparisons(show: Output, results: Sequence[Comparison], runtime: str,
                      full: bool = False) -> None:
    """Human output of `hipsem diff`: with `full` a table of every item per scenario;
    by default one line per scenario, then a table of only the disagreeing items of each
    scenario that has any, and every violation."""
    for c in results:
        if c.limit_reached_us is not None:
            show.print(f"{escape(c.scenario)}: not compared (a SimPy run reached --limit at "
                       f"{c.limit_reached_us / 1e6:g} s of simulated time)")
            continue
        if full:
            show.table(_table(c, runtime))
        else:
            show.print(_summary_line(c))
            if c.disagreements:
                show.table(_table(c, runtime, ["DISAGREE"]))
        for backend, messages in c.violations.items():
            for message in messages:
                show.print(f"[red]{backend} violation[/red] {escape(message)}")


def diff_main(argv: list[str]) -> int:
    from hipbackend.errors import RuntimeUnavailable
    from hipbackend.runtime import select_runtime

    args = _parser().parse_args(argv)
    if not args.scenarios and not args.generated:
        print("hipsem diff: give scenario files and/or --generated N", file=sys.stderr)
        return 2
    if args.observable and not args.scenarios:
        print("hipsem diff: --observable stretches the scenario files given; generated "
              "scenarios are always stretched, so without files it does nothing",
              file=sys.stderr)
        return 2
    if args.json and (args.full or args.plain):
        print("hipsem diff: --json prints every item already; drop --full/--plain",
              file=sys.stderr)
        return 2
    scenarios = [load_scenario(path) for path in args.scenarios]
    if args.observable:
        scenarios = [device_observable(s) for s in scenarios]
    if args.backend == "iree":
        if args.timing is not None:
            print("hipsem diff: --timing sets the SimPy runs' timing of --backend hip diffs; "
                  "drop it with --backend iree", file=sys.stderr)
            return 2
        return _diff_iree_main(args, scenarios)
    try:
        info = select_runtime(args.hip_runtime)
    except RuntimeUnavailable as error:
        print(f"hipsem diff: the HIP backend is unavailable: {error}", file=sys.stderr)
        return 2
    if args.generated:
        scenarios += generated_scenarios(args.generated, args.seed)
    limit_us = None if args.limit is None else args.limit * 1e6
    interrupted = False
    if args.workers is None and args.scheduler is None:
        results = [diff_scenario(s, args.hip_runtime, args.seed, sim_runs=args.sim_runs,
                                 limit_us=limit_us, timing=args.timing) for s in scenarios]
    else:
        from hipbackend.distributed_diff import diff_on_dask
        from model.distributed import ClusterError

        if args.timing is not None:
            print("hipsem diff: error: --timing is not sent to Dask workers; drop "
                  "--workers/--scheduler to compare with a timing file", file=sys.stderr)
            return 2
        try:
            done = diff_on_dask(scenarios, args.hip_runtime, args.seed, args.sim_runs,
                                limit_us, args.workers, args.scheduler, args.timing)
        except ClusterError as error:
            print(f"hipsem diff: error: {error}", file=sys.stderr)
            return 2
        results, interrupted = done.comparisons, done.interrupted
        if interrupted:
            print(f"hipsem diff: interrupted: {len(results)} of {len(scenarios)} scenarios "
                  "compared", file=sys.stderr)
    if args.json:
        print(json.dumps({"runtime": info.description, "ok": all(r.ok for r in results),
                          "scenarios": [r.to_json() for r in results]}, indent=2))
    else:
        show = output(args.plain)
        if info.kind == "cpu":
            show.print("[dim]HIP backend on hipsem's CPU runtime (a test vehicle, "
                       "not a GPU)[/dim]")
        print_comparisons(show, results, args.hip_runtime, args.full)
        bad = [r.scenario for r in results if r.failed]
        limited = [r.scenario for r in results if r.limit_reached_us is not None]
        show.print(f"{len(results) - len(bad) - len(limited)}/{len(results)} scenarios agree"
                   + (f"; failing: {', '.join(bad)}" if bad else "")
                   + (f"; not compared, a SimPy run reached --limit {args.limit:g} s of "
                      f"simulated time: {', '.join(limited)}" if limited else ""),
                   markup=False)
    if interrupted:
        return 130
    if any(r.failed for r in results):
        return 1
    return 4 if any(r.limit_reached_us is not None for r in results) else 0


def _diff_iree_main(args: argparse.Namespace, scenarios: list[Scenario]) -> int:
    """`hipsem diff --backend iree` (ireebackend.diff): IREE's driver vs the SimPy model."""
    from ireebackend.diff import diff_iree
    from ireebackend.runtime import IreeUnavailable, require_iree

    if args.limit is not None:
        print("hipsem diff: --limit stops SimPy runs of hipsem's core; drop it with "
              "--backend iree", file=sys.stderr)
        return 2
    try:
        require_iree()
    except IreeUnavailable as error:
        print(f"hipsem diff: the IREE backend is unavailable: {error}", file=sys.stderr)
        return 2
    if args.generated:
        scenarios += generated_scenarios(args.generated, args.seed)
    results = [diff_iree(s, args.seed, args.sim_runs) for s in scenarios]
    if args.json:
        print(json.dumps({"runtime": "IREE's HIP driver over hipsem's CPU runtime",
                          "ok": all(r.ok for r in results),
                          "scenarios": [r.to_json() for r in results]}, indent=2))
    else:
        show = output(args.plain)
        show.print("[dim]IREE's HIP driver on hipsem's CPU runtime (a test vehicle, not a "
                   "GPU); the 'hip' column is IREE[/dim]")
        print_comparisons(show, results, "iree", args.full)
        bad = [r.scenario for r in results if r.failed]
        show.print(f"{len(results) - len(bad)}/{len(results)} scenarios agree"
                   + (f"; failing: {', '.join(bad)}" if bad else ""), markup=False)
    return 1 if any(r.failed for r in results) else 0
