"""Fuzzing throughput and seeded-defect campaigns (figures for docs/fuzzing.md).

    .venv/bin/python benchmarks/bench_fuzz.py [--examples N] [--max-ops K] [--runs R]

1. Throughput: generated examples per second on one core (one process), generation,
   SimPy simulation and checking included, for scenarios of up to `--max-ops` ops.
2. Defects: for each seeded defect, `--runs` campaigns (Hypothesis seeds 0..R-1): the
   examples and seconds needed to find it (median), and the size of the shrunk
   counterexample against the hand-minimal one in tests/property/minimal/.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from model.core.defects import Defect
from model.fuzz.campaign import CampaignConfig, evaluate, run_campaign
from model.scenario.parse import load_scenario
from model.strategies import FuzzCase, cases, scenario_size

MINIMAL = Path(__file__).resolve().parent.parent / "tests" / "property" / "minimal"


BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 40))


def throughput(examples: int, max_ops: int) -> tuple[float, float, dict[str, tuple[int, float]]]:
    """Overall examples/s, mean size, and per size bucket (count, evaluated examples/s).

    The bucket rates time simulation + checking only (generation is shared overhead that
    Hypothesis does not attribute to one example), so they show how the cost grows with
    the size of the graph.
    """
    sizes: list[int] = []
    evaluated: list[tuple[int, float]] = []

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(max_ops=max_ops))
    def body(case: FuzzCase) -> None:
        size = scenario_size(case.scenario)
        sizes.append(size)
        t0 = time.perf_counter()
        evaluate(case)
        evaluated.append((size, time.perf_counter() - t0))

    start = time.perf_counter()
    body()
    seconds = time.perf_counter() - start
    buckets = {}
    for lo, hi in BUCKETS:
        times = [t for n, t in evaluated if lo <= n <= hi]
        if times:
            buckets[f"{lo}-{hi}"] = (len(times), len(times) / sum(times))
    return len(sizes) / seconds, statistics.mean(sizes), buckets


def full_size_throughput(examples: int, ops: int) -> tuple[float, float]:
    """Examples/s for graphs of (nearly) exactly `ops` ops: generation, simulation and
    checking included; the same building blocks as `scenarios()`, with a fixed length."""
    from hypothesis import strategies as st

    from model.strategies import shapes
    from model.strategies.graph import build_scenario, decode_item
    from model.strategies.scenarios import _CODES, _STOP_BITS

    @st.composite
    def exactly(draw: st.DrawFn) -> list[object]:  # item_lists without the stop choice
        return [decode_item(draw(_CODES) >> _STOP_BITS) for _ in range(ops)]

    sizes: list[int] = []
    full = st.builds(build_scenario, shapes(), exactly(), st.just(ops))

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(scenario=full))
    def body(case: FuzzCase) -> None:
        sizes.append(scenario_size(case.scenario))
        evaluate(case)

    start = time.perf_counter()
    body()
    return len(sizes) / (time.perf_counter() - start), statistics.mean(sizes)


def defects(runs: int, only: list[Defect] | None = None) -> None:
    print(f"{'defect':24} {'property':22} {'examples':>8} {'find s':>7} {'total s':>7} "
          f"{'size':>5} {'minimal':>7}")
    for defect in only or list(Defect):
        found, secs, total, sizes, props = [], [], [], [], set()
        for seed in range(runs):
            r = run_campaign(CampaignConfig(examples=20_000, seed=seed,
                                            defects=frozenset({defect}), restarts=2,
                                            faults=defect.needs_faults))
            if r.failure is None:
                continue
            found.append(r.found_at or 0)
            secs.append(r.found_seconds or 0.0)
            total.append(r.seconds)
            sizes.append(r.failure.size)
            props.update(r.failure.properties)
        minimal = scenario_size(load_scenario(MINIMAL / f"{defect.value}.json"))
        print(f"{defect.value:24} {','.join(sorted(props)):22} "
              f"{statistics.median(found) if found else '-':>8} "
              f"{statistics.median(secs) if secs else float('nan'):>7.2f} "
              f"{statistics.median(total) if total else float('nan'):>7.2f} "
              f"{max(sizes) if sizes else '-':>5} {minimal:>7}  ({len(found)}/{runs} found)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--examples", type=int, default=3000)
    p.add_argument("--max-ops", type=int, default=40)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--defect", action="append", default=[], metavar="NAME",
                   help="only the defects table, for these defects (repeatable)")
    args = p.parse_args()
    if args.defect:
        defects(args.runs, [Defect.parse(name) for name in args.defect])
        return
    rate, mean, buckets = throughput(args.examples, args.max_ops)
    print(f"throughput: {rate:.0f} examples/s (max_ops {args.max_ops}, mean size "
          f"{mean:.1f} ops, {args.examples} examples, one core)")
    for bucket, (count, per_s) in buckets.items():
        print(f"  {bucket:>6} ops: {count:5d} examples, simulation + checking "
              f"{per_s:7.0f} examples/s")
    rate, mean = full_size_throughput(args.examples // 3, args.max_ops)
    print(f"full-size graphs: {rate:.0f} examples/s (mean size {mean:.1f} ops, "
          f"{args.examples // 3} examples, generation + simulation + checking, one core)")
    defects(args.runs)


if __name__ == "__main__":
    main()
