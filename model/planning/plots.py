"""PNG plots of a plan (matplotlib, Agg backend; nothing is shown on screen).

  miss_vs_capacity.png  per pool: the core pool's miss probability and the fixed-pool
                        miss probability against capacity, with 95% intervals, the
                        analytic model's curve (named in the legend) when one applies, the
                        target line and the recommended capacity marked;
  occupancy_ccdf.png    per pool: time-weighted P(in use >= n) at the largest capacity,
                        with the model's CCDF when one applies, and the recommended
                        capacity marked;
  whatif_miss.png       (with what-ifs) miss probability against capacity per variant,
                        the target line, each variant's recommendation marked and
                        overloaded variants flagged in the legend (dotted lines).

Zero probabilities cannot sit on a log axis: a point with no miss is drawn as an open
downward triangle at its 95% upper bound ("no miss seen: below this"), not joined to the
measured points; the lines join only measured (non-zero) points. Capacity and count axes
have integer ticks only. Invariant: every function writes exactly the file it returns and
closes its figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from model.planning.analysis import Interval, PoolPoint
from model.planning.plan import Plan, PoolPlan
from model.planning.report import POOL_TITLES, variant_label


def _bottom(points: Sequence[PoolPoint]) -> float:
    """The lowest value a panel must show: the smallest upper bound or positive estimate."""
    values = [v for p in points for v in (p.miss.hi, p.fixed_miss.hi, p.miss.mean,
                                          p.fixed_miss.mean) if v > 0]
    return min(values, default=1e-6)


def _integer_axis(axis: Any) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))


def _series(ax: Any, caps: list[int], ivs: list[Interval], label: str, marker: str,
            color: str) -> None:
    """Measured points with 95% intervals joined by a line; no-miss points drawn apart."""
    seen = [(c, iv) for c, iv in zip(caps, ivs, strict=True) if iv.mean > 0]
    if seen:
        xs = [c for c, _ in seen]
        means = [iv.mean for _, iv in seen]
        lower = [iv.mean - iv.lo for _, iv in seen]
        upper = [iv.hi - iv.mean for _, iv in seen]
        ax.errorbar(xs, means, yerr=[lower, upper], marker=marker, capsize=3, label=label,
                    color=color)
    zeros = [(c, iv.hi) for c, iv in zip(caps, ivs, strict=True) if iv.mean == 0]
    if zeros:
        ax.scatter([c for c, _ in zeros], [hi for _, hi in zeros], marker="v",
                   facecolors="none", edgecolors=color, zorder=3,
                   label=f"{label}: no miss seen (below its 95% bound)")


def _recommended(ax: Any, pp: PoolPlan) -> None:
    if pp.recommendation.capacity is not None:
        ax.axvline(pp.recommendation.capacity, color="green", linewidth=1.0, linestyle=":",
                   label=f"recommended {pp.recommendation.capacity}")


def _miss_axes(ax: Any, plan: Plan, pp: PoolPlan) -> None:
    caps = [p.capacity for p in pp.points]
    _series(ax, caps, [p.miss for p in pp.points], "core pool (keeps N idle)", "o", "C0")
    _series(ax, caps, [p.fixed_miss for p in pp.points], "fixed pool of N", "s", "C1")
    bottom = min(_bottom(pp.points), plan.target) / 3
    if pp.model_ccdf is not None:
        grid = list(range(1, max(caps) + 1))
        curve = [p for p in (_analytic_at(pp, n) for n in grid)]
        keep = [(n, v) for n, v in zip(grid, curve, strict=True) if v >= bottom]
        ax.plot([n for n, _ in keep], [v for _, v in keep], "--", color="black",
                label=f"analytic: {plan.model.name}")
    ax.axhline(plan.target, color="red", linewidth=0.8, label=f"target {plan.target:g}")
    _recommended(ax, pp)
    ax.set_yscale("log")
    ax.set_ylim(bottom=bottom, top=1.5)
    _integer_axis(ax.xaxis)
    ax.set_xlabel("capacity N")
    ax.set_ylabel("P(acquire misses)")
    ax.set_title(f"{POOL_TITLES[pp.pool]} pool")
    ax.legend(fontsize="x-small", loc="upper right", framealpha=0.85)


def _per_pool_figure(plan: Plan, path: Path, draw: Callable[[Any, Plan, PoolPlan], None],
                     title: str) -> Path:
    """One panel per pool, side by side, drawn by `draw`, saved to `path`."""
    fig, axes = plt.subplots(1, len(plan.pools), figsize=(11, 4.2), squeeze=False)
    for ax, pp in zip(axes[0], plan.pools.values(), strict=True):
        draw(ax, plan, pp)
    fig.suptitle(f"{plan.workload}: {title}")
    return _save(fig, path)


def plot_miss(plan: Plan, path: Path) -> Path:
    return _per_pool_figure(plan, path, _miss_axes, "miss probability against capacity")


def _analytic_at(pp: PoolPlan, n: int) -> float:
    """The model's P(acquire finds >= n) at a swept capacity, else its time-average tail."""
    for p in pp.points:
        if p.capacity == n and p.analytic is not None:
            return p.analytic
    assert pp.model_ccdf is not None
    return pp.model_ccdf[n] if n < len(pp.model_ccdf) else 0.0


