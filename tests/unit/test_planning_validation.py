"""Analytic validation: the model the report names predicts the simulated pools.

Each model (model/planning/models.py) is checked against the real core over the SimPy
device: M/M/1 per stream convolved over queues (thread mode), the kernel-stream ->
callback-stream tandem (callback mode), M^X/G/1 for Poisson bursts on one queue, and
M/G/inf for Poisson steps spread round-robin over lightly loaded queues; the simulated
fixed-pool miss probability's 95% interval must contain the printed analytic value at
every (pool, capacity) point. Workloads outside every model get "none applies" with the
reason. benchmarks/analytic_grid.py runs the whole grid (1..64 queues, utilization
0.1..0.9, both modes); docs/planning.md records its result.

The default profile checks a representative subset briefly; HIPSEM_PROFILE=thorough
checks more loads with more replications.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from model.planning.analysis import PoolPoint, poisson_at_least
from model.planning.models import choose
from model.planning.parse import parse_workload
from model.planning.plan import Plan, plan_workload
from model.planning.simulate import PlanningRun, simulate
from model.planning.sweep import SweepSpec
from model.planning.workload import Workload

THOROUGH = os.environ.get("HIPSEM_PROFILE") == "thorough"
_spec = importlib.util.spec_from_file_location(
    "hipsem_callback_phases", Path(__file__).resolve().parents[2] / "benchmarks"
    / "callback_phases.py")
assert _spec is not None and _spec.loader is not None
phases = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = phases
_spec.loader.exec_module(phases)


def poisson_workload(rate_hz: float, queues: int, mean_us: float,
                     completion: str = "callback", arrivals: dict[str, Any] | None = None,
                     timing: dict[str, float] | None = None) -> Workload:
    return parse_workload({
        "format": "hipsem/workload-1", "name": f"poisson-{rate_hz:g}", "queues": queues,
        "completion": completion, "timing": timing or {},
        "kernels": {"k": {"kind": "exponential", "mean_us": mean_us}},
        "graphs": {"one": {"shape": "single", "kernel": "k"}},
        "processes": [{"graph": "one", "queue_offset": "round-robin",
                       "arrivals": arrivals or {"kind": "poisson", "rate_hz": rate_hz}}],
    })


def sweep(workload: Workload, capacities: tuple[int, ...], replications: int,
          duration_s: float) -> Plan:
    spec = SweepSpec(capacities, replications, duration_s, seed=11, jobs=2)
    return plan_workload(workload, [], spec, 1e-3)[0]


def assert_mginf(plan: Plan) -> None:
    """Every (pool, capacity): the analytic value is near the simulated fixed-pool one.

    Per point: inside the 95% interval, widened by half its width (a point outside is a
    5% event; the widening keeps the fixed seeds from making the test brittle) — and at
    least 3/4 of the points inside the plain interval.
    """
    points: list[PoolPoint] = [p for pp in plan.pools.values() for p in pp.points]
    assert plan.validation is not None
    for p in points:
        assert p.analytic is not None
        half = (p.fixed_miss.hi - p.fixed_miss.lo) / 2
        assert p.fixed_miss.contains(p.analytic, half), (
            f"{p.pool} N={p.capacity}: simulated {p.fixed_miss} vs M/G/inf {p.analytic:.4g} "
            f"(a={p.mean_in_use:.3f})")
    inside, total = plan.validation
    assert inside >= 0.75 * total


# Thread mode holds are short (~50 µs): a 3 µs event creation on a miss then delays the
# same action's timepoint acquisition enough to bias the timepoint tail low by ~10% at
# small capacities (misses feeding back into the dynamics, which M/G/inf ignores). That
# case makes creation free, so it tests the statistics alone.
FREE_CREATE = {"create_event_us": 0.0}

# (rate Hz, queues, mean kernel µs, completion, capacities, simulated s per run when
# thorough, timing): a = rate x hold goes from ~1 to ~9. Holds include ~100 µs of
# host-callback latency in callback mode.
LOADS = [
    pytest.param(10_000, 32, 30, "callback", (1, 2, 3, 4), 0.2, None, id="a~1.3-callback"),
    pytest.param(30_000, 64, 30, "callback", (2, 4, 6, 8), 0.2, None, id="a~4-callback"),
    pytest.param(20_000, 32, 50, "thread", (1, 2, 3, 4), 0.2, FREE_CREATE, id="a~1-thread",
                 marks=pytest.mark.thorough),
    pytest.param(8_000, 256, 1000, "callback", (6, 9, 12, 15), 0.5, None, id="a~9-callback",
                 marks=pytest.mark.thorough),
]


@pytest.mark.parametrize(("rate", "queues", "mean_us", "completion", "caps", "seconds",
                          "timing"), LOADS)
def test_poisson_submissions_match_the_mginf_prediction(
        rate: float, queues: int, mean_us: float, completion: str, caps: tuple[int, ...],
        seconds: float, timing: dict[str, float] | None,
        request: pytest.FixtureRequest) -> None:
    thorough = request.node.get_closest_marker("thorough") is not None
    if thorough and not THOROUGH:
        pytest.skip("long check: set HIPSEM_PROFILE=thorough")
    replications, duration = (8, seconds) if THOROUGH else (4, 0.04)
    workload = poisson_workload(rate, queues, mean_us, completion, timing=timing)
    plan = sweep(workload, caps, replications, duration)
    assert plan.model.name == "M/G/inf" and not plan.overloaded_runs
    assert_mginf(plan)


def test_the_cores_pool_never_misses_more_than_a_fixed_pool_of_the_same_size() -> None:
    workload = poisson_workload(30_000, 8, 30)
    for capacity in (2, 4, 8):
        result = simulate(workload, capacity, seed=5, duration_s=0.02)
        for window in (result.event, result.timepoint):
            assert window.misses <= window.fixed_pool_misses(capacity)
            assert window.creates == window.misses


def test_bursts_miss_far_more_than_the_formula_says() -> None:
    bursty = poisson_workload(0, 32, 30, arrivals={"kind": "burst", "size": 8,
                                                   "rate_hz": 1250})
    plan = sweep(bursty, (4, 8), 2, 0.04)
    assert plan.validation is None and "steps arrive in batches" in plan.model.reasons[0]
    for p in plan.pools["event"].points:
        formula = poisson_at_least(p.mean_in_use, p.capacity)
        assert p.fixed_miss.mean > 3 * formula, (p.capacity, p.fixed_miss, formula)


def independent_queues(queues: int, rho: float, completion: str, mean_us: float = 30.0,
                       burst: int = 1, timing: dict[str, float] | None = None) -> Workload:
    """One Poisson process per queue (fixed offsets): the bottleneck stream at `rho`."""
    per_queue = rho / (mean_us if completion == "thread" else 101.0) * 1e6 / burst
    arrivals: dict[str, Any] = ({"kind": "poisson", "rate_hz": per_queue} if burst == 1
                                else {"kind": "burst", "size": burst, "rate_hz": per_queue})
    return parse_workload({
        "format": "hipsem/workload-1", "name": f"q{queues}-{rho}-{completion}",
        "queues": queues, "completion": completion, "timing": timing or {},
        "kernels": {"k": {"kind": "exponential", "mean_us": mean_us}},
        "graphs": {"one": {"shape": "single", "kernel": "k"}},
        "processes": [{"name": f"p{q}", "graph": "one", "queue_offset": q,
                       "arrivals": arrivals} for q in range(queues)],
    })


# (queues, utilization, completion, kernel µs, burst, capacities, model, simulated s, warm-up)
QUEUEING = [
    pytest.param(1, 0.5, "thread", 30, 1, (2, 6), "M/M/1 per stream", 0.15, 0.02,
                 id="mm1-q1-0.5"),
    pytest.param(4, 0.3, "thread", 30, 1, (3, 7), "M/M/1 per stream, convolved over 4 "
                 "queues", 0.1, 0.02, id="mm1-q4-0.3"),
    pytest.param(4, 0.3, "callback", 30, 1, (3, 6), "M/M/1 -> M/G/1 tandem per queue, "
                 "convolved over 4 queues", 0.15, 0.02, id="tandem-q4-0.3"),
    pytest.param(1, 0.5, "thread", 1000, 4, (2, 6, 12), "M^X/G/1 per stream", 2.0, 0.3,
                 id="batch4-q1-0.5"),
    pytest.param(4, 0.7, "thread", 30, 1, (13, 25), "M/M/1 per stream, convolved over 4 "
                 "queues", 0.3, 0.05, id="mm1-q4-0.7", marks=pytest.mark.thorough),
    pytest.param(16, 0.5, "thread", 30, 1, (20, 31), "M/M/1 per stream, convolved over 16 "
                 "queues", 0.1, 0.02, id="mm1-q16-0.5", marks=pytest.mark.thorough),
]


@pytest.mark.parametrize(("queues", "rho", "completion", "mean_us", "burst", "caps", "model",
                          "seconds", "warmup"), QUEUEING)
def test_the_queueing_models_predict_the_simulated_pools(
        queues: int, rho: float, completion: str, mean_us: float, burst: int,
        caps: tuple[int, ...], model: str, seconds: float, warmup: float) -> None:
    workload = independent_queues(queues, rho, completion, mean_us, burst)
    spec = SweepSpec(caps, 4, seconds, warmup, seed=0, jobs=2)
    plan = plan_workload(workload, [], spec, 1e-3)[0]
    assert plan.model.name == model and not plan.overloaded_runs
    for pp in plan.pools.values():
        for p in pp.points:
            assert p.agrees, (f"{p.pool} N={p.capacity}: simulated {p.fixed_miss} vs "
                              f"{model} {p.analytic:.4g}")


def _tandem(queues: int) -> str:
    return "M/M/1 -> M/G/1 tandem per queue" + (
        f", convolved over {queues} queues" if queues > 1 else "")


SLOW_QUERY = {"query_event_us": 25.0}  # the completion loop's query holds the event 25 us

# (queues, callback-stream utilization, capacities, simulated s, warm-up, timing): the
# tandem over the grid of benchmarks/analytic_grid.py (exponential 30 us kernels).
# 16 queues at 0.5 missed before the model counted the completion loop's query after the
# hand-off and the later enqueue of chained actions (docs/planning.md); with a 25 us
# query the model without that term predicts 0.19 at N = 6, not the simulated ~0.25.
TANDEM = [
    pytest.param(1, 0.7, (3, 7), 0.3, 0.02, None, id="tandem-q1-0.7"),
    pytest.param(16, 0.5, (18, 25), 0.15, 0.01, None, id="tandem-q16-0.5"),
    pytest.param(4, 0.5, (6, 9), 0.3, 0.02, SLOW_QUERY, id="tandem-q4-0.5-slow-query"),
    pytest.param(64, 0.1, (11, 16), 0.05, 0.01, None, id="tandem-q64-0.1"),
    pytest.param(4, 0.9, (26, 47), 1.0, 0.1, None, id="tandem-q4-0.9",
                 marks=pytest.mark.thorough),
    pytest.param(16, 0.7, (33, 45), 0.3, 0.03, None, id="tandem-q16-0.7",
                 marks=pytest.mark.thorough),
    pytest.param(64, 0.5, (65, 79), 0.2, 0.02, None, id="tandem-q64-0.5",
                 marks=pytest.mark.thorough),
    pytest.param(16, 0.5, (18, 25), 0.5, 0.02, SLOW_QUERY, id="tandem-q16-0.5-slow-query",
                 marks=pytest.mark.thorough),
]


@pytest.mark.parametrize(("queues", "rho", "caps", "seconds", "warmup", "timing"), TANDEM)
def test_the_callback_tandem_predicts_the_simulated_pools(
        queues: int, rho: float, caps: tuple[int, ...], seconds: float, warmup: float,
        timing: dict[str, float] | None) -> None:
    workload = independent_queues(queues, rho, "callback", timing=timing)
    # a far tail of heavily loaded queues varies a lot from run to run (4 queues at 0.9,
    # N = 47: 0.0107 over seeds 0-3, 0.0160 [0.0068-0.0252] over 16 others; model 0.0195)
    spec = SweepSpec(caps, 8 if THOROUGH else 4, seconds, warmup, seed=0, jobs=2)
    plan = plan_workload(workload, [], spec, 1e-3)[0]
    assert plan.model.name == _tandem(queues) and not plan.overloaded_runs, (
        plan.model.reasons)
    for pp in plan.pools.values():
        for p in pp.points:
            assert p.agrees, (f"{p.pool} N={p.capacity}: simulated {p.fixed_miss} vs "
                              f"{plan.model.name} {p.analytic:.4g}")


def test_the_callback_phases_are_the_models_terms() -> None:
    """The phases the tandem adds to the streams' queueing, as the simulated platform
    observed them (benchmarks/callback_phases.py): the completion loop's query after the
    hand-off, and the kernel's wait for its host function's enqueue (queueing.enqueue_wait,
    with chained actions; without them it would be 1.29 us here, measured ~1.48)."""
    workload = independent_queues(16, 0.5, "callback")
    choice = choose(workload)
    run = PlanningRun(workload, 18, seed=3)
    clock = phases.PhaseClock(run)
    run.run(0.15, 0.01)
    measured = clock.phases(0.01e6, 0.15e6)
    terms = phases.model_terms(choice)
    for name in ("hand-off to query", "enqueue wait"):
        values = measured[name]
        mean = sum(values) / len(values)
        se = (sum((v - mean) ** 2 for v in values) / (len(values) - 1) / len(values)) ** 0.5
        assert abs(mean - terms[name]) <= 3 * se + 0.02, (name, mean, se, terms[name])


def test_mginf_is_wrong_where_streams_queue() -> None:
    """The case that M/G/inf got wrong: one queue at utilization 0.75 (M/M/1: rho^N)."""
    plan = plan_workload(independent_queues(1, 0.75, "thread"), [],
                         SweepSpec((2, 8), 4, 0.1, 0.02, seed=0, jobs=2), 1e-3)[0]
    for p in plan.pools["event"].points:
        assert p.agrees
        assert not p.fixed_miss.contains(poisson_at_least(p.mean_in_use, p.capacity))


@pytest.mark.parametrize(("workload", "reason"), [
    (poisson_workload(60_000, 4, 30, "thread"), "splits its Poisson steps round-robin"),
    (independent_queues(1, 0.9, "thread"), "not exactly Poisson"),
    (poisson_workload(0, 4, 30, arrivals={"kind": "periodic", "period_us": 100}),
     "periodic arrivals"),
    (independent_queues(1, 1.5, "callback"), "callback stream is overloaded"),
])
def test_a_workload_outside_every_model_gets_none_applies(workload: Workload,
                                                          reason: str) -> None:
    choice = choose(workload)
    assert not choice.applies and choice.name == "none"
    assert any(reason in r for r in choice.reasons), choice.reasons
