"""Sweeps: every (variant, capacity, replication) run, in parallel processes.

Replication r of every capacity and every variant uses seed `seed + r` (common random
numbers: capacities are compared on the same submissions). Runs are independent, so the
results do not depend on `jobs` or on completion order; they are returned sorted.

Parallelism: `jobs > 1` uses a `multiprocessing.Pool`; on Linux its workers are forked
(no `if __name__ == "__main__"` guard needed in callers' scripts; the CLI's progress display
runs no thread, so forking is safe), elsewhere spawned. Each worker receives the workloads
once, through its initializer, and ignores Ctrl-C: on Ctrl-C (or any error) the parent
terminates them at once rather than waiting for their runs. `jobs == 1` runs in this
process. `dask_workers` / `scheduler` run every job as a Dask task instead
(`model.planning.distributed`).

Ctrl-C: `run_sweep` raises `SweepInterrupted` (a KeyboardInterrupt) carrying every run
finished so far.

Invariant: the returned lists hold exactly len(capacities) x replications results per
variant, ordered by (capacity, replication).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
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
    dask_workers: int | None = None  # run on this many local Dask worker processes
    scheduler: str | None = None  # run on the Dask cluster of this scheduler address


@dataclass(frozen=True, slots=True)
class Job:
    variant: int
    capacity: int
    replication: int


OnResult = Callable[[Job, RunResult], None]

_installed: list[Workload] = []


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; `done` holds every run finished before it."""

    def __init__(self, done: dict[Job, RunResult]) -> None:
        super().__init__()
        self.done = done


def _install(workloads: Sequence[Workload]) -> None:
    _installed[:] = workloads


def _install_worker(workloads: Sequence[Workload]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _install(workloads)


def run_job(workload: Workload, job: Job, spec: SweepSpec) -> RunResult:
    """One run of the sweep (replication r: seed `spec.seed + r`)."""
    return simulate(workload, job.capacity, spec.seed + job.replication, spec.duration_s,
                    spec.warmup_s, spec.coalesce_calls)


def _run(job: Job, spec: SweepSpec) -> tuple[Job, RunResult]:
    return job, run_job(_installed[job.variant], job, spec)


def _run_packed(item: tuple[Job, SweepSpec]) -> tuple[Job, RunResult]:
    return _run(*item)


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
    if spec.dask_workers is not None or spec.scheduler is not None:
        from model.planning.distributed import run_on_dask

        done = run_on_dask(workloads, spec, jobs, on_result)
        return [[done[j] for j in jobs if j.variant == v] for v in range(len(workloads))]
    try:
        for job, result in _execute(workloads, spec, jobs):
            done[job] = result
            if on_result is not None:
                on_result(job, result)
    except SweepInterrupted as stop:
        done.update(stop.done)
        raise SweepInterrupted(done) from None
    except KeyboardInterrupt:
        raise SweepInterrupted(done) from None
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
    pool = context.Pool(workers, _install_worker, (list(workloads),))
    try:
        yield from pool.imap_unordered(_run_packed, [(job, spec) for job in jobs])
    except BaseException:
        pool.terminate()  # at once: the workers' runs are not waited for
        raise
    else:
        pool.close()
    finally:
        pool.join()
