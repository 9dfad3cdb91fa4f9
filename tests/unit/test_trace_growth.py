"""Trace building and writing grow linearly with the run (benchmarks/bench_trace.py has
the full table): 8x the executes costs far less than the 64x a quadratic term (a track
list, first-fit lanes over every lane, a flow-binding scan) would."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

from model.scenario.trace import chrome_trace, trace_problems, write_trace

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("hipsem_bench_trace",
                                               ROOT / "benchmarks" / "bench_trace.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench
_spec.loader.exec_module(bench)


def _cost(n: int, path: Path) -> float:
    scenario, record = bench.synthetic_run(n)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        write_trace(path, chrome_trace(scenario, record))
        best = min(best, time.process_time() - start)
    return best


def test_the_synthetic_run_makes_a_full_trace(tmp_path: Path) -> None:
    scenario, record = bench.synthetic_run(200)
    trace = chrome_trace(scenario, record)
    assert trace_problems(trace) == []
    names = {e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "thread_name"}
    assert {"q0 deferred (200)", "q0 deferred (50)"} & names  # parked spans overlap
    assert sum(e["ph"] == "s" for e in trace["traceEvents"]) == len(record.flows) == 200
    write_trace(tmp_path / "t.json", trace)
    assert json.loads((tmp_path / "t.json").read_text()) == trace


def test_trace_cost_grows_linearly(tmp_path: Path) -> None:
    small, large = _cost(300, tmp_path / "s.json"), _cost(2400, tmp_path / "l.json")
    assert large / small < 8 * 2.5, (small, large)
