"""`hipsem fuzz`: a property campaign on the SimPy backend, with a live progress display.

    hipsem fuzz [--examples N] [--seed S] [--defect NAME]... [--save-failures DIR] [--json]
                [--workers N | --scheduler ADDRESS] [--shard-size K]
    hipsem fuzz --list-defects

Generates wait-before-signal scenarios (`model.strategies`), runs each on the SimPy
backend under the given seeded defects, checks every property, and on the first failure
shrinks it, prints the shrunk scenario and its violations, saves it as a scenario file
that `hipsem run` replays (its `replay` field carries seed and defects) and writes its
Chrome trace next to it. `--json` prints one summary object instead:
`{"examples", "seconds", "seed", "defects", "found_at", "failures": [{"property",
"scenario_file", ...}]}`.

A run that raises (the core, the device or the platform) is a failure of property
`crash`, found, shrunk, saved and replayed like any other (model/fuzz/campaign.py).

The campaign is cut into shards of `--shard-size` examples (model/fuzz/shards.py), run
in this process, on `--workers N` local Dask worker processes or on the Dask cluster of
`--scheduler ADDRESS` (model/fuzz/distributed.py): the same seed, examples and shard size
give the same findings in every case. Each shard stops at its first failure; every
distinct finding is printed and saved once, here. Ctrl-C stops every shard, prints and
saves what was found so far and exits 130.


Exit codes: 0 nothing found, 1 a property failed (`crash` included), 2 bad arguments or
an unusable cluster (stderr says why), 130 interrupted; an internal error of hipsem
itself propagates to `hipsem` (exit 3).
This module and `demo_fuzz` are the only ones in model.fuzz that print.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from model.argtypes import cluster_options, defect, int_at_least, sim_limit, timing_file
from model.core.defects import DESCRIPTIONS, Defect
from model.core.status import HipsemError
from model.faults import FaultPlan
from model.fuzz.campaign import CampaignConfig, CampaignResult, Failure, run_campaign
from model.fuzz.campaign import Progress as CampaignProgress
from model.fuzz.replay import (
    REPLAY_HAS_TIMING,
    Saved,
    counterexample,
    counterexample_json,
    save_failure,
)
from model.fuzz.shards import SHARD_SIZE, LiveCounts, ShardedResult, plan_shards, run_local
from model.outpaths import OutputPathError, output_dir
from model.output import Output, as_output, output
from model.scenario.parse import scenario_to_json
from model.scenario.types import Execute, Fail, Op, Query, Signal, Sleep, Wait

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_DIR = Path("hipsem-failures")


class UsageError(Exception):
    """A bad command line (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hipsem fuzz", description="Property campaign with generated "
                "wait-before-signal scenarios on the SimPy backend.")
    p.add_argument("--examples", type=int_at_least("--examples", 1), default=500,
                   help="generated scenarios to try (default 500)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0,
                   help="Hypothesis seed: the same seed tries the same scenarios (default 0)")
    p.add_argument("--defect", type=defect, action="append", default=[],
                   help="turn a seeded defect on (repeatable; see --list-defects)")
    p.add_argument("--save-failures", type=Path, default=None, metavar="DIR",
                   help="where to save a counterexample and its trace (a folder, created "
                        f"before the campaign starts; default {DEFAULT_DIR})")
    p.add_argument("--timing", type=timing_file, metavar="FILE",
                   help="timing file (hipsem calibrate --out FILE): the base of the drawn "
                        "timing models (default: DESIGN.md's figures)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object "
                   "(with --list-defects: the defects as JSON)")
    p.add_argument("--plain", action="store_true",
                   help="plain output even on a terminal (the default into a pipe or file)")
    p.add_argument("--list-defects", action="store_true", help="list the seeded defects")
    p.add_argument("--max-ops", type=int_at_least("--max-ops", 1), default=24,
                   help="largest scenario, in ops (default 24)")
    p.add_argument("--seeds-per-case", type=int_at_least("--seeds-per-case", 1), default=1,
                   help="simulated runs (interleavings) per scenario (default 1)")
    p.add_argument("--shrink-seconds", type=float, default=20.0,
                   help="time allowed for shrinking a failure (default 20)")
    p.add_argument("--limit", type=sim_limit, default=None, metavar="S",
                   help="stop each run at S seconds of simulated time if it is not quiescent "
                        "by then; such a run is not judged and counts as passing (reported "
                        "as 'unjudged'); default: no limit")
    p.add_argument("--faults", action="store_true",
                   help="draw fault plans: failing device calls and work, a lost device "
                   "(docs/faults.md; default: no faults)")
    p.add_argument("--backend", choices=["sim", "iree"], default="sim",
                   help="iree: run the cases on IREE's own HIP driver over the CPU runtime "
                        "(docs/iree.md)")
    p.add_argument("--database", action="store_true",
                   help="replay and keep failures in .hypothesis/fuzz (not exact by --seed)")
    cluster_options(p, "run the shards", docs=" (docs/distributed.md)",
                    workers_type=int_at_least("--workers", 1))
    p.add_argument("--shard-size", type=int_at_least("--shard-size", 1), default=SHARD_SIZE,
                   metavar="K", help=f"examples per shard, the unit of work (default "
                   f"{SHARD_SIZE}); findings depend on it, not on where shards run")
    return p


