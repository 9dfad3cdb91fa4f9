"""Which analytic model predicts a pool's occupancy, and what it predicts.

What is counted. In this design (model/core/queue.py, pools.py) an action's completion
*event* is acquired by the queue's worker right after the action's work is enqueued on the
stream, and its signal's *timepoint* right after the event is recorded (one
`record_event` later); both are released when the completion loop retires the action:
  thread mode   once `hipEventSynchronize` on the event returns, i.e. when the kernel
                ended (plus the loop's own few µs, measured by the run: `post_kernel_us`);
  callback mode once the host function on the queue's *callback stream* starts: that
                stream waits for the event and then runs the host function, which occupies
                it for the host-callback latency plus the host-function thread's wait and
                the function's body (one thread for all queues), one action at a time.
So the objects in use on a queue are the actions in its kernel stream (waiting or running:
a single server, FIFO) plus, in callback mode, those in its callback stream (a second
single server fed by the first's departures). Each object is held for its action's whole
stay in those queues, waits included; holds are *not* independent when streams queue.

Models (`choose`), from the workload and the measured runs:
  M/G/1 per stream   each queue gets its own Poisson stream of single-action steps. The
                     kernel stream is M/G/1 (M/M/1 for exponential kernels): number in
                     system by the embedded chain (`queueing.mg1`; mean by
                     Pollaczek-Khinchine). Callback mode: a tandem; for exponential
                     kernels the kernel stream's departures are Poisson (Burke) and its
                     state is independent of the callback stream's, so the queue's count
                     is the convolution of the M/M/1 and the callback stream's M/G/1.
                     Queues are independent: the pool's count is the convolution over
                     queues. Acquires see the time average (PASTA).
  M^X/G/1 per stream batches: Poisson bursts of `size` steps (or steps of several
                     independent actions) on one queue (`queueing.mx_g_1`); the j-th
                     acquire of a batch sees j more in use (thread mode only).
  M/G/inf            round-robin over several queues, every stream lightly loaded
                     (utilization <= LIGHT): holds are then nearly independent; the count
                     is Poisson(a), a = acquire rate x mean hold (the measured time-average
                     occupancy, Little's law).
  none               anything else, with the reasons: non-Poisson or replayed arrivals,
                     dependencies between actions (parked waits), host waits (closed loop),
                     gates, steps spread over several queues, round-robin splitting of
                     queueing streams (Erlang gaps, dependent queues), a stream at
                     utilization >= 1, or runs that overloaded.

Invariant: a `ModelChoice` applies (has a name other than "none") only if every
assumption it lists holds for the workload and runs; otherwise `reasons` says which failed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from model.planning import queueing as qt
from model.planning.queueing import Pmf, Service
from model.planning.workload import (
    ArrivalKind,
    Completion,
    Duration,
    DurationKind,
    Process,
    Workload,
)

LIGHT = 0.1  # round-robin: M/G/inf only while every stream's utilization is at most this
BURKE_LIGHT = 0.1  # callback mode, non-exponential kernels: kernel stream at most this
# The worker issues one action at a time (~W µs each): its departures, the kernel stream's
# input, are smoother than Poisson. That shifts a heavily loaded kernel stream's tail
# (measured: benchmarks/analytic_grid.py, thread mode at utilization 0.9); above HEAVY
# with a worker busier than WORKER_LIGHT no model is claimed.
HEAVY = 0.8
WORKER_LIGHT = 0.1
# A batch reaches the stream one action per issue (~W µs): M^X/G/1 (simultaneous arrivals)
# is claimed only while a batch's spread, (X - 1) W, is at most this share of a kernel.
BATCH_SPREAD = 0.1
NONE = "none"


@dataclass(frozen=True, slots=True)
class QueueLoad:
    """What reaches one queue: actions per second, batch size, stream utilizations."""

    queue: str
    rate_hz: float
    batch: int
    kernel_utilization: float
    callback_utilization: float | None  # None in thread mode
    worker_utilization: float = 0.0  # the queue's worker issuing actions


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model for a workload's pools, its assumptions, or why none applies."""

    name: str
    assumptions: tuple[str, ...]
    reasons: tuple[str, ...]
    loads: tuple[QueueLoad, ...]
    # per queue (index into workload.queues): [(batch rate per µs, batch, kernel law)]
    inputs: dict[int, list[tuple[float, int, Service]]] = field(default_factory=dict)
    callback: Service | None = None  # the callback stream's service law (callback mode)
    host_function_us: float = 0.0

    @property
    def applies(self) -> bool:
        return self.name != NONE

    @property
    def queueing(self) -> bool:
        return self.applies and self.name != "M/G/inf"


def service_of(d: Duration) -> Service:
    """The workload's kernel distribution as a `queueing.Service`."""
    if d.kind is DurationKind.EMPIRICAL:
        return Service("empirical", samples=d.samples)
    return Service(d.kind.value, d.a, d.b)


