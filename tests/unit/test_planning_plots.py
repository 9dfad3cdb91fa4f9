"""The plan's plots: what each panel shows.

The recommended capacity is marked, the target drawn, a capacity with no miss is not
joined to the measured points (it is an open marker at its 95% upper bound), the
analytic curve is named after the model, overloaded what-ifs are flagged, and capacity
axes have integer ticks only.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from model.planning import plots
from model.planning.parse import parse_workload
from model.planning.plan import Plan, plan_workload
from model.planning.sweep import SweepSpec
from model.planning.workload import WhatIf


@pytest.fixture(scope="module")
def plans() -> list[Plan]:
    w = parse_workload({
        "format": "hipsem/workload-1", "name": "plots", "queues": 2, "completion": "thread",
        "kernels": {"k": {"kind": "exponential", "mean_us": 30}},
        "graphs": {"one": {"shape": "single", "kernel": "k"}},
        "processes": [{"name": f"p{q}", "graph": "one", "queue_offset": q,
                       "arrivals": {"kind": "poisson", "rate_hz": 10_000}} for q in (0, 1)],
    })
    spec = SweepSpec((1, 2, 4, 32), 2, 0.03, 0.005, seed=1, jobs=1)
    return plan_workload(w, [WhatIf("overload", rate=4.0)], spec, 0.05)


def _labels(ax: plt.Axes) -> list[str]:
    return [h.get_label() for h in ax.get_legend_handles_labels()[0]]


def test_the_miss_panel_marks_target_recommendation_model_and_unseen_misses(
        plans: list[Plan]) -> None:
    plan, pp = plans[0], plans[0].pools["event"]
    assert pp.recommendation.capacity is not None and plan.analytic
    fig, ax = plt.subplots()
    plots._miss_axes(ax, plan, pp)
    labels = _labels(ax)
    assert f"recommended {pp.recommendation.capacity}" in labels
    assert f"target {plan.target:g}" in labels
    assert f"analytic: {plan.model.name}" in labels
    zero = [p.capacity for p in pp.points if p.fixed_miss.mean == 0]
    assert zero, "the largest capacity should see no miss"
    for line in ax.lines:
        if line.get_label() in ("fixed pool of N", "core pool (keeps N idle)"):
            assert not set(zero) & {int(x) for x in line.get_xdata()}
    assert any("no miss seen" in label for label in labels)
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks)
    plt.close(fig)


def test_the_what_if_panel_flags_overloaded_variants(plans: list[Plan],
                                                     tmp_path: Path) -> None:
    assert plans[1].always_overloaded and not plans[0].overloaded_runs
    path = plots.plot_what_ifs(plans, tmp_path / "w.png")
    assert path.stat().st_size > 0
    fig, ax = plt.subplots()
    plots._what_if_series(ax, plans[1], plans[1].pools["event"], "C1")
    assert "OVERLOADED" in _labels(ax)[0]
    assert ax.lines[0].get_linestyle() == ":"
    plt.close(fig)
