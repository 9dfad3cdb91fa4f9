"""`hipsem demo`: hipsem's main job on its embedded default backend (SimPy).

Runs every bundled example scenario on the SimPy backend and checks it, then (when those
parts are installed) a short fuzz campaign against the clean core and one seeded defect,
and a small capacity plan. Exit 0 when every example passed its checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from model.argtypes import int_at_least
from model.output import Output, as_output, output

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_examples(console: Console | Output, seeds: int) -> bool:
    from model.cli import run_scenario_file

    show = as_output(console)
    files = sorted(EXAMPLES.glob("*.json"))
    if not files:
        show.print(f"[red]no example scenarios found in {EXAMPLES}[/red]")
        return False
    table = Table(title=f"bundled scenarios on the SimPy backend ({seeds} seeds each)")
    for column in ("scenario", "ops", "statuses", "sim time (us)", "event pool", "violations"):
        table.add_column(column)
    all_ok = True
    for path in files:
        reports = [run_scenario_file(path, seed=seed) for seed in range(seeds)]
        bad = sorted({v["property"] for r in reports for v in r["violations"]})
        all_ok &= not bad
        first = reports[0]
        counts: dict[str, int] = {}
        for op in first["ops"].values():
            counts[op["status"]] = counts.get(op["status"], 0) + 1
        pool = first["pools"]["event"]
        table.add_row(
            first["scenario"], str(len(first["ops"])),
            ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            f"{first['sim_time_us']:.1f}",
            f"peak {pool['peak_in_use']}, misses {pool['misses']}",
            "[green]none[/green]" if not bad else f"[red]{', '.join(bad)}[/red]",
        )
    show.table(table)
    return all_ok


def demo_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hipsem demo", description=__doc__)
    parser.add_argument("--seeds", type=int_at_least("--seeds", 1), default=5,
                        help="seeds per example, at least 1 (default 5)")
    parser.add_argument("--quick", action="store_true", help="examples only")
    parser.add_argument("--plain", action="store_true",
                        help="plain output even on a terminal (the default into a pipe)")
    args = parser.parse_args(argv)
    show = output(args.plain)
    ok = run_examples(show, args.seeds)
    if not args.quick:
        _optional_parts(show)
    return 0 if ok else 1


def _optional_parts(show: Output) -> None:
    try:
        from model.fuzz.cli import demo_fuzz
    except ImportError:
        pass
    else:
        demo_fuzz(show)
    try:
        from model.planning.cli import demo_plan
    except ImportError:
        pass
    else:
        demo_plan(show)