# --------------------------------------------------------------------------- rendering


def _values(values: dict[str, int]) -> str:
    """A semaphore -> value map as JSON text (`{"A": 1}`), as the scenario file has it."""
    return json.dumps(dict(values), ensure_ascii=False)


def _op_text(op: Op) -> str:
    if isinstance(op, Execute):
        return (f"execute on {op.queue} wait {_values(op.wait)} signal "
                f"{_values(op.signal)} ({op.duration_us:g} us)")
    if isinstance(op, Wait):
        timeout = "forever" if op.timeout_us is None else f"{op.timeout_us:g} us"
        return f"wait {op.mode.value} {_values(op.semaphores)} ({timeout})"
    if isinstance(op, Signal):
        return f"signal {op.semaphore} = {op.value}"
    if isinstance(op, Fail):
        return f"fail {op.semaphore} with {op.code}"
    if isinstance(op, Query):
        return f"query {op.semaphore}"
    assert isinstance(op, Sleep)
    return f"sleep {op.us:g} us"


def failure_table(failure: Failure) -> Table:
    """The shrunk scenario, one row per op, actors in order."""
    s = failure.case.scenario
    st = s.settings
    title = (f"counterexample: {failure.size} op(s), seed {failure.seed}; pools "
             f"{st.event_pool_capacity}/{st.timepoint_pool_capacity}, max_wait_events "
             f"{st.max_wait_events}, completion {st.completion.value}")
    table = Table(title=title, title_justify="left")
    for column in ("actor", "op", "what"):
        table.add_column(column)
    for actor, _, op in s.ops():
        table.add_row(escape(actor), escape(op.id), escape(_op_text(op)))
    for what in fault_plan_lines(s.faults):
        table.add_row("(faults)", "", escape(what))
    return table


def fault_plan_lines(plan: FaultPlan) -> list[str]:
    """The scenario's fault plan, one line per fault (docs/faults.md)."""
    lines = [f"{c.call} call #{c.at} fails with {c.error}" if c.at is not None else
             f"each {c.call} call fails with {c.error} with probability {c.probability:g}"
             for c in plan.calls]
    lines += [f"the work of {w.execute} fails with {w.error}" for w in plan.work]
    if plan.device_lost is not None:
        lost = plan.device_lost
        lines.append(f"the device is lost at {lost.at_us:g} us ({lost.error})")
    return lines


def print_failure(show: Output, failure: Failure, saved: Saved | None,
                  document: str | None = None, replay_args: str = "") -> None:
    """The shrunk scenario, its violations, and where it was saved; `document` (the
    counterexample file's text) is printed in full when it could not be saved."""
    show.table(failure_table(failure))
    for v in failure.violations:
        where = escape(f" [{v.op}]") if v.op else ""
        show.print(f"[red]{v.property}[/red]{where}: {escape(v.message)}")
    if saved is not None:
        note = "" if saved.replays else " [yellow](replay differs!)[/yellow]"
        file = escape(str(saved.scenario_file))
        show.print(f"saved: {file} (replay: {escape(replay_line(saved, replay_args))}){note}")
        show.print(f"trace: {escape(str(saved.trace_file))}", markup=False)
    elif document is not None:
        show.print("the counterexample (save it as FILE.json; replay: hipsem run FILE.json):",
                   markup=False)
        show.print(document.rstrip("\n"), markup=False)


