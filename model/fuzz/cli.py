"""`hipsem fuzz`: a property campaign on the SimPy backend, with a live progress display.

    hipsem fuzz [--examples N] [--seed S] [--defect NAME]... [--save-failures DIR] [--json]
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

Exit codes: 0 nothing found, 1 a property failed (`crash` included), 2 bad arguments
(stderr says why); an internal error of hipsem itself propagates to `hipsem` (exit 3).
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
from model.scenario.types import Execute, Fail, Op, Query, Signal, Sleep, Wait

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
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
    p.add_argument("--backend", choices=["sim", "iree"], default="sim",
                   help="iree: run the cases on IREE's own HIP driver over the CPU runtime "
                        "(docs/iree.md)")
    p.add_argument("--database", action="store_true",
                   help="replay and keep failures in .hypothesis/fuzz (not exact by --seed)")
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


def print_failure(console: Console, failure: Failure, saved: Saved | None,
                  replay_args: str = "") -> None:
    console.print(failure_table(failure))
    for v in failure.violations:
        where = f" [{v.op}]" if v.op else ""
        console.print(f"[red]{v.property}[/red]{where}: {v.message}")
    if saved is not None:
        note = "" if saved.replays else " [yellow](replay differs!)[/yellow]"
        console.print(f"saved: {saved.scenario_file} (replay: hipsem run "
                      f"{saved.scenario_file}{replay_args}){note}\ntrace: {saved.trace_file}")


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


def summary(result: CampaignResult, saved: Saved | None,
            replay_args: str = "") -> dict[str, Any]:
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
                           f"{replay_args}" if saved else None),
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
    if getattr(args, "backend", "sim") == "iree":
        from ireebackend.fuzz import iree_config
        from ireebackend.runtime import IreeUnavailable, require_iree

        if config.defects:
            print("hipsem fuzz: error: --defect switches hipsem's core; --backend iree runs "
                  "IREE's own driver, which has none", file=sys.stderr)
            return EXIT_USAGE
        try:
            require_iree()
        except IreeUnavailable as error:
            print(f"hipsem fuzz: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        config = iree_config(config)
    result = run_campaign(config) if args.json else _live(err, config)
    saved, replay_args = None, ""
    if result.failure is not None:
        saved = save_failure(result.failure, config.defects, args.save_failures)
        if getattr(args, "backend", "sim") == "iree":
            from ireebackend.fuzz import replayed_on_iree

            saved, replay_args = replayed_on_iree(result.failure, saved), " --backend iree"
    if args.json:
        print(json.dumps(summary(result, saved, replay_args), indent=2))
    else:
        _report(out, result, saved, replay_args)
    return EXIT_FOUND if result.failure is not None else EXIT_OK


def _report(console: Console, result: CampaignResult, saved: Saved | None,
            replay_args: str = "") -> None:
    label = ", ".join(sorted(d.value for d in result.config.defects)) or "clean core"
    if result.failure is None:
        console.print(f"[green]{label}: no property failed[/green] in {result.examples} "
                      f"examples ({result.seconds:.1f} s)")
        return
    console.print(f"[red]{label}: {', '.join(result.failure.properties)} failed[/red] after "
                  f"{result.found_at} examples ({result.found_seconds or 0:.2f} s); shrunk "
                  f"in {result.shrink_seconds:.1f} s")
    print_failure(console, result.failure, saved, replay_args)


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


__all__ = ["demo_fuzz", "fuzz_main", "parser", "summary"]
