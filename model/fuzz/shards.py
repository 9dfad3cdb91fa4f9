"""Sharded campaigns: one campaign split into fixed shards, run anywhere, merged the same.

A campaign of `examples` generated cases under Hypothesis seed `seed` is cut into
`plan_shards(examples, seed, shard_size)`: shard i covers `shard_size` examples (the last
one what is left) and is an independent Hypothesis search (`run_shard`, the search of
`model.fuzz.campaign.run_campaign`) seeded by `shard_seed(seed, i)`; shard 0 uses `seed`
itself, so a campaign of at most `shard_size` examples is exactly the single search of
`run_campaign`. Each shard stops at its first failure and shrinks and minimizes it where
it runs. `merge` orders the shards' results by index and keeps each distinct finding
once (`finding_key`: the violated properties and the minimal scenario, whatever seed or
timing showed them), the one of the lowest shard.

Invariant (determinism): the shards, and so the set of findings, are a function of
(`examples`, `seed`, `shard_size`) and the campaign's config alone, never of how many
processes or machines ran them, nor in which order they finished — as long as each
shrink finishes within its wall-clock budget (`CampaignConfig.shrink_seconds`) and no
run hits the livelock watchdog, the two wall-clock bounds of a search.

Stopping: `run_shard(..., stop=...)` asks `stop()` after every example (cheaply: callers
throttle it) and, when it answers True — or on KeyboardInterrupt — returns (or raises,
for KeyboardInterrupt, `ShardInterrupted` carrying) a partial `ShardResult`: the examples
run so far and the smallest failure seen so far (shrunk as far as Hypothesis got, not
minimized). `run_local` runs the shards in this process, one after the other.

Nothing here imports Dask; `model.fuzz.distributed` runs the same shards on a cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.fuzz.campaign import CampaignConfig, Failure, Progress, run_campaign
from model.scenario.parse import scenario_to_json

SHARD_SIZE = 100  # examples per shard (default of --shard-size)

Stop = Callable[[], bool]
Report = Callable[[int], None]  # examples run so far by this shard (searching + shrinking)


@dataclass(frozen=True, slots=True)
class Shard:
    """One independent search of a campaign."""

    index: int
    offset: int  # planned examples of the shards before this one
    examples: int  # at most this many generated cases
    seed: int  # its Hypothesis seed


@dataclass(frozen=True, slots=True)
class ShardResult:
    """What one shard found. `complete` is False when it was stopped before its end."""

    shard: Shard
    examples: int  # generated cases run while searching
    shrinks: int  # cases run while shrinking
    seconds: float
    failure: Failure | None
    found_at: int | None = None  # examples of this shard needed to find `failure`
    found_seconds: float | None = None
    hypothesis_size: int | None = None  # ops of Hypothesis' shrunk case, before minimize
    complete: bool = True
    attempt: str = ""  # which try produced it (a retry after a lost worker has another)
    limited: int = 0  # runs that reached `config.limit_us` (not judged, not failures)


@dataclass(frozen=True, slots=True)
class Finding:
    """A distinct failure of a campaign: the one of the lowest shard that showed it."""

    failure: Failure
    shard: int
    shards: tuple[int, ...]  # every shard whose failure had this key
    key: str
    minimized: bool  # False: its shard was stopped before minimizing it

    @property
    def fingerprint(self) -> str:
        """A short stable name of `key` (the same finding has the same one everywhere)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class ShardedResult:
    """A merged campaign: every shard result (by index) and the distinct findings."""

    config: CampaignConfig
    shard_size: int
    shards: int  # planned
    results: tuple[ShardResult, ...]
    findings: tuple[Finding, ...]
    seconds: float
    interrupted: bool = False
    repeated_examples: int = 0  # run by tries lost with their worker, then re-run
    retried_shards: int = 0
    workers: str = "this process"
    seconds_to_find: float | None = None  # wall time until the first finding arrived

    @property
    def examples(self) -> int:
        return sum(r.examples for r in self.results)

    @property
    def shrinks(self) -> int:
        return sum(r.shrinks for r in self.results)

    @property
    def limited(self) -> int:
        return sum(r.limited for r in self.results)

    @property
    def complete_shards(self) -> int:
        return sum(r.complete for r in self.results)

    @property
    def found_at(self) -> int | None:
        """Examples, counted over the shards in order, until the first finding."""
        ran = 0
        by_index = {r.shard.index: r for r in self.results}
        for index in range(self.shards):
            r = by_index.get(index)
            if r is None:
                return None
            if r.failure is not None and r.found_at is not None:
                return ran + r.found_at
            ran += r.examples
        return None


