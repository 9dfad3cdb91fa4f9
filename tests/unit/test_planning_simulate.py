"""Planning runs: the real core driven by workload processes, observed by pool windows.

A run is a pure function of (workload, capacity, seed); the pool size changes how the
core copes, never what is submitted; the instrumented pools count exactly what the core's
own pool statistics count; warm-up, host waits, gates, replays and overload behave as
docs/planning.md says.
"""

from __future__ import annotations

import random
from itertools import islice
from typing import Any

import pytest

from model.planning.arrivals import gaps, sampler
from model.planning.parse import parse_workload
from model.planning.plan import plan_workload
from model.planning.report import summary_lines
from model.planning.simulate import PlanningRun, simulate
from model.planning.sweep import SweepSpec
from model.planning.workload import ArrivalKind, Arrivals, Duration, DurationKind, Workload


def workload(graph: dict[str, Any] | None = None, arrivals: dict[str, Any] | None = None,
             **top: Any) -> Workload:
    return parse_workload({
        "format": "hipsem/workload-1", "name": "sim", "queues": 4,
        "kernels": {"k": {"kind": "exponential", "mean_us": 40}},
        "graphs": {"g": graph or {"shape": "fan", "width": 3, "kernel": "k", "spread": True}},
        "processes": [{"graph": "g", "queue_offset": "round-robin",
                       "arrivals": arrivals or {"kind": "poisson", "rate_hz": 3000}}],
        **top,
    })


def test_a_run_is_a_pure_function_of_workload_capacity_and_seed() -> None:
    w = workload()
    a, b = simulate(w, 4, seed=3, duration_s=0.01), simulate(w, 4, seed=3, duration_s=0.01)
    assert (a.event, a.timepoint, a.actions) == (b.event, b.timepoint, b.actions)
    c = simulate(w, 4, seed=4, duration_s=0.01)
    assert c.event != a.event


def test_the_capacity_changes_misses_but_never_the_submissions() -> None:
    w = workload()
    small, large = simulate(w, 1, 7, 0.01), simulate(w, 64, 7, 0.01)
    assert small.actions == large.actions and small.steps == large.steps
    assert small.event.misses > 0 and large.event.misses == 0
    assert small.event.create_us == pytest.approx(small.event.misses * 3.0, rel=0.11)


def test_instrumented_pools_count_what_the_core_pools_count() -> None:
    run = PlanningRun(workload(), capacity=2, seed=1)
    run.run(0.01)
    for pool in (run.events, run.timepoints):
        stats, occ = pool.statistics(), pool.occupancy
        assert (occ.acquires, occ.misses, occ.creates) == (stats.acquires, stats.misses,
                                                           stats.created)
        assert (occ.destroys, occ.in_use) == (stats.destroyed, stats.in_use)
        assert sum(occ.seen_at) == occ.acquires


def test_the_window_excludes_the_warmup() -> None:
    result = simulate(workload(), 8, 1, duration_s=0.02, warmup_s=0.005)
    assert result.event.window_us == pytest.approx(15_000)
    assert sum(result.event.time_at) == pytest.approx(15_000)


def test_gates_park_steps_and_host_waits_close_the_loop() -> None:
    graph = {"shape": "chain", "length": 2, "kernel": "k", "gate_us": 200,
             "host_wait": True}
    result = simulate(workload(graph, {"kind": "periodic", "period_us": 300}), 8, 1, 0.02)
    assert result.drained
    # Each step: 2 published signals + its parked waits (gate, chain) + 1 host wait.
    assert result.timepoint.acquires > 3 * result.actions / 2
    assert result.host_wait_us > 0.5 * 20_000  # the host mostly waits for its steps


def test_a_replay_without_loop_submits_each_recorded_launch_once() -> None:
    w = parse_workload({
        "format": "hipsem/workload-1", "queues": 2,
        "processes": [{"replay": {"submissions": [[0, 0, 10], [5, 1, 10], [5, 0, 3]],
                                  "loop": False}}],
    })
    result = simulate(w, 4, 1, 0.01)
    assert result.actions == 3 and result.event.acquires == 3 and result.drained


def test_an_overloaded_workload_is_flagged() -> None:
    w = workload({"shape": "single", "kernel": "k"}, {"kind": "poisson", "rate_hz": 200_000},
                 queues=1)
    plan = plan_workload(w, [], SweepSpec((8,), 1, 0.01), 1e-3)[0]
    assert plan.overloaded_runs == 1 and plan.mean_unfinished > 100
    assert plan.always_overloaded
    assert any("no capacity can be recommended" in line for line in summary_lines(plan))
    assert all(pp.recommendation.capacity is None for pp in plan.pools.values())
    assert plan.model.name == "none" and "overloaded" in plan.model.reasons[0]


@pytest.mark.parametrize(("arrivals", "per_s"), [
    (Arrivals(ArrivalKind.POISSON, rate_hz=2000), 2000),
    (Arrivals(ArrivalKind.PERIODIC, period_us=250), 4000),
    (Arrivals(ArrivalKind.BURST, rate_hz=100, size=8), 800),
    (Arrivals(ArrivalKind.BURST, period_us=1000, size=3), 3000),
    (Arrivals(ArrivalKind.RAMP, rate_hz=1000, to_hz=3000, over_s=1.0), 2000),
])
def test_arrival_processes_deliver_their_rates(arrivals: Arrivals, per_s: float) -> None:
    rng, t, steps = random.Random(1), 0.0, 0
    for gap, count in gaps(arrivals, rng):
        t += gap
        if t > 1e6:
            break
        steps += count
    assert steps == pytest.approx(per_s, rel=0.06)


@pytest.mark.parametrize("duration", [
    Duration(DurationKind.FIXED, 7.0), Duration(DurationKind.EXPONENTIAL, 20.0),
    Duration(DurationKind.LOGNORMAL, 3.0, 0.5), Duration(DurationKind.UNIFORM, 5.0, 15.0),
    Duration(DurationKind.EMPIRICAL, samples=(1.0, 2.0, 9.0)),
])
def test_kernel_samplers_have_the_distributions_mean(duration: Duration) -> None:
    draw = sampler(duration, random.Random(2))
    values = list(islice(iter(draw, None), 40_000))
    assert sum(values) / len(values) == pytest.approx(duration.mean_us, rel=0.03)
    assert min(values) >= 0


def test_the_replay_example_plans_without_overloading() -> None:
    """examples/workloads/replay.toml: its baseline is a meaningful workload (it used to
    overload every run in callback mode, so nothing was ever recommended)."""
    from pathlib import Path

    from model.planning.parse import load_workload

    root = Path(__file__).resolve().parents[2]
    w = load_workload(root / "examples" / "workloads" / "replay.toml")
    plan = plan_workload(w, [], SweepSpec((4, 16), 1, 0.02), 1e-3)[0]
    assert plan.overloaded_runs == 0 and plan.actions > 1000
