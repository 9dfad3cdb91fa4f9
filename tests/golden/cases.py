"""The cases of the golden-output test: which scenario, seed and defects each one runs.

A case runs exactly what `hipsem run FILE --seed S [--defect D] --json --trace T` runs on
the SimPy backend (`model.cli.run_scenario_file`) and yields two outputs, compared byte
for byte with the files under tests/golden/expected/: the JSON report as `--json` prints
it and the trace file as `--trace` writes it.

Cases: every bundled example under seeds 0, 1 and 3, clean and (seed 0) under every
seeded defect; the saved counterexamples (tests/property/minimal, their own replay seed
and defects) and the other scenario files of the suite; the drawn and synthetic scenarios
of tests/golden/scenarios (their replay seed and timing), clean and under two defects each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from model.core.defects import Defect

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).resolve().parent / "expected"
EXAMPLE_SEEDS = (0, 1, 3)


@dataclass(frozen=True)
class Case:
    """One golden run; `path` is relative to the repository root (it is in the report)."""

    key: str
    path: str
    seed: int | None  # None: the scenario's replay seed
    defects: tuple[Defect, ...] | None  # None: the scenario's replay defects

    @property
    def report_file(self) -> Path:
        return EXPECTED / f"{self.key}.report.json"

    @property
    def trace_file(self) -> Path:
        return EXPECTED / f"{self.key}.trace.json"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def cases() -> list[Case]:
    out: list[Case] = []
    defects = list(Defect)
    for path in sorted((ROOT / "examples").glob("*.json")):
        for seed in EXAMPLE_SEEDS:
            out.append(Case(f"example-{path.stem}-s{seed}", _rel(path), seed, ()))
        for d in defects:
            out.append(Case(f"example-{path.stem}-{d.value}", _rel(path), 0, (d,)))
    for folder, prefix in (("tests/property/minimal", "minimal"),
                           ("tests/hardware/scenarios", "hardware"),
                           ("tests/unit/data", "data")):
        for path in sorted((ROOT / folder).glob("*.json")):
            out.append(Case(f"{prefix}-{path.stem}", _rel(path), None, None))
    for i, path in enumerate(sorted((ROOT / "tests/golden/scenarios").glob("*.json"))):
        out.append(Case(f"golden-{path.stem}", _rel(path), None, ()))
        for j in (i, i + 7):
            d = defects[j % len(defects)]
            out.append(Case(f"golden-{path.stem}-{d.value}", _rel(path), None, (d,)))
    return out


def outputs(case: Case, trace_path: Path) -> tuple[str, bytes]:
    """Run `case` (cwd must be the repository root): the report text and trace bytes."""
    from model.cli import run_scenario_file

    report = run_scenario_file(Path(case.path), "sim", case.seed,
                               list(case.defects) if case.defects is not None else None,
                               trace=trace_path)
    return json.dumps(report, indent=2) + "\n", trace_path.read_bytes()
