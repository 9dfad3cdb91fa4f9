"""Property-suite set-up: Hypothesis profiles (HIPSEM_PROFILE = dev | ci | thorough) and a
summary of the seeded-defect campaigns at the end of the run."""

from __future__ import annotations

from typing import Any

from model.fuzz import profiles

PROFILE = profiles.register()
DEFECT_RESULTS: list[dict[str, Any]] = []


def pytest_report_header() -> str:
    return f"hipsem property profile: {PROFILE} ({profiles.ENV})"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not DEFECT_RESULTS:
        return
    tr = terminalreporter
    tr.section(f"seeded defects ({PROFILE} profile)")
    tr.line(f"{'defect':24} {'property':20} {'examples':>8} {'find s':>7} {'total s':>7} "
            f"{'size':>4} {'minimal':>7}")
    for r in DEFECT_RESULTS:
        tr.line(f"{r['defect']:24} {r['property']:20} {r['examples']:>8} "
                f"{r['find_s']:>7.2f} {r['total_s']:>7.2f} {r['size']:>4} {r['minimal']:>7}")
