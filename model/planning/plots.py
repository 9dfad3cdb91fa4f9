"""PNG plots of a plan (matplotlib, Agg backend; nothing is shown on screen).

  miss_vs_capacity.png  per pool: the core pool's miss probability and the fixed-pool
                        miss probability against capacity, with 95% intervals, and the
                        M/G/inf curve P(Poisson(a) >= N) when the workload is Poisson;
  occupancy_ccdf.png    per pool: time-weighted P(in use >= n) at the largest capacity,
                        with the Poisson(a) CCDF when the workload is Poisson, and the
                        recommended capacity marked;
  whatif_miss.png       (with what-ifs) miss probability against capacity per variant.

Zero probabilities cannot sit on a log axis: they are drawn at a floor (a tenth of one
miss over all acquires) with a downward marker. Invariant: every function writes exactly
the file it returns and closes its figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from model.planning.analysis import Interval, PoolPoint, poisson_at_least
from model.planning.plan import Plan, PoolPlan
from model.planning.report import POOL_TITLES, variant_label


def _floor(points: Sequence[PoolPoint]) -> float:
    return 0.1 / max(1, max(p.acquires for p in points))


def _series(ax: Any, caps: list[int], ivs: list[Interval], floor: float, label: str,
            marker: str) -> None:
    means = [max(iv.mean, floor) for iv in ivs]
    lower = [m - max(iv.lo, floor) for m, iv in zip(means, ivs, strict=True)]
    upper = [max(iv.hi, floor) - m for m, iv in zip(means, ivs, strict=True)]
    ax.errorbar(caps, means, yerr=[lower, upper], marker=marker, capsize=3, label=label)
    zeros = [c for c, iv in zip(caps, ivs, strict=True) if iv.mean == 0]
    if zeros:
        ax.scatter(zeros, [floor] * len(zeros), marker="v", color="grey", zorder=3)


def _miss_axes(ax: Any, plan: Plan, pp: PoolPlan) -> None:
    caps = [p.capacity for p in pp.points]
    floor = _floor(pp.points)
    _series(ax, caps, [p.miss for p in pp.points], floor, "core pool (keeps N idle)", "o")
    _series(ax, caps, [p.fixed_miss for p in pp.points], floor, "fixed pool of N", "s")
    if plan.poisson:
        a = pp.points[-1].mean_in_use
        grid = list(range(0, max(caps) + 1))
        curve = [max(poisson_at_least(a, n), floor / 10) for n in grid]
        ax.plot(grid, curve, "--", color="black", label=f"M/G/inf, a={a:.2f}")
    ax.axhline(plan.target, color="red", linewidth=0.8, label=f"target {plan.target:g}")
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor / 2)
    ax.set_xlabel("capacity N")
    ax.set_ylabel("P(acquire misses)")
    ax.set_title(f"{POOL_TITLES[pp.pool]} pool")
    ax.legend(fontsize="small")


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


def _ccdf_axes(ax: Any, plan: Plan, pp: PoolPlan) -> None:
    ns = list(range(len(pp.ccdf)))
    ax.plot(ns, pp.ccdf, marker="o", markersize=3, label="simulated (time-weighted)")
    if plan.poisson:
        a = pp.points[-1].mean_in_use
        grid = list(range(0, len(ns) + 3))
        ax.plot(grid, [poisson_at_least(a, n) for n in grid], "--", color="black",
                label=f"Poisson({a:.2f})")
    if pp.recommendation.capacity is not None:
        ax.axvline(pp.recommendation.capacity, color="green", linewidth=0.8,
                   label=f"recommended {pp.recommendation.capacity}")
    ax.set_yscale("log")
    positive = [v for v in pp.ccdf if v > 0]
    ax.set_ylim(bottom=min(positive, default=1e-6) / 3, top=1.5)
    ax.set_xlabel("objects in use n")
    ax.set_ylabel("P(in use >= n)")
    ax.set_title(f"{POOL_TITLES[pp.pool]} pool, N={pp.points[-1].capacity}")
    ax.legend(fontsize="small")


def plot_ccdf(plan: Plan, path: Path) -> Path:
    return _per_pool_figure(plan, path, _ccdf_axes, "occupancy CCDF")


def plot_what_ifs(plans: Sequence[Plan], path: Path) -> Path:
    pools = list(plans[0].pools)
    fig, axes = plt.subplots(1, len(pools), figsize=(11, 4.2), squeeze=False)
    for ax, pool in zip(axes[0], pools, strict=True):
        floor = min(_floor(p.pools[pool].points) for p in plans)
        for plan in plans:
            pts = plan.pools[pool].points
            ax.plot([p.capacity for p in pts], [max(p.miss.mean, floor) for p in pts],
                    marker="o", label=variant_label(plan))
        ax.set_yscale("log")
        ax.set_xlabel("capacity N")
        ax.set_ylabel("P(acquire misses), core pool")
        ax.set_title(f"{POOL_TITLES[pool]} pool")
        ax.legend(fontsize="small")
    fig.suptitle("what-if comparison")
    return _save(fig, path)


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
