"""A bounded generated campaign on IREE's driver: every violation it finds is explained
by a recorded finding (ireebackend/findings.py); anything else is new and must be
triaged (docs/iree.md) before it is recorded. CI runs a small one; the thorough profile a
larger one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ireebackend.campaign import run


def _unexplained(tmp_path: Path, examples: int, seed: int) -> list[dict[str, object]]:
    survey = run(examples, seed, 16, tmp_path, 20.0)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert survey.examples == examples == summary["examples"]
    assert summary["crashes"] == 0 and summary["hangs"] == 0
    return [c for c in summary["classes"] if c["finding"] == "unexplained"]


def test_a_small_campaign_finds_only_recorded_divergences(tmp_path: Path) -> None:
    assert _unexplained(tmp_path, 150, 7) == []


@pytest.mark.thorough
def test_a_larger_campaign_finds_only_recorded_divergences(tmp_path: Path) -> None:
    assert _unexplained(tmp_path, 400, 11) == []
