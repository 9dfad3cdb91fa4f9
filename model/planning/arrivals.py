"""Random sources of a workload: step arrival gaps and kernel-duration samplers.

Both draw only from the `random.Random` they are given, so a process's submissions are a
pure function of its seed (common random numbers across capacities: changing the pool
size never changes what is submitted, only how the core copes). Time unit: µs.

Invariant: gaps and durations are finite and >= 0; every arrival yields >= 1 step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from model.planning.workload import ArrivalKind, Arrivals, Duration, DurationKind

Sampler = Callable[[], float]
Gaps = Iterator[tuple[float, int]]  # (µs since the previous arrival, steps to submit)

_SAMPLERS: dict[DurationKind, Callable[[Duration, random.Random], Sampler]] = {
    DurationKind.FIXED: lambda d, rng: lambda: d.a,
    DurationKind.EXPONENTIAL: lambda d, rng: lambda: rng.expovariate(1.0 / d.a),
    DurationKind.LOGNORMAL: lambda d, rng: lambda: rng.lognormvariate(d.a, d.b),
    DurationKind.UNIFORM: lambda d, rng: lambda: rng.uniform(d.a, d.b),
    DurationKind.EMPIRICAL: lambda d, rng: lambda: rng.choice(d.samples),
}


def sampler(duration: Duration, rng: random.Random) -> Sampler:
    """A function drawing one kernel duration (µs) from `duration`."""
    return _SAMPLERS[duration.kind](duration, rng)


def _poisson(a: Arrivals, rng: random.Random) -> Gaps:
    rate = a.rate_hz / 1e6
    while True:
        yield rng.expovariate(rate), 1


def _periodic(a: Arrivals, rng: random.Random) -> Gaps:
    yield rng.uniform(0.0, a.period_us), 1  # a random phase, so processes do not align
    while True:
        yield a.period_us, 1


def _burst(a: Arrivals, rng: random.Random) -> Gaps:
    inner = _poisson(a, rng) if a.rate_hz else _periodic(a, rng)
    for gap, _ in inner:
        yield gap, a.size


def _ramp(a: Arrivals, rng: random.Random) -> Gaps:
    """Poisson with rate going linearly from rate_hz to to_hz over over_s (thinning)."""
    top = max(a.rate_hz, a.to_hz) / 1e6
    span_us = a.over_s * 1e6
    t = last = 0.0
    while True:
        t += rng.expovariate(top)
        frac = min(t / span_us, 1.0)
        rate = (a.rate_hz + (a.to_hz - a.rate_hz) * frac) / 1e6
        if rng.random() * top <= rate:
            yield t - last, 1
            last = t


_GAPS: dict[ArrivalKind, Callable[[Arrivals, random.Random], Gaps]] = {
    ArrivalKind.POISSON: _poisson,
    ArrivalKind.PERIODIC: _periodic,
    ArrivalKind.BURST: _burst,
    ArrivalKind.RAMP: _ramp,
}


def gaps(arrivals: Arrivals, rng: random.Random) -> Gaps:
    """An endless iterator of (gap µs, steps) for `arrivals`."""
    return _GAPS[arrivals.kind](arrivals, rng)


def mean_rate_hz(arrivals: Arrivals) -> float:
    """Long-run steps per second (a ramp counts at its final rate)."""
    per_arrival = {
        ArrivalKind.POISSON: arrivals.rate_hz,
        ArrivalKind.PERIODIC: 1e6 / arrivals.period_us if arrivals.period_us else 0.0,
        ArrivalKind.RAMP: arrivals.to_hz,
        ArrivalKind.BURST: (arrivals.rate_hz or
                            (1e6 / arrivals.period_us if arrivals.period_us else 0.0)),
    }[arrivals.kind]
    return per_arrival * arrivals.size