def _callback_service(w: Workload, total_rate_per_us: float) -> tuple[Service, float]:
    """Host-callback latency (uniform jitter) + mean host-thread wait (M/D/1, P-K) + body."""
    t = w.timing
    body = t.host_function_us
    load = total_rate_per_us * body
    wait = load * body / (2 * (1 - load)) if load < 1 else float("inf")
    lat, j = t.callback_latency_us, t.jitter
    return Service("uniform", lat * (1 - j) + wait + body, lat * (1 + j) + wait + body), load


def _process_reasons(w: Workload, p: Process) -> list[str]:
    if p.replay is not None:
        return [f"process {p.name} replays a recorded trace (not a Poisson stream)"]
    assert p.arrivals is not None
    graph = w.graphs[p.graph]
    kind = p.arrivals.kind
    poisson_bursts = kind is ArrivalKind.BURST and p.arrivals.rate_hz > 0
    slots = {n.slot for n in graph.nodes}
    checks = [
        (kind is not ArrivalKind.POISSON and not poisson_bursts,
         f"process {p.name} has {kind.value} arrivals (not Poisson)"),
        (any(n.after for n in graph.nodes),
         f"process {p.name}'s steps have dependencies (parked waits; holds depend on "
         "other actions)"),
        (len(slots) > 1, f"process {p.name}'s steps spread over {len(slots)} queues at "
         "once (the queues' inputs are correlated)"),
        (graph.host_wait, f"process {p.name} waits on the host between steps (closed loop)"),
        (graph.gate_us is not None, f"process {p.name} parks steps behind a host gate"),
    ]
    return [reason for failed, reason in checks if failed]


def _batch(w: Workload, p: Process) -> int:
    assert p.arrivals is not None
    size = p.arrivals.size if p.arrivals.kind is ArrivalKind.BURST else 1
    return size * len(w.graphs[p.graph].nodes)


def _inputs(w: Workload) -> tuple[dict[int, list[tuple[float, int, Service]]], list[str]]:
    """Per queue, its Poisson inputs; and the processes that split round-robin."""
    q = len(w.queues)
    inputs: dict[int, list[tuple[float, int, Service]]] = defaultdict(list)
    split = []
    for p in w.processes:
        assert p.arrivals is not None
        graph = w.graphs[p.graph]
        batch = _batch(w, p)
        rate = p.arrivals.rate_hz / 1e6  # bursts (or steps) per µs
        law = service_of(w.kernels[graph.nodes[0].kernel])
        if p.queue_offset is None and q > 1:
            split.append(p.name)
            for i in range(q):  # the mean share; the gaps are Erlang-q, not Poisson
                inputs[i].append((rate / q, batch, law))
        else:
            target = ((p.queue_offset or 0) + graph.nodes[0].slot) % q
            inputs[target].append((rate, batch, law))
    return dict(inputs), split


def issue_us(w: Workload) -> float:
    """Mean µs the worker spends issuing one action (launch, record; callback mode adds
    the callback stream's wait and the host-function launch)."""
    t = w.timing
    us = (t.launch_work_min_us + t.launch_work_max_us) / 2 + t.record_event_us
    if w.completion is Completion.CALLBACK:
        us += t.stream_wait_event_us + t.launch_host_func_us
    return us


def _loads(w: Workload, inputs: dict[int, list[tuple[float, int, Service]]],
           callback: Service | None) -> tuple[QueueLoad, ...]:
    out = []
    issue = issue_us(w)
    for i, name in enumerate(w.queues):
        ins = inputs.get(i, [])
        rate = sum(r * b for r, b, _ in ins)  # actions per µs
        rho = sum(r * b * s.mean for r, b, s in ins)
        cb = None if callback is None else rate * callback.mean
        out.append(QueueLoad(name, rate * 1e6, max((b for _, b, _ in ins), default=1),
                             rho, cb, rate * issue))
    return tuple(out)


def _none(reasons: Sequence[str], loads: tuple[QueueLoad, ...] = ()) -> ModelChoice:
    return ModelChoice(NONE, (), tuple(reasons), loads)


def choose(w: Workload, overloaded_runs: int = 0, runs: int = 0) -> ModelChoice:
    """The model that fits `w` and its runs (module docstring), or "none" and why."""
    reasons = [r for p in w.processes for r in _process_reasons(w, p)]
    if reasons:
        return _none(reasons)
    inputs, split = _inputs(w)
    total = sum(r * b for ins in inputs.values() for r, b, _ in ins)
    callback_mode = w.completion is Completion.CALLBACK
    callback, host_load = _callback_service(w, total) if callback_mode else (None, 0.0)
    loads = _loads(w, inputs, callback)
    reasons = _load_reasons(loads, host_load, overloaded_runs, runs)
    if reasons:
        return _none(reasons, loads)
    peak = max(max(ld.kernel_utilization, ld.callback_utilization or 0.0) for ld in loads)
    if split:
        return _round_robin(w, split, loads, peak)
    reasons = _queueing_reasons(w, inputs, loads, callback_mode)
    if reasons:
        return _none(reasons, loads)
    return _queueing_choice(w, inputs, loads, callback, callback_mode)