def _ccdf_axes(ax: Any, plan: Plan, pp: PoolPlan) -> None:
    ns = [n for n, v in enumerate(pp.ccdf) if v > 0]
    ax.plot(ns, [pp.ccdf[n] for n in ns], marker="o", markersize=3,
            label="simulated (time-weighted)")
    positive = [v for v in pp.ccdf if v > 0]
    bottom = min(positive, default=1e-6) / 3
    if pp.model_ccdf is not None:
        keep = [(n, v) for n, v in enumerate(pp.model_ccdf) if v >= bottom]
        ax.plot([n for n, _ in keep], [v for _, v in keep], "--", color="black",
                label=f"analytic: {plan.model.name}")
    _recommended(ax, pp)
    ax.set_yscale("log")
    ax.set_ylim(bottom=bottom, top=1.5)
    _integer_axis(ax.xaxis)
    ax.set_xlabel("objects in use n")
    ax.set_ylabel("P(in use >= n)")
    ax.set_title(f"{POOL_TITLES[pp.pool]} pool, N={pp.points[-1].capacity}")
    ax.legend(fontsize="x-small", loc="upper right", framealpha=0.85)


def plot_ccdf(plan: Plan, path: Path) -> Path:
    return _per_pool_figure(plan, path, _ccdf_axes, "occupancy CCDF")


def plot_what_ifs(plans: Sequence[Plan], path: Path) -> Path:
    pools = list(plans[0].pools)
    fig, axes = plt.subplots(1, len(pools), figsize=(11, 4.2), squeeze=False)
    for ax, pool in zip(axes[0], pools, strict=True):
        bottom = min(min(_bottom(p.pools[pool].points) for p in plans), plans[0].target) / 3
        for i, plan in enumerate(plans):
            _what_if_series(ax, plan, plan.pools[pool], f"C{i % 10}")
        ax.axhline(plans[0].target, color="red", linewidth=0.8,
                   label=f"target {plans[0].target:g}")
        ax.set_yscale("log")
        ax.set_ylim(bottom=bottom, top=1.5)
        _integer_axis(ax.xaxis)
        ax.set_xlabel("capacity N")
        ax.set_ylabel("P(acquire misses), core pool")
        ax.set_title(f"{POOL_TITLES[pool]} pool (star: recommended)")
        ax.legend(fontsize="x-small", loc="upper right", framealpha=0.85)
    fig.suptitle("what-if comparison (open triangles: no miss seen, below the 95% bound)")
    return _save(fig, path)


def _what_if_series(ax: Any, plan: Plan, pp: PoolPlan, color: str) -> None:
    """One variant: measured points joined, no-miss points apart, its recommendation."""
    label = variant_label(plan)
    if plan.overloaded_runs:
        label += f" — OVERLOADED in {plan.overloaded_runs}/{plan.runs} runs"
    seen = [p for p in pp.points if p.miss.mean > 0]
    style = ":" if plan.overloaded_runs else "-"
    ax.plot([p.capacity for p in seen], [p.miss.mean for p in seen], marker="o",
            linestyle=style, color=color, label=label)
    zeros = [p for p in pp.points if p.miss.mean == 0]
    if zeros:
        ax.scatter([p.capacity for p in zeros], [p.miss.hi for p in zeros], marker="v",
                   facecolors="none", edgecolors=color, zorder=3)
    rec = pp.recommendation.capacity
    if rec is not None:
        point = next(p for p in pp.points if p.capacity == rec)
        ax.scatter([rec], [max(point.miss.mean, point.miss.hi)], marker="*", s=140,
                   color=color, zorder=4)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(plans: Sequence[Plan], out: Path) -> list[Path]:
    """All plots of the baseline (and the comparison when there are what-ifs)."""
    files = [plot_miss(plans[0], out / "miss_vs_capacity.png"),
             plot_ccdf(plans[0], out / "occupancy_ccdf.png")]
    if len(plans) > 1:
        files.append(plot_what_ifs(plans, out / "whatif_miss.png"))
    return files