def replay_line(saved: Saved, replay_args: str = "") -> str:
    """The command that replays a saved counterexample (`replay_args`: e.g. a backend)."""
    return f"hipsem run {shlex.quote(str(saved.scenario_file))}{replay_args}"


def _progress_hook(progress: Progress, examples: int) -> Callable[[CampaignProgress], None]:
    task = progress.add_task("searching", total=examples)

    def hook(p: CampaignProgress) -> None:
        if p.shrinking:
            size = p.best.size if p.best is not None else "?"
            progress.update(task, completed=p.examples,
                            description=f"shrinking ({p.shrinks} tries, best {size} ops)")
        else:
            progress.update(task, completed=p.examples)

    return hook


def _live(console: Console, config: CampaignConfig) -> CampaignResult:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        return run_campaign(config, _progress_hook(progress, config.examples))


def failure_entries(failure: Failure, defects: frozenset[Defect], saved: Saved | None,
                    save_error: str | None, replay_args: str = "",
                    extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The --json entries of one failure, one per violated property: where it was saved
    (or why not), how to replay it, `extra` keys, its messages and the counterexample
    document itself (`scenario`), so nothing is lost when it could not be saved."""
    document = scenario_to_json(counterexample(failure, defects))
    return [{
        "property": prop,
        "scenario_file": str(saved.scenario_file) if saved else None,
        "trace_file": str(saved.trace_file) if saved else None,
        "replays": saved.replays if saved else None,
        "replay": replay_line(saved, replay_args) if saved else None,
        "save_error": save_error,
        "size": failure.size,
        "seed": failure.seed,
        **(extra or {}),
        "messages": [v.message for v in failure.violations if v.property == prop],
        "scenario": document,
    } for prop in failure.properties]


def summary(result: CampaignResult, saved: Saved | None,
            save_error: str | None = None, replay_args: str = "") -> dict[str, Any]:
    """The --json object; each failure carries the counterexample document itself
    (`scenario`), so nothing is lost when it could not be saved (`save_error` says why)."""
    failures = [] if result.failure is None else failure_entries(
        result.failure, result.config.defects, saved, save_error, replay_args)
    return {**_campaign_keys(result.config, result.examples, None, result.seconds,
                             result.found_at, result.limited, result.found_seconds),
            "failures": failures}


def _campaign_keys(config: CampaignConfig, examples: int, shrinks: int | None,
                   seconds: float, found_at: int | None, limited: int,
                   seconds_to_find: float | None) -> dict[str, Any]:
    """The keys both --json objects (one search, sharded) start with."""
    return {
        "examples": examples, **({} if shrinks is None else {"shrinks": shrinks}),
        "seconds": round(seconds, 3), "seed": config.seed,
        "defects": sorted(d.value for d in config.defects),
        "faults": config.faults,
        "found_at": found_at,
        "unjudged_at_limit": limited,
        "seconds_to_find": None if seconds_to_find is None else round(seconds_to_find, 3),
    }


# --------------------------------------------------------------------------- commands


def defects_table() -> Table:
    table = Table(title="seeded defects (hipsem fuzz --defect NAME)")
    table.add_column("name")
    table.add_column("effect")
    for d in Defect:
        table.add_row(d.value, escape(DESCRIPTIONS[d]))
    return table


def list_defects(show: Output, as_json: bool) -> None:
    """`--list-defects`: a table, or with `--json` one object
    `{"defects": [{"name", "description"}]}`."""
    if as_json:
        print(json.dumps({"defects": [{"name": d.value, "description": DESCRIPTIONS[d]}
                                      for d in Defect]}, indent=2))
    else:
        show.table(defects_table())


def database_folder(defects: frozenset[Defect]) -> Path:
    """`--database`: where the campaign's Hypothesis example database lives."""
    label = "-".join(sorted(d.value for d in defects)) or "clean"
    return Path(".hypothesis") / "fuzz" / label


def config_from(args: argparse.Namespace) -> CampaignConfig:
    from hypothesis.database import DirectoryBasedExampleDatabase

    defects = frozenset(args.defect)
    database = None
    if args.database:
        database = DirectoryBasedExampleDatabase(str(database_folder(defects)))
    return CampaignConfig(
        examples=args.examples, seed=args.seed, defects=defects, max_ops=args.max_ops,
        seeds_per_case=args.seeds_per_case, draw_timing=REPLAY_HAS_TIMING,
        base_timing=args.timing,
        shrink_seconds=args.shrink_seconds, database=database, faults=args.faults,
        limit_us=None if args.limit is None else args.limit * 1e6,
    )


def _iree_config(args: argparse.Namespace, config: CampaignConfig) -> CampaignConfig:
    """`--backend iree` (ireebackend.fuzz); UsageError/IreeUnavailable (exit 2)."""
    from ireebackend.fuzz import iree_config
    from ireebackend.runtime import require_iree

    for given, name in ((config.defects, "--defect"), (args.faults, "--faults"),
                        (args.limit is not None, "--limit")):
        if given:
            raise UsageError(f"hipsem fuzz: error: {name} applies to hipsem's core and the "
                             "SimPy model; --backend iree runs IREE's own driver")
    require_iree()
    return iree_config(config)


def fuzz(args: argparse.Namespace, show: Output) -> int:
    config = config_from(args)
    if getattr(args, "backend", "sim") == "iree":
        if args.workers is not None or args.scheduler is not None:
            raise UsageError("hipsem fuzz: error: --workers/--scheduler run the SimPy "
                             "campaign; --backend iree runs in this process")
        return _fuzz_single(args, show, config)
    iree, replay_args = False, ""  # --backend iree returned above
    try:
        result = _sharded(args, config, None if args.json else show.err)
    except _ClusterUnusable as error:
        show.note(f"hipsem fuzz: error: {error}")
        return EXIT_USAGE
    saved: list[Saved | None] = []
    errors: list[str | None] = []
    for finding in result.findings:
        try:
            where = save_failure(finding.failure, config.defects, args.save_failures)
            if iree:
                from ireebackend.fuzz import replayed_on_iree

                where = replayed_on_iree(finding.failure, where)
            saved.append(where)
            errors.append(None)
        except OSError as error:  # the finding stands: print it in full instead
            saved.append(None)
            errors.append(f"--save-failures {args.save_failures}: cannot save the "
                          f"counterexample: {error.strerror or error}")
    if args.json:
        print(json.dumps(sharded_summary(result, saved, errors, replay_args), indent=2,
                         ensure_ascii=False))
    else:
        _report_sharded(show, result, saved, replay_args)
    for message in dict.fromkeys(e for e in errors if e is not None):
        show.note(f"hipsem fuzz: error: {message}")
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FOUND if result.findings else EXIT_OK


class _ClusterUnusable(Exception):
    """--workers/--scheduler cannot be used (exit 2)."""


def _sharded(args: argparse.Namespace, config: CampaignConfig,
             err: Console | None) -> ShardedResult:
    """Run the campaign's shards here or on Dask, with one aggregated progress bar."""
    shards = plan_shards(args.examples, args.seed, args.shard_size)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=err is None) as progress:
        task = progress.add_task("searching", total=args.examples)

        def advance(counts: LiveCounts) -> None:
            found = f", {counts.findings} shard(s) found a failure" if counts.findings else ""
            progress.update(task, completed=counts.covered, description=f"searching{found}")

        if args.workers is None and args.scheduler is None:
            return run_local(config, shards, advance, args.shard_size)
        from model.distributed import ClusterError, connected
        from model.fuzz.distributed import run_distributed

        database = None
        if config.database is not None:
            database = str(Path(getattr(config.database, "path", ".hypothesis")).resolve())
        try:
            with connected(args.workers, args.scheduler) as cluster:
                return run_distributed(cluster, config, shards, args.shard_size, database,
                                       advance)
        except ClusterError as error:
            raise _ClusterUnusable(str(error)) from error


