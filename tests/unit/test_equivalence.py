"""Golden-output equivalence: reports and traces byte-identical for the same seed.

Every case of tests/golden/cases.py (bundled examples under several seeds and every
seeded defect, the saved counterexamples, drawn and large synthetic scenarios) is run as
`hipsem run FILE --json --trace T` runs it, and the report and trace must equal the
goldens under tests/golden/expected/ byte for byte. The goldens were written by the code
before the speed work on the semaphores and the hot path; a speed change must not move
one byte. Legitimate changes of what a run reports are refreshed with one command,
`.venv/bin/python -m tests.golden.regenerate` (its docstring says when that is right).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.golden.cases import EXPECTED, ROOT, Case, cases, outputs

CASES = cases()


def _first_difference(expected: str, actual: str) -> str:
    diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "now",
                                n=2, lineterm="")
    return "\n".join(list(diff)[:40])


def test_every_golden_belongs_to_a_case() -> None:
    wanted = {c.report_file for c in CASES} | {c.trace_file for c in CASES}
    present = set(EXPECTED.iterdir())
    assert present == wanted, (
        f"goldens out of step with tests/golden/cases.py: missing "
        f"{sorted(p.name for p in wanted - present)[:5]}, stale "
        f"{sorted(p.name for p in present - wanted)[:5]}; if the case list changed on "
        "purpose, run .venv/bin/python -m tests.golden.regenerate")


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_outputs_are_byte_identical(case: Case, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report, trace = outputs(case, tmp_path / "trace.json")
    expected_report = case.report_file.read_text()
    assert report == expected_report, (
        f"{case.key}: the report changed (regenerate only if that was meant: "
        f"tests/golden/regenerate.py)\n{_first_difference(expected_report, report)}")
    expected_trace = case.trace_file.read_bytes()
    assert trace == expected_trace, (
        f"{case.key}: the trace changed\n"
        f"{_first_difference(expected_trace.decode(), trace.decode())}")
