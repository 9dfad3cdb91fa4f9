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
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from model.argtypes import defect, int_at_least
from model.core.defects import DESCRIPTIONS, Defect
from model.fuzz.campaign import CampaignConfig, CampaignResult, Failure, run_campaign
from model.fuzz.campaign import Progress as CampaignProgress
from model.fuzz.replay import REPLAY_HAS_TIMING, Saved, save_failure
from model.fuzz.shards import SHARD_SIZE, LiveCounts, ShardedResult, plan_shards, run_local
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
    p.add_argument("--save-failures", type=Path, default=DEFAULT_DIR, metavar="DIR",
                   help=f"where to save a counterexample and its trace (default {DEFAULT_DIR})")
    p.add_argument("--json", action="store_true", help="print one JSON summary object")
    p.add_argument("--list-defects", action="store_true", help="list the seeded defects")
    p.add_argument("--max-ops", type=int_at_least("--max-ops", 1), default=24,
                   help="largest scenario, in ops (default 24)")
    p.add_argument("--seeds-per-case", type=int_at_least("--seeds-per-case", 1), default=1,
                   help="simulated runs (interleavings) per scenario (default 1)")
    p.add_argument("--shrink-seconds", type=float, default=20.0,
                   help="time allowed for shrinking a failure (default 20)")
    p.add_argument("--database", action="store_true",
                   help="replay and keep failures in .hypothesis/fuzz (not exact by --seed)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int_at_least("--workers", 1), metavar="N",
                       help="run the shards on N local Dask worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the shards on a Dask cluster, e.g. tcp://host:8786 "
                            "(docs/distributed.md)")
    p.add_argument("--shard-size", type=int_at_least("--shard-size", 1), default=SHARD_SIZE,
                   metavar="K", help=f"examples per shard, the unit of work (default "
                   f"{SHARD_SIZE}); findings depend on it, not on where shards run")
    return p


# --------------------------------------------------------------------------- rendering


def _op_text(op: Op) -> str:
    if isinstance(op, Execute):
        return f"execute on {op.queue} wait {op.wait or '{}'} signal {op.signal or '{}'}" \
               f" ({op.duration_us:g} us)"
    if isinstance(op, Wait):
        timeout = "forever" if op.timeout_us is None else f"{op.timeout_us:g} us"
        return f"wait {op.mode.value} {op.semaphores} ({timeout})"
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
        table.add_row(actor, op.id, _op_text(op))
    return table


def print_failure(console: Console, failure: Failure, saved: Saved | None) -> None:
    console.print(failure_table(failure))
    for v in failure.violations:
        where = f" [{v.op}]" if v.op else ""
        console.print(f"[red]{v.property}[/red]{where}: {v.message}")
    if saved is not None:
        note = "" if saved.replays else " [yellow](replay differs!)[/yellow]"
        console.print(f"saved: {saved.scenario_file} (replay: hipsem run "
                      f"{saved.scenario_file}){note}\ntrace: {saved.trace_file}")


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


def summary(result: CampaignResult, saved: Saved | None) -> dict[str, Any]:
    """The --json object."""
    failures = []
    if result.failure is not None:
        for prop in result.failure.properties:
            failures.append({
                "property": prop,
                "scenario_file": str(saved.scenario_file) if saved else None,
                "trace_file": str(saved.trace_file) if saved else None,
                "replays": saved.replays if saved else None,
                "replay": (f"hipsem run {shlex.quote(str(saved.scenario_file))}"
                           if saved else None),
                "size": result.failure.size,
                "seed": result.failure.seed,
                "messages": [v.message for v in result.failure.violations
                             if v.property == prop],
            })
    return {
        "examples": result.examples, "seconds": round(result.seconds, 3),
        "seed": result.config.seed,
        "defects": sorted(d.value for d in result.config.defects),
        "found_at": result.found_at,
        "seconds_to_find": None if result.found_seconds is None
        else round(result.found_seconds, 3),
        "failures": failures,
    }


# --------------------------------------------------------------------------- commands