def sharded_summary(result: ShardedResult, saved: list[Saved | None],
                    errors: list[str | None], replay_args: str = "") -> dict[str, Any]:
    """The --json object: `summary`'s keys, one failure per (finding, property), each with
    the counterexample document itself (`scenario`), and where and how far it ran."""
    failures = []
    for finding, where, error in zip(result.findings, saved, errors, strict=True):
        failures += failure_entries(
            finding.failure, result.config.defects, where, error, replay_args,
            {"fingerprint": finding.fingerprint, "shard": finding.shard,
             "found_by_shards": list(finding.shards), "minimized": finding.minimized})
    return {
        **_campaign_keys(result.config, result.examples, result.shrinks, result.seconds,
                         result.found_at, result.limited, result.seconds_to_find),
        "shards": result.shards, "shard_size": result.shard_size,
        "shards_complete": result.complete_shards, "workers": result.workers,
        "interrupted": result.interrupted,
        "repeated_examples": result.repeated_examples,
        "retried_shards": result.retried_shards,
        "failures": failures,
    }


def _report_sharded(show: Output, result: ShardedResult, saved: list[Saved | None],
                    replay_args: str = "") -> None:
    label = ", ".join(sorted(d.value for d in result.config.defects)) or "clean core"
    where = (f"{result.shards} shard(s) of {result.shard_size}"
             + ("" if result.workers == "this process" else f" on {result.workers}"))
    lost = (f"; {result.retried_shards} shard(s) re-run after a lost worker "
            f"({result.repeated_examples} examples repeated)" if result.retried_shards else "")
    if result.limited:
        limit = (result.config.limit_us or 0) / 1e6
        show.print(f"[yellow]{result.limited} run(s) reached --limit {limit:g} s of "
                   "simulated time and were not judged (not failures)[/yellow]")
    if result.interrupted:
        show.print(f"[yellow]interrupted[/yellow]: {result.examples} examples run, "
                   f"{result.complete_shards} of {result.shards} shard(s) complete, "
                   f"{len(result.findings)} finding(s) so far ({result.seconds:.1f} s)"
                   f"{escape(lost)}")
    elif not result.findings:
        show.print(f"[green]{label}: no property failed[/green] in {result.examples} "
                   f"examples ({escape(where)}, {result.seconds:.1f} s){escape(lost)}")
        return
    else:
        props = ", ".join(dict.fromkeys(p for f in result.findings
                                        for p in f.failure.properties))
        show.print(f"[red]{label}: {props} failed[/red]: {len(result.findings)} distinct "
                   f"finding(s) in {result.examples} examples ({escape(where)}, "
                   f"{result.seconds:.1f} s); first after {result.found_at} examples"
                   f"{escape(lost)}")
    for finding, where_saved in zip(result.findings, saved, strict=True):
        note = "" if finding.minimized else " (stopped before minimizing)"
        others = len(finding.shards) - 1
        also = f", also {others} other(s)" if others else ""
        show.print(f"finding {finding.fingerprint} (shard {finding.shard}{also}){note}",
                   markup=False)
        document = None
        if where_saved is None:
            document = counterexample_json(counterexample(finding.failure,
                                                          result.config.defects))
        print_failure(show, finding.failure, where_saved, document, replay_args)


