"""`hipsem diff --workers N | --scheduler ADDRESS`: one Dask task per scenario.

The scenarios (files and `--generated N`, drawn here from the seed, so the same on every
run) are compared on workers by `diff.diff_scenario`; each worker builds or finds its own
HIP runtime (`--hip-runtime`). Results come back in scenario order whatever the order
they finished in. Ctrl-C keeps the comparisons finished so far (`DiffOutcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hipbackend.diff import Comparison, diff_scenario
from model.scenario.types import Scenario


@dataclass(frozen=True, slots=True)
class DiffOutcome:
    comparisons: list[Comparison]  # in scenario order; only the finished ones
    interrupted: bool


def diff_task(scenario: Scenario, runtime: str, seed: int, sim_runs: int,
              limit_us: float | None, timing: Any, *, stop: Callable[[], bool],
              report: Callable[[int], None], attempt: str) -> Comparison:
    """Compare one scenario on a worker (`timing`: diff's --timing, as given)."""
    return diff_scenario(scenario, runtime, seed, sim_runs=sim_runs, limit_us=limit_us,
                         timing=timing)


def diff_on_dask(scenarios: Sequence[Scenario], runtime: str, seed: int, sim_runs: int,
                 limit_us: float | None, workers: int | None,
                 scheduler: str | None, timing: Any = None) -> DiffOutcome:
    """Compare every scenario on the cluster (ClusterError if it cannot be used)."""
    from model.distributed import connected, run_tasks

    with connected(workers, scheduler) as cluster:
        outcome = run_tasks(cluster, diff_task,
                            [(s, runtime, seed, sim_runs, limit_us, timing) for s in scenarios],
                            stop_grace_s=1.0)
    return DiffOutcome([outcome.results[i] for i in sorted(outcome.results)],
                       outcome.interrupted)


__all__ = ["DiffOutcome", "diff_on_dask", "diff_task"]