def list_defects(console: Console) -> None:
    table = Table(title="seeded defects (hipsem fuzz --defect NAME)")
    table.add_column("name")
    table.add_column("effect")
    for d in Defect:
        table.add_row(d.value, DESCRIPTIONS[d])
    console.print(table)


def config_from(args: argparse.Namespace) -> CampaignConfig:
    from hypothesis.database import DirectoryBasedExampleDatabase

    defects = frozenset(args.defect)
    database = None
    if args.database:
        label = "-".join(sorted(d.value for d in defects)) or "clean"
        database = DirectoryBasedExampleDatabase(str(Path(".hypothesis") / "fuzz" / label))
    return CampaignConfig(
        examples=args.examples, seed=args.seed, defects=defects, max_ops=args.max_ops,
        seeds_per_case=args.seeds_per_case, draw_timing=REPLAY_HAS_TIMING,
        shrink_seconds=args.shrink_seconds, database=database,
    )


def fuzz(args: argparse.Namespace, out: Console, err: Console) -> int:
    config = config_from(args)
    try:
        result = _sharded(args, config, None if args.json else err)
    except _ClusterUnusable as error:
        print(f"hipsem fuzz: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    saved = [_save(f.failure, config.defects, args.save_failures) for f in result.findings]
    if args.json:
        print(json.dumps(sharded_summary(result, saved), indent=2))
    else:
        _report_sharded(out, result, saved)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FOUND if result.findings else EXIT_OK


def _save(failure: Failure, defects: frozenset[Defect], directory: Path) -> Saved | None:
    """Save one finding; if it cannot be written, say so and keep it (it is printed)."""
    try:
        return save_failure(failure, defects, directory)
    except OSError as error:
        print(f"hipsem fuzz: error: cannot save a counterexample under {directory}: {error}"
              " (printed below instead)", file=sys.stderr)
        return None


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

        def show(counts: LiveCounts) -> None:
            found = f", {counts.findings} shard(s) found a failure" if counts.findings else ""
            progress.update(task, completed=counts.covered, description=f"searching{found}")

        if args.workers is None and args.scheduler is None:
            return run_local(config, shards, show, args.shard_size)
        from model.distributed import ClusterError, connected
        from model.fuzz.distributed import run_distributed

        database = None
        if config.database is not None:
            database = str(Path(getattr(config.database, "path", ".hypothesis")).resolve())
        try:
            with connected(args.workers, args.scheduler) as cluster:
                return run_distributed(cluster, config, shards, args.shard_size, database,
                                       show)
        except ClusterError as error:
            raise _ClusterUnusable(str(error)) from error


def sharded_summary(result: ShardedResult, saved: list[Saved | None]) -> dict[str, Any]:
    """The --json object of a sharded campaign (`summary`'s keys, and where it ran)."""
    failures = []
    for finding, where in zip(result.findings, saved, strict=True):
        failure = finding.failure
        for prop in failure.properties:
            failures.append({
                "property": prop,
                "scenario_file": str(where.scenario_file) if where else None,
                "trace_file": str(where.trace_file) if where else None,
                "replays": where.replays if where else None,
                "replay": (f"hipsem run {shlex.quote(str(where.scenario_file))}"
                           if where else None),
                "scenario": None if where else _scenario_json(failure, result.config.defects),
                "size": failure.size,
                "seed": failure.seed,
                "fingerprint": finding.fingerprint,
                "shard": finding.shard,
                "found_by_shards": list(finding.shards),
                "minimized": finding.minimized,
                "messages": [v.message for v in failure.violations if v.property == prop],
            })
    return {
        "examples": result.examples, "shrinks": result.shrinks,
        "seconds": round(result.seconds, 3), "seed": result.config.seed,
        "defects": sorted(d.value for d in result.config.defects),
        "found_at": result.found_at,
        "seconds_to_find": None if result.seconds_to_find is None
        else round(result.seconds_to_find, 3),
        "shards": result.shards, "shard_size": result.shard_size,
        "shards_complete": result.complete_shards, "workers": result.workers,
        "interrupted": result.interrupted,
        "repeated_examples": result.repeated_examples,
        "retried_shards": result.retried_shards,
        "failures": failures,
    }


def _scenario_json(failure: Failure, defects: frozenset[Defect]) -> dict[str, Any]:
    """The counterexample as a replayable scenario document (when it could not be saved)."""
    from model.fuzz.replay import with_replay
    from model.scenario.parse import scenario_to_json

    return scenario_to_json(with_replay(failure.case.scenario, failure.seed, defects,
                                        timing=failure.case.timing))


def _report_sharded(console: Console, result: ShardedResult,
                    saved: list[Saved | None]) -> None:
    label = ", ".join(sorted(d.value for d in result.config.defects)) or "clean core"
    where = (f"{result.shards} shard(s) of {result.shard_size}"
             + ("" if result.workers == "this process" else f" on {result.workers}"))
    lost = (f"; {result.retried_shards} shard(s) re-run after a lost worker "
            f"({result.repeated_examples} examples repeated)" if result.retried_shards else "")
    if result.interrupted:
        console.print(f"[yellow]interrupted[/yellow]: {result.examples} examples run, "
                      f"{result.complete_shards} of {result.shards} shard(s) complete, "
                      f"{len(result.findings)} finding(s) so far ({result.seconds:.1f} s)"
                      f"{lost}")
    elif not result.findings:
        console.print(f"[green]{label}: no property failed[/green] in {result.examples} "
                      f"examples ({where}, {result.seconds:.1f} s){lost}")
        return
    if result.findings and not result.interrupted:
        props = ", ".join(dict.fromkeys(p for f in result.findings
                                        for p in f.failure.properties))
        console.print(f"[red]{label}: {props} failed[/red]: {len(result.findings)} distinct "
                      f"finding(s) in {result.examples} examples ({where}, "
                      f"{result.seconds:.1f} s); first after {result.found_at} examples{lost}")
    for finding, where_saved in zip(result.findings, saved, strict=True):
        note = "" if finding.minimized else " (stopped before minimizing)"
        others = len(finding.shards) - 1
        also = f", also {others} other(s)" if others else ""
        console.print(f"finding {finding.fingerprint} (shard {finding.shard}{also}){note}")
        print_failure(console, finding.failure, where_saved)


def _report(console: Console, result: CampaignResult, saved: Saved | None) -> None:
    label = ", ".join(sorted(d.value for d in result.config.defects)) or "clean core"
    if result.failure is None:
        console.print(f"[green]{label}: no property failed[/green] in {result.examples} "
                      f"examples ({result.seconds:.1f} s)")
        return
    console.print(f"[red]{label}: {', '.join(result.failure.properties)} failed[/red] after "
                  f"{result.found_at} examples ({result.found_seconds or 0:.2f} s); shrunk "
                  f"in {result.shrink_seconds:.1f} s")
    print_failure(console, result.failure, saved)


def fuzz_main(argv: list[str]) -> int:
    """Entry point of `hipsem fuzz` (see the module docstring); returns the exit code."""
    out, err = Console(), Console(stderr=True)
    try:
        args = parser().parse_args(argv)
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    if args.list_defects:
        list_defects(out)
        return EXIT_OK
    if args.shrink_seconds < 0:
        print("hipsem fuzz: error: --shrink-seconds must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    return fuzz(args, out, err)


def demo_fuzz(console: Console, examples: int = 300, defect: Defect = Defect.LIFO_READY,
              directory: Path | None = None) -> None:
    """A short campaign against the clean core, then against `defect` (shows the shrunk
    counterexample). About 5 s on one core."""
    clean = run_campaign(CampaignConfig(examples=examples, seed=0))
    _report(console, clean, None)
    config = CampaignConfig(examples=examples, seed=0, defects=frozenset({defect}),
                            shrink_seconds=5.0)
    console.print(f"seeded defect [bold]{defect.value}[/bold]: {defect.description}")
    result = run_campaign(config)
    saved = None
    if result.failure is not None and directory is not None:
        saved = save_failure(result.failure, config.defects, directory)
    _report(console, result, saved)


__all__ = ["demo_fuzz", "fuzz_main", "parser", "sharded_summary", "summary"]
