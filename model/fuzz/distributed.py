"""A sharded campaign (`model.fuzz.shards`) on Dask workers (`model.distributed`).

Every shard is one task: it runs, shrinks and minimizes on a worker and hands back its
`ShardResult`; the client merges them exactly as `shards.run_local` does, so the findings
are the same as in one process for the same seed, examples and shard size. A shared
Hypothesis example database, when asked for, is a directory that every worker opens by
the same path (docs/distributed.md says why a directory and not Redis).

Importing this module imports Dask (through `model.distributed` at call time only).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Sequence

from model.fuzz.campaign import CampaignConfig
from model.fuzz.shards import (
    LiveCounts,
    Report,
    Shard,
    ShardedResult,
    ShardResult,
    Stop,
    merge,
    run_shard,
)


def shard_task(config: CampaignConfig, shard: Shard, database: str | None, *,
               stop: Stop, report: Report, attempt: str) -> ShardResult:
    """One shard on a worker (`database`: a directory for a shared example database)."""
    # A search stopped by Ctrl-C unwinds through Hypothesis' PRNG guard, which then warns
    # that the strategy used `random`: noise on the worker's stderr, not a finding.
    warnings.filterwarnings("ignore", message="Do not use the `random` module")
    if database is not None:
        from hypothesis.database import DirectoryBasedExampleDatabase

        config = dataclasses.replace(config, database=DirectoryBasedExampleDatabase(database))
    return run_shard(config, shard, stop, report, attempt)


def run_distributed(cluster: object, config: CampaignConfig, shards: Sequence[Shard],
                    shard_size: int, database: str | None = None,
                    on_progress: Callable[[LiveCounts], None] | None = None) -> ShardedResult:
    """Run every shard on `cluster` (a `model.distributed.Cluster`); Ctrl-C keeps what the
    shards found so far (see `model.distributed.run_tasks`)."""
    from model.distributed import Cluster, run_tasks

    assert isinstance(cluster, Cluster)
    started = time.perf_counter()
    counts = LiveCounts(sum(s.examples for s in shards))
    first_find: list[float] = []
    shipped = dataclasses.replace(config, database=None)

    def progress(index: int, attempt: str, count: int) -> None:
        counts.report(index, attempt, count)

    def result(_index: int, r: ShardResult) -> None:
        counts.finish(r)
        if r.failure is not None and not first_find:
            first_find.append(time.perf_counter() - started)

    def tick() -> None:
        if on_progress is not None:
            on_progress(counts)

    outcome = run_tasks(cluster, shard_task, [(shipped, s, database) for s in shards],
                        on_result=result, on_progress=progress, on_tick=tick)
    return merge(config, shard_size, len(shards), outcome.results.values(),
                 time.perf_counter() - started, interrupted=outcome.interrupted,
                 repeated_examples=counts.repeated_examples,
                 retried_shards=counts.retried_shards, workers=cluster.description,
                 seconds_to_find=first_find[0] if first_find else None)


__all__ = ["run_distributed", "shard_task"]
