"""Capacity plans: a sweep's runs turned into per-pool estimates and recommendations.

`plan_workload(workload, what_ifs, spec, target)` sweeps the baseline workload and each
what-if variant (`variants.apply`) over `spec.capacities` x `spec.replications` and returns
one `Plan` per variant, baseline first. Each `Plan` holds, per pool (event, timepoint), one
`PoolPoint` per capacity (`analysis.py`), the recommendation for the core's pool and for a
fixed-size pool (`recommend.py`), the time-weighted occupancy CCDF at the largest capacity,
and the analytic model that applies (`models.choose`), or why none does.

`partial_plans` makes the plans of an interrupted sweep from the capacities it finished.

Invariant: `plans[0]` is the baseline; a plan's `validation` is None exactly when no
analytic model applies (`plan.model.applies` is False).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from model.planning.analysis import (
    POOLS,
    PoolPoint,
    ccdf,
    points,
    prediction_at,
    time_histogram,
    window_of,
)
from model.planning.models import (
    ModelChoice,
    choose,
    input_check,
    mean_check,
    predicted_ccdf,
)
from model.planning.recommend import Recommendation, recommend
from model.planning.simulate import RunResult
from model.planning.sweep import Job, OnResult, SweepSpec, jobs_of, run_sweep
from model.planning.variants import apply
from model.planning.workload import WhatIf, Workload


@dataclass(frozen=True, slots=True)
class PoolPlan:
    pool: str
    points: list[PoolPoint]
    recommendation: Recommendation  # for the core's pool (keeps up to N idle objects)
    fixed_recommendation: Recommendation  # for a pool of exactly N objects
    ccdf: list[float]  # P(in use >= n), time-weighted, at the largest capacity
    model_ccdf: list[float] | None  # the model's P(in use >= n) there (None: no model)


@dataclass(frozen=True, slots=True)
class Plan:
    workload: str
    variant: WhatIf
    spec: SweepSpec
    target: float
    model: ModelChoice
    pools: dict[str, PoolPlan]
    acquisitions: int
    actions: int
    run_wall_s: float  # wall seconds summed over runs (CPU time of the sweep, roughly)
    runs: int
    overloaded_runs: int  # runs whose backlog grew with time (`RunResult.overloaded`)
    mean_unfinished: float  # actions unfinished at the end of a run, mean over runs

    @property
    def analytic(self) -> bool:
        """An analytic model applies (`model.name`, `model.assumptions`)."""
        return self.model.applies

    @property
    def always_overloaded(self) -> bool:
        """Every run overloaded: no capacity can be recommended."""
        return self.runs > 0 and self.overloaded_runs == self.runs

    @property
    def validation(self) -> tuple[int, int] | None:
        """(points where the analytic value lies in the interval, points checked)."""
        if not self.analytic:
            return None
        checked = [p.agrees for pp in self.pools.values() for p in pp.points]
        return sum(bool(a) for a in checked), len(checked)


BASELINE = WhatIf("baseline")
OVERLOADED = ("every run overloaded the simulated queues (the backlog grew with time), so "
              "no capacity is enough")


def make_plan(workload: Workload, variant: WhatIf, results: Sequence[RunResult],
              spec: SweepSpec, target: float) -> Plan:
    """Aggregate one variant's runs (see the module docstring)."""
    overloaded = sum(r.overloaded for r in results)
    model = choose(workload, overloaded, len(results), spec.coalesce_calls)
    per_pool = points(results, model)
    refutation = _refutation(model, per_pool, results) if model.queueing else None
    if refutation is not None:
        model = model.refuted(refutation)
        per_pool = points(results, model)
    largest = [r for r in results if r.capacity == max(spec.capacities)]
    every = bool(results) and overloaded == len(results)
    pools = {pool: _pool_plan(pool, per_pool[pool], largest, target, model, every)
             for pool in POOLS}
    return Plan(
        workload.name, variant, spec, target, model, pools,
        acquisitions=sum(r.acquisitions for r in results),
        actions=sum(r.actions for r in results),
        run_wall_s=sum(r.wall_s for r in results),
        runs=len(results),
        overloaded_runs=overloaded,
        mean_unfinished=sum(r.unfinished for r in results) / max(1, len(results)),
    )


def _refutation(model: ModelChoice, per_pool: dict[str, list[PoolPoint]],
                results: Sequence[RunResult]) -> str | None:
    """Why the runs refute the model: its kernel streams' input is not Poisson, or its
    mean in use misses the measured one at some (pool, capacity); else None."""
    launches = sum(r.launches for r in results)
    busy = sum(r.found_busy * r.launches for r in results) / max(1, launches)
    if (why := input_check(model.loads, launches, busy)) is not None:
        return why
    for pool, pts in per_pool.items():
        for p in pts:
            means = [window_of(r, pool).mean_in_use for r in results
                     if r.capacity == p.capacity]
            if p.analytic_mean is not None and (why := mean_check(p.analytic_mean, means)):
                return f"{pool} pool, capacity {p.capacity}: {why}"
    return None


def _pool_plan(pool: str, pts: list[PoolPoint], largest: Sequence[RunResult],
               target: float, model: ModelChoice, overloaded: bool) -> PoolPlan:
    observed = ccdf(time_histogram([window_of(r, pool) for r in largest]))
    prediction = prediction_at(model, pool, largest)
    if overloaded:
        none = Recommendation(None, target, OVERLOADED)
        recs = none, none
    else:
        recs = (recommend([(p.capacity, p.miss) for p in pts], target),
                recommend([(p.capacity, p.fixed_miss) for p in pts], target))
    return PoolPlan(
        pool, pts, *recs,
        observed,
        None if prediction is None else predicted_ccdf(prediction, len(observed) + 3),
    )


def plan_workload(workload: Workload, what_ifs: Sequence[WhatIf], spec: SweepSpec,
                  target: float, on_result: OnResult | None = None) -> list[Plan]:
    """Sweep the baseline and every what-if; one plan each, baseline first."""
    variants = [BASELINE, *what_ifs]
    workloads = [workload] + [apply(workload, w) for w in what_ifs]
    results = run_sweep(workloads, spec, on_result)
    return [make_plan(w, v, r, spec, target)
            for w, v, r in zip(workloads, variants, results, strict=True)]


def partial_plans(workload: Workload, what_ifs: Sequence[WhatIf], spec: SweepSpec,
                  target: float, done: Mapping[Job, RunResult]) -> list[Plan]:
    """The plans of an interrupted sweep: only the capacities whose runs all finished, for
    every variant and replication (empty if none did)."""
    variants = [BASELINE, *what_ifs]
    jobs = jobs_of(spec, len(variants))
    finished = tuple(c for c in spec.capacities
                     if all(j in done for j in jobs if j.capacity == c))
    if not finished:
        return []
    sub = replace(spec, capacities=finished)
    workloads = [workload] + [apply(workload, w) for w in what_ifs]
    return [make_plan(w, v, [done[j] for j in jobs_of(sub, len(variants)) if j.variant == i],
                      sub, target)
            for i, (w, v) in enumerate(zip(workloads, variants, strict=True))]
