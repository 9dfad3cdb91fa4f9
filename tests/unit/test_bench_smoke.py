"""Smoke test of benchmarks/bench_growth.py: its scenarios are valid and pass, its fit is
right. (The benchmarks themselves are not part of the test suite.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("hipsem_bench_growth",
                                               ROOT / "benchmarks" / "bench_growth.py")
assert _spec is not None and _spec.loader is not None
growth = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = growth
_spec.loader.exec_module(growth)


@pytest.mark.parametrize("family", sorted(growth.FAMILIES))
def test_growth_scenarios_run_clean(family: str, tmp_path: Path) -> None:
    make = growth.FAMILIES[family][0]
    seconds, report = growth.end_to_end(make(2 if family == "queues" else 24), tmp_path)
    assert report["ok"] and seconds > 0
    assert all(op["status"] == "OK" for op in report["ops"].values())


def test_fitted_exponent() -> None:
    assert growth.fitted_exponent([1, 2, 4, 8], [3, 6, 12, 24]) == pytest.approx(1.0)
    assert growth.fitted_exponent([1, 2, 4], [1, 4, 16]) == pytest.approx(2.0)
