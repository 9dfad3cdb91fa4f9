"""From runs to per-pool, per-capacity estimates: intervals, occupancy, analytic prediction.

Quantities (per pool, per capacity N, over R replications):
  miss        the core pool's miss probability (misses / acquires). The pool keeps up to N
              *idle* objects (IREE's design): after a peak it holds the surplus until
              occupancy falls N below the peak, so it misses only when occupancy climbs N
              above its recent low.
  fixed_miss  the miss probability of a pool that holds exactly N objects: the fraction of
              acquires that found >= N in use. Always >= miss (a miss needs >= N in use).
  analytic    the model's P(an acquire finds >= N in use), when a model applies
              (`models.py` chooses it: M/G/1 per stream convolved over queues, a tandem
              with the callback stream, batch forms, or M/G/inf); it predicts
              `fixed_miss`, and bounds `miss` from above.

Interval: 95%, the wider of Student's t across replications (R >= 2) and Wilson's score
interval on the pooled counts (which also bounds the estimate when no miss was seen).
Occupancy quantiles are time-weighted, pooled over replications.

Invariants: 0 <= lo <= mean <= hi <= 1 for probabilities; quantiles are ints in
[0, max]; `agrees` is None exactly when no analytic value applies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.special import gammainc, stdtrit

from model.planning.instrument import PoolWindow
from model.planning.models import ModelChoice, Prediction, predict
from model.planning.simulate import RunResult

Z95 = 1.959963984540054
POOLS = ("event", "timepoint")
QUANTILES = (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999))


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a 95% interval."""

    mean: float
    lo: float
    hi: float

    def contains(self, value: float, slack: float = 0.0) -> bool:
        return self.lo - slack <= value <= self.hi + slack


