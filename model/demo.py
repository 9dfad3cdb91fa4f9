"""`hipsem demo`: hipsem's main job on its embedded default backend (SimPy).

Runs every bundled example scenario on the SimPy backend and checks it, then (when those
parts are installed) a short fuzz campaign against the clean core and one seeded defect,
and a small capacity plan. Exit 0 when every example passed its checks.

`--json` prints one `hipsem/demo-1` object instead of the tables: `ok`, `examples` (per
bundled scenario: ops, statuses of the first seed, violated properties over all seeds),
`fuzz` (`clean` and `defect`: the objects `hipsem fuzz --json` prints) and `plan` (the
object `hipsem plan --json` prints), each part absent when `--quick` or not installed.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from model.argtypes import int_at_least
from model.output import Output, as_output, output

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FORMAT = "hipsem/demo-1"


def run_examples(console: Console | Output, seeds: int,
                 rows: list[dict[str, Any]] | None = None) -> bool:
    """Run and check every bundled example under `seeds` seeds and print a table; True
    when no run had a violation. Each example's row is appended to `rows` if given."""
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
        if rows is not None:
            rows.append({"scenario": first["scenario"], "file": path.name, "seeds": seeds,
                         "ops": len(first["ops"]), "statuses": counts,
                         "sim_time_us": first["sim_time_us"],
                         "event_pool": {"peak_in_use": pool["peak_in_use"],
                                        "misses": pool["misses"]},
                         "violations": bad})
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
    parser = argparse.ArgumentParser(prog="hipsem demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int_at_least("--seeds", 1), default=5,
                        help="seeds per example, at least 1 (default 5)")
    parser.add_argument("--quick", action="store_true", help="examples only")
    parser.add_argument("--plain", action="store_true",
                        help="plain output even on a terminal (the default into a pipe)")
    parser.add_argument("--json", action="store_true",
                        help=f"print one {FORMAT} object instead of the tables")
    args = parser.parse_args(argv)
    if args.json and args.plain:
        parser.error("--json and --plain: choose one output")
    show = _silent() if args.json else output(args.plain)
    document: dict[str, Any] = {"format": FORMAT, "ok": False, "seeds": args.seeds,
                                "examples": []}
    ok = run_examples(show, args.seeds, document["examples"])
    if not args.quick:
        document.update(_optional_parts(show))
    document["ok"] = ok
    if args.json:
        print(json.dumps(document, indent=2))
    return 0 if ok else 1


def _silent() -> Output:
    """An `Output` whose tables go nowhere (`--json` prints only the document)."""
    sink = Console(file=io.StringIO(), color_system=None, width=10_000)
    return Output(True, sink, sink)


def _optional_parts(show: Output) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    try:
        from model.fuzz.cli import demo_fuzz
    except ImportError:
        pass
    else:
        parts["fuzz"] = demo_fuzz(show)
    try:
        from model.planning.cli import demo_plan
        from model.planning.report import plan_document
    except ImportError:
        pass
    else:
        parts["plan"] = plan_document(demo_plan(show))
    return parts
