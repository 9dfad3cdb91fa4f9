"""A findings campaign on IREE's HIP driver: every generated case run, every violation kept.

`hipsem fuzz --backend iree` stops at the first failure and shrinks it. To survey IREE's
driver, this campaign instead runs `--examples` generated cases (the property suite's
strategy, `model.strategies.cases`, made expressible) without stopping, judges each with
the checker, and groups the violations into classes (property + the message with numbers
and op/semaphore names blanked). For each class it keeps the smallest case seen, saved
as a scenario file under `--out` (replayable with `hipsem run FILE --backend iree`), and
writes `summary.json` (counts per class, the known finding that explains each class
(`ireebackend.findings`) or "unexplained", crashes, hangs, seconds).

    .venv/bin/python -m ireebackend.campaign --examples 3000 --seed 0 --out out/iree-campaign

Exit codes: 0 the campaign ran (whatever it found), 2 IREE unavailable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from ireebackend.findings import explain
from ireebackend.runner import DEFAULT_LIMIT_S, shared_worker
from ireebackend.runtime import IreeUnavailable, require_iree
from ireebackend.session import expressible
from model.scenario.checker import Violation, check
from model.scenario.parse import scenario_to_json
from model.scenario.types import Fail, Scenario
from model.strategies.scenarios import FuzzCase, cases

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_QUOTED = re.compile(r"\b[a-z]+\d+[a-z]?\b")  # generated op ids: x0, s3, h1w, ...
_SEMAPHORE = re.compile(r"\b[A-Z]\b")  # generated semaphore names: A, B, ...


def violation_class(v: Violation) -> str:
    """A violation's class: its property and its message with numbers and ids blanked."""
    text = _NUMBER.sub("N", _SEMAPHORE.sub("S", _QUOTED.sub("ID", v.message)))
    return f"{v.property}: {text[:160]}"


@dataclass(slots=True)
class Survey:
    examples: int = 0
    clean: int = 0
    classes: Counter[str] = field(default_factory=Counter)
    smallest: dict[str, tuple[int, Scenario, list[str]]] = field(default_factory=dict)
    crashes: int = 0
    hangs: int = 0
    without_fail: set[str] = field(default_factory=set)  # classes seen with no fail op
    started: float = field(default_factory=time.monotonic)

    def add(self, scenario: Scenario, violations: list[Violation]) -> None:
        self.examples += 1
        if not violations:
            self.clean += 1
            return
        size = len(scenario.ops())
        messages = [f"{v.property} [{v.op}]: {v.message}" for v in violations]
        fails = any(isinstance(op, Fail) for _, _, op in scenario.ops())
        for key in sorted({violation_class(v) for v in violations}):
            self.classes[key] += 1
            if not fails:
                self.without_fail.add(key)
            if key not in self.smallest or size < self.smallest[key][0]:
                self.smallest[key] = (size, scenario, messages)
        if any(v.property == "crash" and "Hang" in v.message for v in violations):
            self.hangs += 1
        elif any(v.property == "crash" for v in violations):
            self.crashes += 1


def run(examples: int, seed: int, max_ops: int, out: Path, limit_s: float) -> Survey:
    survey = Survey()
    worker = shared_worker()

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(cases(max_ops, 1, False))
    def body(case: FuzzCase) -> None:
        scenario = expressible(case.scenario)
        record = worker.run(scenario, 0, limit_s)
        survey.add(scenario, check(scenario, record))
        if survey.examples % 100 == 0:
            print(f"{survey.examples} examples, {len(survey.classes)} classes, "
                  f"{time.monotonic() - survey.started:.0f} s", file=sys.stderr)

    body()
    _save(survey, out, seed)
    return survey


def _save(survey: Survey, out: Path, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    classes = []
    for i, (key, count) in enumerate(survey.classes.most_common()):
        size, scenario, messages = survey.smallest[key]
        path = out / f"class{i:02d}.json"
        named = replace(scenario, name=f"iree-class{i:02d}", description=key)
        path.write_text(json.dumps(scenario_to_json(named), indent=2) + "\n")
        finding = explain(key, key not in survey.without_fail)
        classes.append({"class": key, "finding": finding.id if finding else "unexplained",
                        "count": count, "smallest": str(path), "ops": size,
                        "messages": messages})
    summary = {"examples": survey.examples, "clean": survey.clean, "seed": seed,
               "crashes": survey.crashes, "hangs": survey.hangs,
               "worker_starts": shared_worker().starts,
               "seconds": round(time.monotonic() - survey.started, 1), "classes": classes}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ireebackend.campaign", description=__doc__)
    p.add_argument("--examples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-ops", type=int, default=24)
    p.add_argument("--limit", type=float, default=DEFAULT_LIMIT_S, help="per run, seconds")
    p.add_argument("--out", type=Path, default=Path("out/iree-campaign"))
    args = p.parse_args(argv)
    try:
        require_iree()
    except IreeUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    survey = run(args.examples, args.seed, args.max_ops, args.out, args.limit)
    print(f"{survey.examples} examples, {survey.clean} clean, {len(survey.classes)} "
          f"violation classes, {survey.crashes} crashes, {survey.hangs} hangs; "
          f"{args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
