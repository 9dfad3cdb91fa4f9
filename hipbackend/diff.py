"""`hipsem diff`: run scenarios on the SimPy and HIP backends and compare the reports.

For each scenario both backends run the same core; each run is checked by the checker,
and the two reports are compared on op statuses and on final semaphore values and
statuses. Only *determined* outcomes must agree: an op whose allowed statuses (the
checker's `expected_outcomes`) have more than one member — a timed wait racing its
signal, an op racing a failure — may legitimately end differently on real threads, so a
difference there is shown as "racy" and is not a disagreement. A semaphore is determined
when every op that signals or fails it is.

Exit codes: 0 all agree and neither backend has a violation; 1 a disagreement or a
violation; 2 invalid input or no usable HIP runtime (the message says what is missing).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from model.argtypes import int_at_least
from model.scenario.checker import check, expected_outcomes
from model.scenario.parse import load_scenario
from model.scenario.record import RunRecord
from model.scenario.types import Execute, Fail, Scenario, Signal


@dataclass(slots=True)
class Comparison:
    """The outcome of running one scenario on both backends."""

    scenario: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # what, sim, hip, verdict
    violations: dict[str, list[str]] = field(default_factory=dict)  # backend -> messages

    @property
    def disagreements(self) -> int:
        return sum(row[3] == "DISAGREE" for row in self.rows)

    @property
    def ok(self) -> bool:
        return not self.disagreements and not any(self.violations.values())

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "ok": self.ok, "disagreements": self.disagreements,
                "violations": self.violations,
                "rows": [dict(zip(("item", "sim", "hip", "verdict"), r, strict=True))
                         for r in self.rows]}


def _determined_semaphores(scenario: Scenario, outcomes: dict[str, frozenset[str]]) -> set[str]:
    racy: set[str] = set()
    for _, _, op in scenario.ops():
        touched = (set(op.signal) if isinstance(op, Execute)
                   else {op.semaphore} if isinstance(op, Signal | Fail) else set())
        if len(outcomes.get(op.id, frozenset())) != 1:
            racy |= touched
    return set(scenario.semaphores) - racy


def compare(scenario: Scenario, sim: RunRecord, hip: RunRecord) -> Comparison:
    """Compare two records of the same scenario (see the module docstring)."""
    outcomes = expected_outcomes(scenario)
    result = Comparison(scenario.name)
    for op_id, a in sim.ops.items():
        b = hip.ops[op_id].status
        determined = len(outcomes.get(op_id, frozenset())) == 1
        result.rows.append((f"op {op_id}", a.status, b, _verdict(a.status, b, determined)))
    determined_sems = _determined_semaphores(scenario, outcomes)
    for name, (value, status) in sim.semaphores.items():
        other = hip.semaphores[name]
        mine, theirs = f"{value} {status}", f"{other[0]} {other[1]}"
        result.rows.append((f"semaphore {name}", mine, theirs,
                            _verdict(mine, theirs, name in determined_sems)))
    result.violations = {
        backend: [f"{v.property} {v.op}: {v.message}" for v in check(scenario, record)]
        for backend, record in (("sim", sim), ("hip", hip))
    }
    return result


def _verdict(a: str, b: str, determined: bool) -> str:
    if a == b:
        return "agree"
    return "DISAGREE" if determined else "racy"


def diff_scenario(scenario: Scenario, runtime: str, seed: int = 0) -> Comparison:
    from hipbackend.runner import run_hip
    from model.sim.runner import run_sim

    return compare(scenario, run_sim(scenario, seed), run_hip(scenario, seed, runtime=runtime))


def generated_scenarios(count: int, seed: int) -> list[Scenario]:
    """`count` scenarios from the public strategies, reproducible from `seed`."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from model.strategies import scenarios

    drawn: list[Scenario] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=False), scenarios())
    def collect(_: Any, scenario: Scenario) -> None:
        if len(drawn) < count:
            drawn.append(scenario)

    collect()
    return [_renamed(s, f"generated-{seed}-{i}") for i, s in enumerate(drawn)]


def _renamed(scenario: Scenario, name: str) -> Scenario:
    from dataclasses import replace

    return replace(scenario, name=name)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hipsem diff", description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", type=Path, help="scenario files")
    p.add_argument("--generated", type=int_at_least("--generated"), metavar="N",
                   help="also N generated scenarios")
    p.add_argument("--seed", type=int_at_least("--seed"), default=0)
    p.add_argument("--hip-runtime", choices=["cpu", "rocm"], default="cpu")
    p.add_argument("--json", action="store_true")
    return p


def _table(console: Console, c: Comparison, runtime: str) -> None:
    table = Table(title=f"{c.scenario}: SimPy vs HIP ({runtime} runtime)")
    for column in ("item", "sim", "hip", "verdict"):
        table.add_column(column)
    style = {"agree": "green", "racy": "yellow", "DISAGREE": "bold red"}
    for item, a, b, verdict in c.rows:
        table.add_row(item, a, b, f"[{style[verdict]}]{verdict}[/]")
    console.print(table)
    for backend, messages in c.violations.items():
        for message in messages:
            console.print(f"[red]{backend} violation[/red] {message}")


def diff_main(argv: list[str]) -> int:
    from hipbackend.errors import RuntimeUnavailable
    from hipbackend.runtime import select_runtime

    args = _parser().parse_args(argv)
    if not args.scenarios and not args.generated:
        print("hipsem diff: give scenario files and/or --generated N", file=sys.stderr)
        return 2
    scenarios = [load_scenario(path) for path in args.scenarios]
    try:
        info = select_runtime(args.hip_runtime)
    except RuntimeUnavailable as error:
        print(f"hipsem diff: the HIP backend is unavailable: {error}", file=sys.stderr)
        return 2
    if args.generated:
        scenarios += generated_scenarios(args.generated, args.seed)
    results = [diff_scenario(s, args.hip_runtime, args.seed) for s in scenarios]
    if args.json:
        print(json.dumps({"runtime": info.description, "ok": all(r.ok for r in results),
                          "scenarios": [r.to_json() for r in results]}, indent=2))
    else:
        console = Console()
        if info.kind == "cpu":
            console.print("[dim]HIP backend on hipsem's CPU runtime (a test vehicle, "
                          "not a GPU)[/dim]")
        for r in results:
            _table(console, r, args.hip_runtime)
        bad = [r.scenario for r in results if not r.ok]
        console.print(f"{len(results) - len(bad)}/{len(results)} scenarios agree"
                      + (f"; failing: {', '.join(bad)}" if bad else ""))
    return 0 if all(r.ok for r in results) else 1