def _fuzz_single(args: argparse.Namespace, show: Output, config: CampaignConfig) -> int:
    """`--backend iree`: one search in this process (its runner is not sharded)."""
    iree = True
    config = _iree_config(args, config)
    result = run_campaign(config) if args.json else _live(show.err, config)
    saved, save_error, document = None, None, None
    replay_args = " --backend iree" if iree else ""
    if result.failure is not None:
        try:
            saved = save_failure(result.failure, config.defects, args.save_failures)
        except OSError as error:  # the finding stands: print it in full instead
            save_error = (f"--save-failures {args.save_failures}: cannot save the "
                          f"counterexample: {error.strerror or error}")
            document = counterexample_json(counterexample(result.failure, config.defects))
        if iree and saved is not None:
            from ireebackend.fuzz import replayed_on_iree

            saved = replayed_on_iree(result.failure, saved)
    if args.json:
        print(json.dumps(summary(result, saved, save_error, replay_args), indent=2,
                         ensure_ascii=False))
    else:
        _report(show, result, saved, document, replay_args)
    if save_error is not None:
        show.note(f"hipsem fuzz: error: {save_error}")
    return EXIT_FOUND if result.failure is not None else EXIT_OK


def _report(show: Output, result: CampaignResult, saved: Saved | None,
            document: str | None = None, replay_args: str = "") -> None:
    label = ", ".join(sorted(d.value for d in result.config.defects)) or "clean core"
    if result.limited:
        limit = (result.config.limit_us or 0) / 1e6
        show.print(f"[yellow]{result.limited} run(s) reached --limit {limit:g} s of "
                   "simulated time and were not judged (not failures)[/yellow]")
    if result.failure is None:
        show.print(f"[green]{label}: no property failed[/green] in {result.examples} "
                   f"examples ({result.seconds:.1f} s)")
        return
    show.print(f"[red]{label}: {', '.join(result.failure.properties)} failed[/red] after "
               f"{result.found_at} examples ({result.found_seconds or 0:.2f} s); shrunk "
               f"in {result.shrink_seconds:.1f} s")
    print_failure(show, result.failure, saved, document, replay_args)