def _load_reasons(loads: Sequence[QueueLoad], host_load: float, overloaded_runs: int,
                  runs: int) -> list[str]:
    out = []
    for ld in loads:
        if ld.kernel_utilization >= 1:
            out.append(f"queue {ld.queue}'s kernel stream is overloaded (utilization "
                       f"{ld.kernel_utilization:.2f} >= 1)")
        if ld.callback_utilization is not None and ld.callback_utilization >= 1:
            out.append(f"queue {ld.queue}'s callback stream is overloaded (utilization "
                       f"{ld.callback_utilization:.2f} >= 1: one host callback per "
                       "host-callback latency)")
    if host_load >= 1:
        out.append(f"the host-function thread is overloaded (utilization {host_load:.2f})")
    if overloaded_runs and not out:
        out.append(f"{overloaded_runs}/{runs} runs overloaded (the backlog grew with time)")
    return out


def _round_robin(w: Workload, split: list[str], loads: tuple[QueueLoad, ...],
                 peak: float) -> ModelChoice:
    names = ", ".join(split)
    if peak > LIGHT or any(ld.batch > 1 for ld in loads):
        why = (f"streams queue (peak stream utilization {peak:.2f} > {LIGHT})"
               if peak > LIGHT else "steps arrive in batches")
        return _none([f"process {names} splits its Poisson steps round-robin over "
                      f"{len(w.queues)} queues, so each queue sees Erlang-{len(w.queues)} "
                      f"gaps and the queues are dependent; {why}, and no closed form for "
                      "that is implemented (use a fixed queue_offset per process for "
                      "independent Poisson queues)"], loads)
    return ModelChoice("M/G/inf", (
        "Poisson steps of one action each",
        f"every stream lightly loaded (peak utilization {peak:.3f} <= {LIGHT}), so an "
        "action rarely waits and holds are nearly independent",
        "a = acquire rate x mean hold time, measured (Little's law); acquires see the "
        "time average (PASTA)",
    ), (), loads)


def _queueing_reasons(w: Workload, inputs: dict[int, list[tuple[float, int, Service]]],
                      loads: Sequence[QueueLoad], callback_mode: bool) -> list[str]:
    out = []
    for ld in loads:
        if ld.kernel_utilization > HEAVY and ld.worker_utilization > WORKER_LIGHT:
            out.append(f"queue {ld.queue}'s kernel stream is heavily loaded (utilization "
                       f"{ld.kernel_utilization:.2f} > {HEAVY}) behind a worker busy "
                       f"{ld.worker_utilization:.2f} of the time (> {WORKER_LIGHT}): the "
                       "worker spaces the stream's arrivals (not Poisson), which shifts "
                       "the tail of a heavily loaded queue")
    issue = issue_us(w)
    for i, ins in inputs.items():
        batches = {b for _, b, _ in ins}
        name = w.queues[i]
        for _, b, law in ins:
            if b > 1 and (b - 1) * issue > BATCH_SPREAD * law.mean:
                out.append(f"queue {name}: a batch of {b} reaches the stream over "
                           f"{(b - 1) * issue:.0f} us (one issue each), more than "
                           f"{BATCH_SPREAD:g} of a {law.mean:.0f} us kernel, so its "
                           "actions do not arrive together as M^X/G/1 assumes")
        if len(ins) > 1 and batches != {1}:
            out.append(f"queue {name} mixes batch sizes {sorted(batches)}")
        if callback_mode and batches != {1}:
            out.append(f"queue {name} gets batches in callback mode: the kernel stream's "
                       "departures are then bursty, not the Poisson input the callback "
                       "stream's model needs")
        if callback_mode and not all(s.exponential for _, _, s in ins) and (
                loads[i].kernel_utilization > BURKE_LIGHT):
            out.append(f"queue {name}: non-exponential kernels at kernel-stream "
                       f"utilization {loads[i].kernel_utilization:.2f} > {BURKE_LIGHT} "
                       "make the callback stream's input non-Poisson (Burke's theorem "
                       "needs exponential service)")
    return out