class ShardInterrupted(KeyboardInterrupt):
    """Ctrl-C inside `run_shard`; `partial` is what the shard had found so far."""

    def __init__(self, partial: ShardResult) -> None:
        super().__init__()
        self.partial = partial


class _Stopped(BaseException):
    """Raised from the progress hook to end a search (not an Exception: Hypothesis must
    not treat it as a failure of the case)."""


def shard_seed(seed: int, index: int) -> int:
    """The Hypothesis seed of shard `index` (shard 0: `seed` itself)."""
    if index == 0:
        return seed
    digest = hashlib.blake2b(f"hipsem-shard:{seed}:{index}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def plan_shards(examples: int, seed: int, shard_size: int = SHARD_SIZE) -> list[Shard]:
    """The shards of a campaign (see the module docstring)."""
    if examples < 1 or shard_size < 1:
        raise ValueError(f"examples ({examples}) and shard_size ({shard_size}) must be >= 1")
    out = []
    for index, offset in enumerate(range(0, examples, shard_size)):
        out.append(Shard(index, offset, min(shard_size, examples - offset),
                         shard_seed(seed, index)))
    return out


def run_shard(config: CampaignConfig, shard: Shard, stop: Stop | None = None,
              report: Report | None = None, attempt: str = "") -> ShardResult:
    """Search one shard (see the module docstring); `report(examples)` after each case;
    `attempt` names this try in the result (`LiveCounts`)."""
    shard_config = dataclasses.replace(config, examples=shard.examples, seed=shard.seed,
                                       restarts=0)
    seen: list[Progress] = []
    started = time.perf_counter()

    def hook(p: Progress) -> None:
        if not seen:
            seen.append(p)
        if report is not None:
            report(p.examples + p.shrinks)
        if stop is not None and stop():
            raise _Stopped

    try:
        result = run_campaign(shard_config, hook)
    except (_Stopped, KeyboardInterrupt) as error:
        p = seen[0] if seen else Progress()
        partial = ShardResult(shard, p.examples, p.shrinks, time.perf_counter() - started,
                              p.best, p.found_at, p.found_seconds,
                              p.best.size if p.best is not None else None, False, attempt,
                              p.limited)
        if isinstance(error, KeyboardInterrupt):
            raise ShardInterrupted(partial) from error
        return partial
    return ShardResult(shard, result.examples, result.shrinks, result.seconds, result.failure,
                       result.found_at, result.found_seconds, result.hypothesis_size, True,
                       attempt, result.limited)


def finding_key(failure: Failure) -> str:
    """What makes two failures the same finding: their violated properties and their
    scenario (ops, semaphores, queues, settings), not the seed or timing that showed it."""
    scenario = dataclasses.replace(failure.case.scenario, name="", description="")
    document = scenario_to_json(scenario)
    document.pop("replay", None)
    return json.dumps({"properties": failure.properties, "scenario": document},
                      sort_keys=True)


def merge(config: CampaignConfig, shard_size: int, shards: int,
          results: Iterable[ShardResult], seconds: float, *, interrupted: bool = False,
          repeated_examples: int = 0, retried_shards: int = 0,
          workers: str = "this process",
          seconds_to_find: float | None = None) -> ShardedResult:
    """Order the results by shard and keep each distinct finding once (lowest shard)."""
    ordered = tuple(sorted(results, key=lambda r: r.shard.index))
    first: dict[str, tuple[ShardResult, list[int]]] = {}
    for r in ordered:
        if r.failure is None:
            continue
        key = finding_key(r.failure)
        if key in first:
            first[key][1].append(r.shard.index)
        else:
            first[key] = (r, [r.shard.index])
    findings = tuple(
        Finding(r.failure, r.shard.index, tuple(where), key, r.complete)
        for key, (r, where) in first.items() if r.failure is not None)
    return ShardedResult(config, shard_size, shards, ordered, findings, seconds,
                         interrupted, repeated_examples, retried_shards, workers,
                         seconds_to_find)


@dataclass(slots=True)
class LiveCounts:
    """Aggregated progress of many shards: planned examples covered so far.

    A finished shard counts its whole budget (a shard that found a failure stops
    early); a running one its latest report; a retried one only its newest try."""

    total: int
    finished: dict[int, int] = field(default_factory=dict)  # shard -> planned examples
    running: dict[int, tuple[str, int]] = field(default_factory=dict)  # -> (attempt, n)
    lost: dict[tuple[int, str], int] = field(default_factory=dict)  # superseded tries
    findings: int = 0

    def report(self, index: int, attempt: str, count: int) -> None:
        if index in self.finished:
            return
        previous = self.running.get(index)
        if previous is not None and previous[0] != attempt:
            self.lost[(index, previous[0])] = previous[1]
        self.running[index] = (attempt, count)

    def finish(self, result: ShardResult) -> None:
        self.finished[result.shard.index] = result.shard.examples
        previous = self.running.pop(result.shard.index, None)
        if previous is not None and previous[0] != result.attempt and result.attempt:
            self.lost[(result.shard.index, previous[0])] = previous[1]
        self.findings += result.failure is not None

    @property
    def covered(self) -> int:
        return sum(self.finished.values()) + sum(n for _, n in self.running.values())

    @property
    def repeated_examples(self) -> int:
        return sum(self.lost.values())

    @property
    def retried_shards(self) -> int:
        return len({index for index, _ in self.lost})


class _CtrlC:
    """While entered (in the main thread): SIGINT sets `pressed()`, and while `raising`
    also raises KeyboardInterrupt as Python's default handler does (inside a search, to
    stop it mid-example); outside a search the flag alone stops the loop, so the
    interrupt cannot land between a shard's end and its bookkeeping. The previous handler
    is restored on exit. Elsewhere (another thread) `pressed()` stays False."""

    def __init__(self) -> None:
        self._pressed = False
        self._previous: Any = None
        self._installed = False
        self.raising = False

    def pressed(self) -> bool:
        return self._pressed

    def _handler(self, signum: int, frame: object) -> None:
        self._pressed = True
        if self.raising:
            raise KeyboardInterrupt

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def run_local(config: CampaignConfig, shards: Sequence[Shard],
              on_progress: Callable[[LiveCounts], None] | None = None,
              shard_size: int = SHARD_SIZE) -> ShardedResult:
    """Run every shard in this process, in order; Ctrl-C keeps what was found so far.

    Ctrl-C is latched (`_CtrlC`): the KeyboardInterrupt it raises can land where Python
    ignores exceptions (a gc callback of Hypothesis, a finalizer), so the search also
    stops at its next example once the latch is set."""
    started = time.perf_counter()
    counts = LiveCounts(sum(s.examples for s in shards))
    results: list[ShardResult] = []
    first_find: float | None = None
    interrupted = False
    with _CtrlC() as ctrl_c:
        for shard in shards:
            def report(n: int, index: int = shard.index) -> None:
                counts.report(index, "", n)
                if on_progress is not None:
                    on_progress(counts)

            if ctrl_c.pressed():  # pressed between two shards
                interrupted = True
                break
            ctrl_c.raising = True
            try:
                r = run_shard(config, shard, stop=ctrl_c.pressed, report=report)
            except ShardInterrupted as stop:
                results.append(stop.partial)
                interrupted = True
                break
            finally:
                ctrl_c.raising = False
            if ctrl_c.pressed():  # stopped by the latch: its interrupt was swallowed
                results.append(r)
                interrupted = True
                break
            counts.finish(r)
            results.append(r)
        if r.failure is not None and first_find is None:
            first_find = time.perf_counter() - started
    if results and results[-1].failure is not None and first_find is None:
        first_find = time.perf_counter() - started
    return merge(config, shard_size, len(shards), results, time.perf_counter() - started,
                 interrupted=interrupted, seconds_to_find=first_find)


__all__ = [
    "SHARD_SIZE",
    "Finding",
    "LiveCounts",
    "Shard",
    "ShardInterrupted",
    "ShardResult",
    "ShardedResult",
    "finding_key",
    "merge",
    "plan_shards",
    "run_local",
    "run_shard",
    "shard_seed",
]
