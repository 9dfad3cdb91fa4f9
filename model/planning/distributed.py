"""A sweep's runs as Dask tasks (`hipsem plan --workers N | --scheduler ADDRESS`).

Every (variant, capacity, replication) job is one task running `sweep.run_job` on a worker;
the workloads are sent to every worker once (`Client.scatter(..., broadcast=True)`). Runs
are seeded by their replication, so the plan is the same as with `--jobs` or in one
process. A worker lost mid-sweep has its runs re-run elsewhere by the scheduler. Ctrl-C
cancels the runs not started and stops waiting for the running ones (a run is not
interruptible; local workers are stopped with the cluster); `sweep.run_sweep` keeps what
finished.

Importing this module imports nothing of Dask until `execute_on_dask` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from model.planning.simulate import RunResult
from model.planning.sweep import Job, OnResult, SweepInterrupted, SweepSpec, run_job
from model.planning.workload import Workload

STOP_GRACE_S = 0.5  # runs are not cooperative: after Ctrl-C, do not wait for them


def job_task(workload: Workload, job: Job, spec: SweepSpec, *, stop: Callable[[], bool],
             report: Callable[[int], None], attempt: str) -> RunResult:
    """One run on a worker."""
    return run_job(workload, job, spec)


def run_on_dask(workloads: Sequence[Workload], spec: SweepSpec, jobs: list[Job],
                on_result: OnResult | None = None) -> dict[Job, RunResult]:
    """Run every job on the cluster of `spec`, calling `on_result` as results arrive.
    Raises ClusterError if the cluster cannot be used, SweepInterrupted on Ctrl-C."""
    from model.distributed import connected, run_tasks

    done: dict[Job, RunResult] = {}
    with connected(spec.dask_workers, spec.scheduler) as cluster:
        shared: list[Any] = cluster.client.scatter(list(workloads), broadcast=True)
        plain = replace(spec, dask_workers=None, scheduler=None)

        def arrived(index: int, result: RunResult) -> None:
            done[jobs[index]] = result
            if on_result is not None:
                on_result(jobs[index], result)

        outcome = run_tasks(cluster, job_task,
                            [(shared[j.variant], j, plain) for j in jobs],
                            on_result=arrived, stop_grace_s=STOP_GRACE_S)
    if outcome.interrupted:
        raise SweepInterrupted(done)
    return done


__all__ = ["job_task", "run_on_dask"]