def poisson_at_least(a: float, n: int) -> float:
    """P(Poisson(a) >= n): the M/G/inf miss probability of a pool of n objects."""
    if n <= 0:
        return 1.0
    if a <= 0:
        return 0.0
    return float(gammainc(n, a))


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a binomial proportion."""
    if trials == 0:
        return 0.0, 1.0
    p, z2 = successes / trials, Z95 * Z95
    denom = 1 + z2 / trials
    center = (p + z2 / (2 * trials)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def proportion(counts: Sequence[tuple[int, int]]) -> Interval:
    """Mean of per-replication proportions m/n with the interval of the module docstring."""
    ratios = [m / n if n else 0.0 for m, n in counts]
    mean = sum(ratios) / len(ratios)
    lo, hi = wilson(sum(m for m, _ in counts), sum(n for _, n in counts))
    if len(ratios) >= 2:
        sd = math.sqrt(sum((r - mean) ** 2 for r in ratios) / (len(ratios) - 1))
        half = float(stdtrit(len(ratios) - 1, 0.975)) * sd / math.sqrt(len(ratios))
        lo, hi = min(lo, mean - half), max(hi, mean + half)
    return Interval(mean, max(0.0, min(lo, mean)), min(1.0, max(hi, mean)))


def time_histogram(windows: Sequence[PoolWindow]) -> list[float]:
    """Pooled µs spent at each occupancy level."""
    out = [0.0] * max(len(w.time_at) for w in windows)
    for w in windows:
        for n, t in enumerate(w.time_at):
            out[n] += t
    return out


def quantile(hist: Sequence[float], q: float) -> int:
    """Smallest n with P(occupancy <= n) >= q (time-weighted)."""
    total, acc = sum(hist), 0.0
    for n, t in enumerate(hist):
        acc += t
        if total and acc >= q * total * (1 - 1e-12):
            return n
    return len(hist) - 1


def ccdf(hist: Sequence[float]) -> list[float]:
    """P(occupancy >= n) for n = 0..len(hist)-1 (time-weighted)."""
    total = sum(hist) or 1.0
    out, tail = [0.0] * len(hist), 0.0
    for n in range(len(hist) - 1, -1, -1):
        tail += hist[n]
        out[n] = tail / total
    return out


@dataclass(frozen=True, slots=True)
class PoolPoint:
    """One pool at one capacity, over the replications (see the module docstring)."""

    pool: str
    capacity: int
    replications: int
    acquires: int
    misses: int
    miss: Interval
    fixed_miss: Interval
    analytic: float | None
    agrees: bool | None
    analytic_mean: float | None  # the model's mean in use (None: no model)
    mean_in_use: float
    acquire_rate_hz: float
    mean_hold_us: float
    creates_per_s: float
    destroys_per_s: float
    occupancy: dict[str, int]  # p50, p99, p99.9, max
    miss_cost_us: float  # mean simulated µs an acquire spent creating, per miss
    added_us_per_acquire: float  # create time spread over all acquires
    hip_time_fraction: float  # (create + destroy time) / window, of one host thread


def mean_occupancy(windows: Sequence[PoolWindow]) -> float:
    hist = time_histogram(windows)
    return sum(n * t for n, t in enumerate(hist)) / (sum(hist) or 1.0)


def pool_point(pool: str, capacity: int, windows: Sequence[PoolWindow],
               prediction: Prediction | None) -> PoolPoint:
    """Aggregate one pool's windows (one per replication) at `capacity`."""
    seconds = sum(w.window_us for w in windows) / 1e6 or 1e-12
    acquires = sum(w.acquires for w in windows)
    misses = sum(w.misses for w in windows)
    hist = time_histogram(windows)
    mean_in_use = mean_occupancy(windows)
    rate = acquires / seconds
    fixed = proportion([(w.fixed_pool_misses(capacity), w.acquires) for w in windows])
    analytic = None if prediction is None else prediction.seen_at_least(capacity)
    create_us = sum(w.create_us for w in windows)
    return PoolPoint(
        pool, capacity, len(windows), acquires, misses,
        miss=proportion([(w.misses, w.acquires) for w in windows]),
        fixed_miss=fixed,
        analytic=analytic,
        agrees=None if analytic is None else fixed.contains(analytic, 3.0 / max(acquires, 1)),
        analytic_mean=None if prediction is None else prediction.mean,
        mean_in_use=mean_in_use,
        acquire_rate_hz=rate,
        mean_hold_us=mean_in_use / rate * 1e6 if rate else 0.0,
        creates_per_s=sum(w.creates for w in windows) / seconds,
        destroys_per_s=sum(w.destroys for w in windows) / seconds,
        occupancy={**{k: quantile(hist, q) for k, q in QUANTILES},
                   "max": max(w.peak for w in windows)},
        miss_cost_us=create_us / misses if misses else 0.0,
        added_us_per_acquire=create_us / acquires if acquires else 0.0,
        hip_time_fraction=(create_us + sum(w.destroy_us for w in windows)) / (seconds * 1e6),
    )


def window_of(result: RunResult, pool: str) -> PoolWindow:
    return result.event if pool == "event" else result.timepoint


def prediction_at(choice: ModelChoice, pool: str, runs: Sequence[RunResult]
                  ) -> Prediction | None:
    """The model's prediction for `pool` from the runs at one capacity (see models.py)."""
    if not choice.applies:
        return None
    events = [r.event for r in runs]
    seconds = sum(w.window_us for w in events) or 1e-12
    rate = sum(w.acquires for w in events) / seconds  # per µs
    lag = (mean_occupancy(events) - mean_occupancy([r.timepoint for r in runs])) / rate \
        if rate else 0.0
    post = sum(r.post_kernel_us for r in runs) / len(runs)
    return predict(choice, pool, mean_occupancy([window_of(r, pool) for r in runs]),
                   post, lag)


def points(results: Sequence[RunResult], choice: ModelChoice) -> dict[str, list[PoolPoint]]:
    """Per pool, one `PoolPoint` per capacity (ascending)."""
    capacities = sorted({r.capacity for r in results})
    out: dict[str, list[PoolPoint]] = {pool: [] for pool in POOLS}
    for c in capacities:
        runs = [r for r in results if r.capacity == c]
        for pool in POOLS:
            out[pool].append(pool_point(pool, c, [window_of(r, pool) for r in runs],
                                        prediction_at(choice, pool, runs)))
    return out
