"""Statistics of a plan: the M/G/inf formula, intervals, occupancy, and the recommendation.

The recommendation is the smallest swept capacity from which on every capacity's 95%
upper bound is under the target; a run too short to resolve the target recommends
nothing and says so.
"""

from __future__ import annotations

import pytest
from scipy.stats import poisson

from model.planning.analysis import (
    Interval,
    ccdf,
    poisson_at_least,
    proportion,
    quantile,
    wilson,
)
from model.planning.models import choose
from model.planning.parse import parse_workload
from model.planning.recommend import recommend
from model.planning.workload import Workload


@pytest.mark.parametrize(("a", "n"), [(0.5, 1), (2.0, 4), (8.0, 16), (30.0, 32), (3.0, 0)])
def test_the_mginf_miss_probability_is_the_poisson_tail(a: float, n: int) -> None:
    assert poisson_at_least(a, n) == pytest.approx(poisson.sf(n - 1, a), rel=1e-9, abs=1e-300)


def test_wilson_bounds_a_zero_count_by_about_four_over_n() -> None:
    lo, hi = wilson(0, 10_000)
    assert lo == 0 and hi == pytest.approx(3.84 / 10_000, rel=0.01)


def test_the_interval_is_the_wider_of_student_and_wilson() -> None:
    spread = proportion([(10, 100), (30, 100), (20, 100)])
    assert spread.mean == pytest.approx(0.2)
    assert spread.lo < wilson(60, 300)[0]  # the replications disagree: Student is wider
    steady = proportion([(20, 100)] * 3)
    assert (steady.lo, steady.hi) == pytest.approx(wilson(60, 300))  # Student has zero width


def test_time_weighted_quantiles_and_ccdf() -> None:
    hist = [50.0, 30.0, 15.0, 4.0, 1.0]  # µs spent with 0..4 objects in use
    assert [quantile(hist, q) for q in (0.5, 0.8, 0.95, 0.99, 1.0)] == [0, 1, 2, 3, 4]
    assert ccdf(hist) == pytest.approx([1.0, 0.5, 0.2, 0.05, 0.01])


def iv(mean: float, hi: float) -> Interval:
    return Interval(mean, 0.0, hi)


RECOMMENDATIONS = [
    ("smallest meeting", [(8, iv(0.1, 0.2)), (16, iv(5e-4, 8e-4)), (32, iv(0, 1e-4))],
     16, "capacity 16 meets"),
    ("noise at a larger capacity", [(8, iv(1e-4, 5e-4)), (16, iv(9e-4, 2e-3)),
                                    (32, iv(0, 1e-4))], 32, "capacity 32 meets"),
    ("smallest swept already meets", [(8, iv(0, 1e-4)), (16, iv(0, 1e-4))], 8,
     "a smaller one may also do"),
    ("unresolved", [(8, iv(0.1, 0.2)), (16, iv(0, 4e-3))], None, "run longer"),
    ("missed", [(8, iv(0.3, 0.4)), (16, iv(0.1, 0.2))], None, "sweep larger capacities"),
    ("nothing swept", [], None, "no capacity was swept"),
]


@pytest.mark.parametrize(("case", "points", "capacity", "fragment"), RECOMMENDATIONS,
                         ids=[r[0] for r in RECOMMENDATIONS])
def test_recommendation_rules(case: str, points: list[tuple[int, Interval]],
                              capacity: int | None, fragment: str) -> None:
    rec = recommend(points, target=1e-3)
    assert rec.capacity == capacity
    assert fragment in rec.reason


def _workload(graph: dict[str, object], arrivals: dict[str, object]) -> Workload:
    return parse_workload({
        "format": "hipsem/workload-1", "queues": 2,
        "kernels": {"k": {"kind": "fixed", "us": 5}}, "graphs": {"g": graph},
        "processes": [{"name": "p", "graph": "g", "arrivals": arrivals}],
    })


@pytest.mark.parametrize(("graph", "arrivals", "model", "reasons"), [
    ({"shape": "single", "kernel": "k"}, {"kind": "poisson", "rate_hz": 10},
     "M/G/1 -> M/G/1 tandem per queue", []),
    ({"shape": "single", "kernel": "k"}, {"kind": "burst", "size": 4, "rate_hz": 10},
     "none", ["queue q0: a batch of 4 reaches the stream over 62 us (one issue each), more "
              "than 0.1 of a 5 us kernel, so its actions do not arrive together as M^X/G/1 "
              "assumes",
              "queue q0 gets batches in callback mode: the kernel stream's departures are "
              "then bursty, not the Poisson input the callback stream's model needs"]),
    ({"shape": "single", "kernel": "k"}, {"kind": "burst", "size": 4, "period_us": 10},
     "none", ["process p has burst arrivals (not Poisson)"]),
    ({"shape": "chain", "length": 3, "kernel": "k"}, {"kind": "poisson", "rate_hz": 10},
     "none", ["process p's steps have dependencies (parked waits; holds depend on other "
              "actions)"]),
    ({"shape": "single", "kernel": "k", "host_wait": True}, {"kind": "periodic",
                                                             "period_us": 10},
     "none", ["process p has periodic arrivals (not Poisson)", "process p waits on the "
              "host between steps (closed loop)"]),
])
def test_a_model_applies_only_where_its_assumptions_hold(
        graph: dict[str, object], arrivals: dict[str, object], model: str,
        reasons: list[str]) -> None:
    choice = choose(_workload(graph, arrivals))
    assert (choice.name, list(choice.reasons)) == (model, reasons)
    assert choice.applies == (not reasons)


def test_the_runs_refute_a_model_whose_assumptions_they_contradict() -> None:
    from model.planning.models import QueueLoad, input_check, mean_check

    loads = [QueueLoad("q0", 10_000, 1, 0.3, None)]
    # PASTA: Poisson input finds the stream busy 30% of the time
    assert input_check(loads, 100_000, 0.302) is None
    assert "burstier than Poisson" in (input_check(loads, 100_000, 0.33) or "")
    batches = [QueueLoad("q0", 10_000, 4, 0.3, None)]  # (0.3 + 3) / 4 = 0.825
    assert input_check(batches, 100_000, 0.826) is None
    assert input_check(loads, 100, 0.33) is None  # too few launches to tell
    # Little's law: the model's mean must match the measured one
    assert mean_check(2.0, [1.98, 2.03, 2.01]) is None
    assert "outside the measured" in (mean_check(2.3, [1.98, 2.03, 2.01]) or "")
