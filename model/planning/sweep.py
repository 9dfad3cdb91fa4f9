"""Sweeps: every (variant, capacity, replication) run, in parallel processes.

Replication r of every capacity and every variant uses seed `seed + r` (common random
numbers: capacities are compared on the same submissions). Runs are independent, so the
results do not depend on `jobs` or on completion order; they are returned sorted.

Parallelism: `jobs > 1` uses a `ProcessPoolExecutor`; on Linux its workers are forked
(no `if __name__ == "__main__"` guard needed in callers' scripts; the CLI's progress display
runs no thread, so forking is safe), elsewhere spawned. Each worker receives the workloads
once, through its initializer. `jobs == 1` runs in this process.

Invariant: the returned lists hold exactly len(capacities) x replications results per
variant, ordered by (capacity, replication).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from model.planning.simulate import RunResult, simulate
from model.planning.workload import Workload


@dataclass(frozen=True, slots=True)
class SweepSpec:
    capacities: tuple[int, ...]
    replications: int
    duration_s: float
    warmup_s: float = 0.0
    seed: int = 0
    jobs: int = 1
    coalesce_calls: bool = True  # the modelling approximation of `simulate` (planning.md)


@dataclass(frozen=True, slots=True)
class Job:
    variant: int
    capacity: int
    replication: int


OnResult = Callable[[Job, RunResult], None]

_installed: list[Workload] = []


def _install(workloads: Sequence[Workload]) -> None:
    _installed[:] = workloads


def _run(job: Job, spec: SweepSpec) -> tuple[Job, RunResult]:
    workload = _installed[job.variant]
    return job, simulate(workload, job.capacity, spec.seed + job.replication, spec.duration_s,
                         spec.warmup_s, spec.coalesce_calls)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def jobs_of(spec: SweepSpec, variants: int) -> list[Job]:
    return [Job(v, c, r) for v in range(variants) for c in spec.capacities
            for r in range(spec.replications)]


def run_sweep(workloads: Sequence[Workload], spec: SweepSpec,
              on_result: OnResult | None = None) -> list[list[RunResult]]:
    """Run every job; per variant, the results ordered by (capacity, replication)."""
    jobs = jobs_of(spec, len(workloads))
    done: dict[Job, RunResult] = {}
    for job, result in _execute(workloads, spec, jobs):
        done[job] = result
        if on_result is not None:
            on_result(job, result)
    return [[done[j] for j in jobs if j.variant == v] for v in range(len(workloads))]


def _execute(workloads: Sequence[Workload], spec: SweepSpec,
             jobs: list[Job]) -> Iterator[tuple[Job, RunResult]]:
    if spec.jobs <= 1 or len(jobs) <= 1:
        _install(workloads)
        for job in jobs:
            yield _run(job, spec)
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    workers = min(spec.jobs, len(jobs))
    with ProcessPoolExecutor(workers, context, _install, (list(workloads),)) as pool:
        futures = [pool.submit(_run, job, spec) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
