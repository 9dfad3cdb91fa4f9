"""Plan reports: JSON document (`hipsem/plan-1`), CSV rows, and rich tables.

The JSON document carries everything: settings, and per plan (baseline, then what-ifs)
and pool, the recommendation and one entry per capacity. The CSV has one row per
(variant, pool, capacity). Tables: the baseline in detail (one per pool), then, when there
are what-ifs, a comparison table. Nothing here prints: the CLI gives a console.

Invariant: `plan_document` is JSON-serialisable (no NaN/inf: missing values are null).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table

from model.planning.analysis import Interval, PoolPoint
from model.planning.plan import Plan, PoolPlan

FORMAT = "hipsem/plan-1"
POOL_TITLES = {"event": "device events", "timepoint": "timepoints"}


def _interval(iv: Interval) -> dict[str, float]:
    return {"mean": iv.mean, "lo": iv.lo, "hi": iv.hi}


def point_document(p: PoolPoint) -> dict[str, Any]:
    return {
        "capacity": p.capacity,
        "replications": p.replications,
        "acquires": p.acquires,
        "misses": p.misses,
        "miss_probability": _interval(p.miss),
        "fixed_pool_miss_probability": _interval(p.fixed_miss),
        "analytic_miss_probability": p.analytic,
        "analytic_within_interval": p.agrees,
        "analytic_mean_in_use": p.analytic_mean,
        "mean_in_use": p.mean_in_use,
        "acquire_rate_hz": p.acquire_rate_hz,
        "mean_hold_us": p.mean_hold_us,
        "creates_per_s": p.creates_per_s,
        "destroys_per_s": p.destroys_per_s,
        "occupancy": dict(p.occupancy),
        "miss_cost_us": p.miss_cost_us,
        "added_latency_us_per_acquire": p.added_us_per_acquire,
        "hip_call_time_fraction": p.hip_time_fraction,
    }


def _pool_document(pp: PoolPlan) -> dict[str, Any]:
    return {
        "recommended_capacity": pp.recommendation.capacity,
        "reason": pp.recommendation.reason,
        "fixed_pool_recommended_capacity": pp.fixed_recommendation.capacity,
        "fixed_pool_reason": pp.fixed_recommendation.reason,
        "points": [point_document(p) for p in pp.points],
        "occupancy_ccdf": pp.ccdf,
        "analytic_occupancy_ccdf": pp.model_ccdf,
    }


def _plan_document(plan: Plan) -> dict[str, Any]:
    validation = plan.validation
    return {
        "variant": {"name": plan.variant.name,
                    "changes": {k: getattr(v, "value", v)
                                for k, v in plan.variant.changes().items()}},
        "analytic": {"applies": plan.analytic, "model": plan.model.name,
                     "assumptions": list(plan.model.assumptions),
                     "reasons": list(plan.model.reasons),
                     "queues": [{"queue": ld.queue, "rate_hz": ld.rate_hz,
                                 "batch": ld.batch,
                                 "kernel_utilization": ld.kernel_utilization,
                                 "callback_utilization": ld.callback_utilization,
                                 "worker_utilization": ld.worker_utilization}
                                for ld in plan.model.loads],
                     "within_interval": None if validation is None else list(validation)},
        "pools": {pool: _pool_document(pp) for pool, pp in plan.pools.items()},
        "totals": {"acquisitions": plan.acquisitions, "actions": plan.actions,
                   "run_wall_s": plan.run_wall_s, "runs": plan.runs,
                   "overloaded_runs": plan.overloaded_runs,
                   "always_overloaded": plan.always_overloaded,
                   "mean_unfinished_actions": plan.mean_unfinished},
    }


def plan_document(plans: Sequence[Plan], wall_s: float | None = None) -> dict[str, Any]:
    spec = plans[0].spec
    return {
        "format": FORMAT,
        "workload": plans[0].workload,
        "settings": {
            "capacities": list(spec.capacities), "replications": spec.replications,
            "duration_s": spec.duration_s, "warmup_s": spec.warmup_s, "seed": spec.seed,
            "jobs": spec.jobs, "target_miss": plans[0].target,
        },
        "wall_s": wall_s,
        "plans": [_plan_document(p) for p in plans],
    }


CSV_COLUMNS = (
    "variant", "pool", "capacity", "replications", "acquires", "misses", "miss_p", "miss_lo",
    "miss_hi", "fixed_miss_p", "fixed_miss_lo", "fixed_miss_hi", "analytic_p",
    "mean_in_use", "acquire_rate_hz", "mean_hold_us", "creates_per_s", "destroys_per_s",
    "occ_p50", "occ_p99", "occ_p99.9", "occ_max", "miss_cost_us",
    "added_latency_us_per_acquire", "recommended", "fixed_recommended", "analytic_model",
)


def _row(plan: Plan, pp: PoolPlan, p: PoolPoint) -> list[Any]:
    occ = p.occupancy
    return [
        plan.variant.name, pp.pool, p.capacity, p.replications, p.acquires, p.misses,
        p.miss.mean, p.miss.lo, p.miss.hi, p.fixed_miss.mean, p.fixed_miss.lo, p.fixed_miss.hi,
        "" if p.analytic is None else p.analytic, p.mean_in_use, p.acquire_rate_hz,
        p.mean_hold_us, p.creates_per_s, p.destroys_per_s, occ["p50"], occ["p99"],
        occ["p99.9"], occ["max"], p.miss_cost_us, p.added_us_per_acquire,
        _cap(pp.recommendation.capacity), _cap(pp.fixed_recommendation.capacity),
        plan.model.name,
    ]


def _cap(capacity: int | None) -> str:
    return "" if capacity is None else str(capacity)


def plan_csv(plans: Sequence[Plan]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for plan in plans:
        for pp in plan.pools.values():
            for p in pp.points:
                writer.writerow(_row(plan, pp, p))
    return out.getvalue()


# ----------------------------------------------------------------------------- tables


def prob(value: float | None) -> str:
    if value is None:
        return "-"
    return "0" if value == 0 else f"{value:.1e}"


def ci(iv: Interval) -> str:
    return f"{prob(iv.lo)}..{prob(iv.hi)}"


_DETAIL_COLUMNS = ("N", "miss P", "95% CI", "fixed-pool P", "analytic", "creates/s",
                   "destroys/s", "in use p50/p99/p99.9/max", "+us/acquire")


def pool_table(plan: Plan, pp: PoolPlan) -> Table:
    """One pool of one plan: a row per capacity (the recommended one in bold green)."""
    title = f"{POOL_TITLES[pp.pool]} pool — {plan.workload}"
    table = Table(title=title, title_justify="left", header_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for name in _DETAIL_COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    best = pp.recommendation.capacity
    for p in pp.points:
        occ = p.occupancy
        table.add_row(
            str(p.capacity), prob(p.miss.mean), ci(p.miss), prob(p.fixed_miss.mean),
            _analytic_cell(p), f"{p.creates_per_s:,.0f}", f"{p.destroys_per_s:,.0f}",
            f"{occ['p50']}/{occ['p99']}/{occ['p99.9']}/{occ['max']}",
            f"{p.added_us_per_acquire:.3f}",
            style="bold green" if p.capacity == best else None,
        )
    return table


def _analytic_cell(p: PoolPoint) -> str:
    if p.analytic is None:
        return "n/a"
    return prob(p.analytic) + ("" if p.agrees else " !")


def summary_lines(plan: Plan) -> list[str]:
    """Recommendations and the analytic verdict of one plan, as rich-markup lines."""
    lines = []
    for pp in plan.pools.values():
        first = pp.points[0]
        rec = pp.recommendation
        cap = "none" if rec.capacity is None else str(rec.capacity)
        cost = max(p.miss_cost_us for p in pp.points)
        lines.append(
            f"[bold]{POOL_TITLES[pp.pool]}[/]: recommended capacity [bold green]{cap}[/] — "
            f"{rec.reason}. Mean in use {first.mean_in_use:.2f} (acquire rate "
            f"{first.acquire_rate_hz:,.0f}/s x mean hold {first.mean_hold_us:.1f} us); "
            f"a miss costs {cost:.1f} us on the acquiring thread. A pool of exactly N "
            f"objects would need {_cap(pp.fixed_recommendation.capacity) or 'more than swept'}."
        )
    lines.append(analytic_line(plan))
    if plan.overloaded_runs:
        lines.append(overload_line(plan))
    return lines


def overload_line(plan: Plan) -> str:
    if plan.always_overloaded:
        return (f"[bold red]overloaded[/]: every run ({plan.runs}/{plan.runs}) overloaded the "
                f"simulated queues ({plan.mean_unfinished:,.0f} actions unfinished at the end "
                "on average): occupancy grows with the run length, so no capacity can be "
                "recommended. Lower the rate, add queues, or try completion=thread (in "
                "callback mode each queue retires at most one action per host-callback "
                "latency).")
    return (f"[bold red]warning[/]: the workload overloads the simulated queues in "
            f"{plan.overloaded_runs}/{plan.runs} runs ({plan.mean_unfinished:,.0f} actions "
            "unfinished at the end on average): occupancy grows with the run length, so no "
            "capacity is enough. Lower the rate, add queues, or try completion=thread (in "
            "callback mode each queue retires at most one action per host-callback latency).")


def analytic_line(plan: Plan) -> str:
    validation = plan.validation
    if validation is None:
        return ("Analytic model: [yellow]none applies[/] — "
                + "; ".join(plan.model.reasons) + ".")
    ok, n = validation
    colour = "green" if ok == n else "red"
    means = ", ".join(f"{POOL_TITLES[pp.pool]} {pp.points[-1].analytic_mean:.2f} predicted / "
                      f"{pp.points[-1].mean_in_use:.2f} measured"
                      for pp in plan.pools.values() if pp.points[-1].analytic_mean is not None)
    return (f"Analytic model: [bold]{plan.model.name}[/] (assumptions: "
            + "; ".join(plan.model.assumptions) + f"). Mean in use: {means}. Its P(an "
            f"acquire finds >= N in use) lies within the fixed-pool interval at "
            f"[{colour}]{ok}/{n}[/] (pool, capacity) points. The core's pool keeps surplus "
            "objects after a peak, so it misses less.")


def variant_label(plan: Plan) -> str:
    described = plan.variant.describe()
    name = plan.variant.name
    return name if name == described else f"{name} ({described})"


def comparison_table(plans: Sequence[Plan]) -> Table:
    """Baseline and what-ifs side by side: recommendation and miss P per capacity."""
    caps = plans[0].spec.capacities
    table = Table(title="what-if comparison (miss probability of the core's pool)",
                  title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for name in ("variant", "pool", "mean in use", "p99.9", "recommended"):
        table.add_column(name, justify="left" if name in ("variant", "pool") else "right")
    for c in caps:
        table.add_column(f"N={c}", justify="right", no_wrap=True)
    for plan in plans:
        for pp in plan.pools.values():
            first = pp.points[-1]
            table.add_row(
                variant_label(plan), POOL_TITLES[pp.pool],
                f"{first.mean_in_use:.2f}", str(first.occupancy["p99.9"]),
                "overload" if plan.overloaded_runs else _cap(pp.recommendation.capacity)
                or "none",
                *[prob(p.miss.mean) for p in pp.points],
            )
    return table
