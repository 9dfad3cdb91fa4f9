"""What-if variants: a `WhatIf` applied to a `Workload` gives another `Workload`.

Changes (each optional; several combine in one variant):
  rate=k        submission rates x k (periods / k; replays run k times faster)
  duration=k    every kernel duration x k (replays too)
  queues=n      n queues (q0..q<n-1>); node slots map onto them modulo n
  burst=k       burst sizes x k (rounded, at least 1)
  completion=m  completion mode "callback" or "thread"
  latency=k     host-callback latency x k

Invariants: `apply(w, WhatIf(name))` (no changes) differs from `w` only in its name;
applying never mutates its input (workloads are frozen values).
"""

from __future__ import annotations

from dataclasses import replace

from model.planning.workload import Process, WhatIf, Workload


def _process(p: Process, rate: float, duration: float, burst: float) -> Process:
    if p.replay is not None:
        return replace(p, replay=p.replay.scaled(rate, duration))
    assert p.arrivals is not None
    return replace(p, arrivals=p.arrivals.scaled(rate, burst))


def apply(w: Workload, what_if: WhatIf) -> Workload:
    """`w` changed as `what_if` says (see the module docstring)."""
    rate, duration = what_if.rate or 1.0, what_if.duration or 1.0
    burst = what_if.burst or 1.0
    timing = w.timing
    if what_if.latency is not None:
        timing = replace(timing, callback_latency_us=timing.callback_latency_us * what_if.latency)
    return replace(
        w,
        name=f"{w.name} [{what_if.name}]",
        queues=w.queues if what_if.queues is None
        else tuple(f"q{i}" for i in range(what_if.queues)),
        kernels={k: d.scaled(duration) for k, d in w.kernels.items()},
        processes=tuple(_process(p, rate, duration, burst) for p in w.processes),
        completion=what_if.completion or w.completion,
        timing=timing,
    )