def _queueing_choice(w: Workload, inputs: dict[int, list[tuple[float, int, Service]]],
                     loads: tuple[QueueLoad, ...], callback: Service | None,
                     callback_mode: bool) -> ModelChoice:
    laws = [s for ins in inputs.values() for _, _, s in ins]
    batch = max(ld.batch for ld in loads)
    stage = ("M/M/1" if all(s.exponential for s in laws) else "M/G/1") if batch == 1 \
        else "M^X/G/1"
    busy = sum(1 for i in inputs if inputs[i])
    name = (f"{stage} -> M/G/1 tandem per queue" if callback_mode
            else f"{stage} per stream") + (f", convolved over {busy} queues" if busy > 1
                                           else "")
    peak_k = max(ld.kernel_utilization for ld in loads)
    assumptions = [
        "each queue receives its own Poisson stream of steps (fixed queue offsets), "
        "independent of the other queues'",
        f"the kernel stream is a FIFO single server (peak utilization {peak_k:.2f} < 1): "
        "an object is held for its action's wait and run there"
        + ("" if batch == 1 else f"; steps arrive in batches of up to {batch} actions"),
    ]
    if callback_mode:
        assert callback is not None
        peak_c = max(ld.callback_utilization or 0.0 for ld in loads)
        assumptions.append(
            f"then for its wait and host-callback latency in the callback stream, a second "
            f"single server (mean service {callback.mean:.1f} us, peak utilization "
            f"{peak_c:.2f} < 1) fed by the kernel stream's departures, Poisson for "
            "exponential kernels (Burke)")
    else:
        assumptions.append("plus the measured time the completion loop takes to retire "
                           "an action after its kernel ended (an M/G/inf phase)")
    assumptions.append("acquires see the time average (PASTA); the pool's count is the "
                       "convolution of the independent queues' counts")
    return ModelChoice(name, tuple(assumptions), (), loads, inputs, callback,
                       w.timing.host_function_us)


# ----------------------------------------------------------------------- predictions


@dataclass(frozen=True, slots=True)
class Prediction:
    """A pool's predicted count: `pmf` (time average over the pool) and the tail an
    acquire sees (`seen_at_least`, which adds a batch's earlier members)."""

    pmf: Pmf
    batch_weights: tuple[tuple[int, float], ...]  # (batch size, share of acquires)

    def seen_at_least(self, n: int) -> float:
        total = 0.0
        for batch, weight in self.batch_weights:
            total += weight * sum(qt.at_least(self.pmf, n - j) for j in range(batch)) / batch
        return float(min(1.0, max(0.0, total)))

    @property
    def mean(self) -> float:
        return qt.mean(self.pmf)


def predict(choice: ModelChoice, pool: str, mean_in_use: float, post_kernel_us: float,
            publish_lag_us: float) -> Prediction | None:
    """The pool's predicted count under `choice` (None when no model applies).

    `mean_in_use` (measured) gives M/G/inf its a; `post_kernel_us` (thread mode: kernel
    end to retirement, measured) and `publish_lag_us` (how much later than its event an
    action's timepoint is acquired, measured) are the core's own µs-scale steps.
    """
    if not choice.applies:
        return None
    if not choice.queueing:
        return Prediction(qt.poisson_pmf(mean_in_use), ((1, 1.0),))
    per_queue: list[Pmf] = []
    weights: dict[int, float] = defaultdict(float)
    total_rate = sum(ld.rate_hz for ld in choice.loads) or 1.0
    for ins in choice.inputs.values():
        if not ins:
            continue
        rate = sum(r * b for r, b, _ in ins)
        pmf = _stage(ins)
        if choice.callback is not None:
            body = min(1.0, choice.host_function_us / choice.callback.mean)
            pmf = qt.convolve([pmf, qt.thin(qt.mg1(rate, choice.callback), body)])
        else:
            pmf = qt.convolve([pmf, qt.poisson_pmf(rate * max(0.0, post_kernel_us))])
        if pool == "timepoint" and publish_lag_us > 0:
            busy = 1.0 - float(pmf[0])
            pmf = qt.thin(pmf, rate * publish_lag_us / busy if busy > 0 else 0.0)
        per_queue.append(pmf)
        for _, b, _ in ins:
            weights[b] += rate * 1e6 / total_rate
    return Prediction(qt.convolve(per_queue), tuple(sorted(weights.items())))


def _stage(ins: list[tuple[float, int, Service]]) -> Pmf:
    """One kernel stream: M^X/G/1 for one batch input, M/G/1 with the mixed law else."""
    if len(ins) == 1:
        rate, batch, law = ins[0]
        return qt.mx_g_1(rate, batch, law)
    rate = sum(r for r, _, _ in ins)
    mixture = Service("mixture", parts=tuple(s for _, _, s in ins),
                      weights=tuple(r / rate for r, _, _ in ins))
    return qt.mg1(rate, mixture)


def predicted_ccdf(prediction: Prediction, n: int) -> list[float]:
    """P(in use >= k) for k < n (time average), for plots."""
    tail = np.concatenate([np.cumsum(prediction.pmf[::-1])[::-1], np.zeros(max(0, n))])
    return [float(v) for v in tail[:n]]