# Campaign options that --list-defects would silently ignore.
_CAMPAIGN_OPTIONS = ("examples", "seed", "defect", "save_failures", "max_ops",
                     "seeds_per_case", "shrink_seconds", "database", "workers", "scheduler",
                     "shard_size")


def check_args(args: argparse.Namespace) -> None:
    """Refuse conflicting or pointless options (UsageError); check --save-failures."""
    if args.list_defects:
        defaults = parser().parse_args([])
        given = [f"--{name.replace('_', '-')}" for name in _CAMPAIGN_OPTIONS
                 if getattr(args, name) != getattr(defaults, name)]
        if given:
            raise UsageError(f"hipsem fuzz: error: --list-defects only lists the defects; "
                             f"it runs no campaign, so {', '.join(given)} would be ignored")
        return
    if not (math.isfinite(args.shrink_seconds) and args.shrink_seconds >= 0):
        raise UsageError("hipsem fuzz: error: --shrink-seconds must be a number of seconds "
                         f">= 0, got {args.shrink_seconds}")
    explicit = args.save_failures is not None
    args.save_failures = args.save_failures if explicit else DEFAULT_DIR
    # an explicit folder is created now; the default one only once something is found
    output_dir(args.save_failures, "--save-failures", create=explicit)


def fuzz_main(argv: list[str]) -> int:
    """Entry point of `hipsem fuzz` (see the module docstring); returns the exit code."""
    try:
        args = parser().parse_args(argv)
        check_args(args)
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except OutputPathError as error:
        print(f"hipsem fuzz: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    show = output(args.plain)
    if args.list_defects:
        list_defects(show, args.json)
        return EXIT_OK
    try:
        return fuzz(args, show)
    except UsageError as error:  # --backend iree with options it has no use for
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except HipsemError as error:  # --backend iree without IREE (UNAVAILABLE)
        print(f"hipsem fuzz: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def demo_fuzz(console: Console | Output, examples: int = 300,
              defect: Defect = Defect.LIFO_READY,
              directory: Path | None = None) -> dict[str, Any]:
    """A short campaign against the clean core, then against `defect` (shows the shrunk
    counterexample). About 5 s on one core. Returns both campaigns' `summary` objects
    (`clean`, `defect`)."""
    show = as_output(console)
    clean = run_campaign(CampaignConfig(examples=examples, seed=0))
    _report(show, clean, None)
    config = CampaignConfig(examples=examples, seed=0, defects=frozenset({defect}),
                            shrink_seconds=5.0)
    show.print(f"seeded defect [bold]{defect.value}[/bold]: {escape(defect.description)}")
    result = run_campaign(config)
    saved = None
    if result.failure is not None and directory is not None:
        saved = save_failure(result.failure, config.defects, directory)
    _report(show, result, saved)
    return {"clean": summary(clean, None), "defect": summary(result, saved)}


__all__ = ["demo_fuzz", "fuzz_main", "parser", "sharded_summary", "summary"]
