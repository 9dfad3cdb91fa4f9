"""Which analytic model predicts a pool's occupancy, and what it predicts.

What is counted. In this design (model/core/queue.py, pools.py) an action's completion
*event* is acquired by the queue's worker right after the action's work is enqueued on the
stream, and its signal's *timepoint* right after the event is recorded (one
`record_event` later); both are released when the completion loop retires the action:
  thread mode   once `hipEventSynchronize` on the event returns, i.e. when the kernel
                ended (plus the loop's own few µs, measured by the run: `post_kernel_us`);
  callback mode once the host function on the queue's *callback stream* has started
                (the hand-off) and the completion loop, woken by it, has made its
                `query_event` call (its cost, `retire_us`); that stream waits for the
                event and then runs the host function, which occupies it for the
                host-callback latency plus the host-function thread's wait and the
                function's body (one thread for all queues), one action at a time.
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
                     is the convolution of the M/M/1 and the callback stream's M/G/1,
                     with the event held (Q - B)+ past the body B or released (B - Q)+
                     before its end (Q the query), and an M/G/inf phase for a kernel that
                     ends before its host function is enqueued (longer for an action the
                     worker issues right behind another: `queueing.enqueue_wait`).
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

The runs can refute a queueing model after it was chosen (`plan.make_plan`): launches
must find their kernel stream busy as often as its utilization (PASTA holds only for
Poisson input: `input_check`; the worker's issue chains — an action submitted while the
worker issues another is launched right after it — and slow misses at tiny capacities
make the input burstier), and the model's mean in use must match the measured one
(Little's law: `mean_check`). Then "none applies" with that reason.

Invariant: a `ModelChoice` applies (has a name other than "none") only if every
assumption it lists holds for the workload and runs; otherwise `reasons` says which failed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

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
# The worker issues one action at a time (~W µs each): its output, the kernel stream's
# input, is not exactly Poisson, and a heavily loaded queue's tail is sensitive to that
# (measured: benchmarks/analytic_grid.py, one queue in thread mode at utilization 0.9,
# 2 of 4 points outside their intervals); above HEAVY with a worker busier than
# WORKER_LIGHT no model is claimed.
HEAVY = 0.8
WORKER_LIGHT = 0.1
# Little's law check: the model's mean in use must lie in the measured mean's 95% interval
# (t across replications), widened by this relative margin, or its assumptions broke.
MEAN_MARGIN = 0.02
# Poisson-input check: launches must find their kernel stream busy as often as its
# utilization (PASTA), within this relative margin plus 3 standard errors.
INPUT_MARGIN = 0.05
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
    enqueue_us: float = 0.0  # callback mode: launch to the host function's enqueue
    # callback mode: the completion loop's query_event after the hand-off, before release
    retire_us: float = 0.0
    # callback mode, coalesced calls: the launch-cost range (µs) an action issued right
    # behind another pays after its launch took effect (None: calls not coalesced, such an
    # action is launched after its cost, as any other)
    chain_launch_us: tuple[float, float] | None = None
    jitter: float = 0.0  # every cost's uniform jitter factor [1 - jitter, 1 + jitter]

    @property
    def applies(self) -> bool:
        return self.name != NONE

    @property
    def queueing(self) -> bool:
        return self.applies and self.name != "M/G/inf"

    def refuted(self, reason: str) -> ModelChoice:
        """This choice turned down by what the runs measured (`reason`)."""
        return ModelChoice(NONE, (), (f"{self.name} was refuted by the runs: {reason}",),
                           self.loads)


def input_check(loads: Sequence[QueueLoad], launches: int, found_busy: float) -> str | None:
    """None if the launches found their kernel streams busy as often as Poisson input
    would (PASTA: the stream's utilization), else the reason: the models' kernel
    stream is M/G/1, so its input must be Poisson."""
    if not launches:
        return None
    total = sum(ld.rate_hz for ld in loads) or 1.0
    # the first of a batch of X finds it busy w.p. rho (PASTA), the others always
    rho = sum(ld.rate_hz * (ld.kernel_utilization + ld.batch - 1) / ld.batch
              for ld in loads) / total
    se = (rho * (1 - rho) / launches) ** 0.5
    if abs(found_busy - rho) <= INPUT_MARGIN * rho + 3 * se:
        return None
    return (f"launches found their kernel stream busy {found_busy:.4f} of the time, not the "
            f"{rho:.4f} (its utilization; with batches of X, (rho + X - 1) / X) that "
            f"Poisson input would give (PASTA; margin "
            f"{INPUT_MARGIN:.0%} + 3 standard errors over {launches:,} launches): "
            + ("the worker's issue chains (an action submitted while the worker issues "
               "another is launched right after it) make the stream's input burstier than "
               "Poisson" if found_busy > rho else
               "the worker spaces its launches at least one issue apart, so the stream's "
               "input is more regular than Poisson"))


def mean_check(model_mean: float, replication_means: Sequence[float]) -> str | None:
    """None if `model_mean` is consistent with the measured means (Little's law: the
    model's mean number in use is its acquire rate x mean hold), else the reason."""
    n = len(replication_means)
    measured = sum(replication_means) / n
    half = 0.0
    if n >= 2:
        sd = (sum((m - measured) ** 2 for m in replication_means) / (n - 1)) ** 0.5
        half = float(stats.t.ppf(0.975, n - 1)) * sd / n ** 0.5
    slack = half + MEAN_MARGIN * max(model_mean, measured)
    if abs(model_mean - measured) <= slack:
        return None
    return (f"its mean in use {model_mean:.3f} is outside the measured {measured:.3f} "
            f"+- {slack:.3f} (95% interval + {MEAN_MARGIN:.0%}), so some assumption does "
            "not hold (e.g. the worker's issue chains launch an action submitted while it "
            "issues another right after it, 2 us behind: the stream's input is then "
            "burstier than Poisson)")


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
        kernels = sorted({n.kernel for n in graph.nodes})
        laws = tuple(service_of(w.kernels[k]) for k in kernels)
        weights = tuple(sum(n.kernel == k for n in graph.nodes) / len(graph.nodes)
                        for k in kernels)
        law = laws[0] if len(laws) == 1 else Service("mixture", parts=laws, weights=weights)
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


def choose(w: Workload, overloaded_runs: int = 0, runs: int = 0,
           coalesced: bool = True) -> ModelChoice:
    """The model that fits `w` and its runs (module docstring), or "none" and why.

    `coalesced`: the runs charge a host thread's consecutive calls as one timeout
    (`SweepSpec.coalesce_calls`, the planning default), which moves the launch of an
    action issued right behind another to the previous one's last call (callback mode's
    enqueue phase depends on it)."""
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
    return _queueing_choice(w, inputs, loads, callback, callback_mode, coalesced)


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
                       "stream's input is the worker's output, not exactly Poisson, and so "
                       "loaded a queue's tail is too sensitive to that for M/G/1")
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
                     callback_mode: bool, coalesced: bool) -> ModelChoice:
    laws = [s for ins in inputs.values() for _, _, s in ins]
    batch = max(ld.batch for ld in loads)
    stage = ("M/M/1" if all(s.exponential for s in laws) else "M/G/1") if batch == 1 \
        else "M^X/G/1"
    busy = sum(1 for i in inputs if inputs[i])
    name = (f"{stage} -> M/G/1 tandem per queue" if callback_mode
            else f"{stage} per stream") + (f", convolved over {busy} queues" if busy > 1
                                           else "")
    peak_k = max(ld.kernel_utilization for ld in loads)
    t = w.timing
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
            "exponential kernels (Burke), no earlier than the host function's enqueue "
            f"{t.record_event_us + t.stream_wait_event_us + t.launch_host_func_us:.0f} us "
            "after the launch"
            + (" (plus its launch cost for an action issued right behind another, a "
               "fraction the worker's utilization)" if coalesced else "")
            + " (an M/G/inf phase)")
        assumptions.append(
            f"then until the completion loop, woken by the hand-off, has queried the event "
            f"({t.query_event_us:g} us) and retired the action; the loop is idle at each "
            "hand-off (its work per action is far below a host-callback latency)")
    else:
        assumptions.append("plus the measured time the completion loop takes to retire "
                           "an action after its kernel ended (an M/G/inf phase)")
    assumptions.append("acquires see the time average (PASTA); the pool's count is the "
                       "convolution of the independent queues' counts")
    t = w.timing
    chain = (t.launch_work_min_us, t.launch_work_max_us) if coalesced else None
    return ModelChoice(name, tuple(assumptions), (), loads, inputs, callback,
                       t.host_function_us,
                       t.record_event_us + t.stream_wait_event_us + t.launch_host_func_us,
                       t.query_event_us if callback_mode else 0.0, chain, t.jitter)


# ----------------------------------------------------------------------- predictions


@dataclass(frozen=True, slots=True)
class Prediction:
    """A pool's predicted count: `pmf`, the time average over the pool, and `seen`, what
    an acquire finds (its own queue as an arriving action sees it, with the earlier
    members of its batch; the other queues at their time average)."""

    pmf: Pmf
    seen: Pmf

    def seen_at_least(self, n: int) -> float:
        return qt.at_least(self.seen, n)

    @property
    def mean(self) -> float:
        return qt.mean(self.pmf)


@dataclass(frozen=True, slots=True)
class _Queue:
    """One queue's count: time average, as its own acquires see it, and their weight."""

    average: Pmf
    seen: Pmf
    rate: float  # acquires per µs
    key: tuple[tuple[float, int, Service], ...]  # its inputs: equal keys, equal counts


def predict(choice: ModelChoice, pool: str, mean_in_use: float, post_kernel_us: float,
            publish_lag_us: float) -> Prediction | None:
    """The pool's predicted count under `choice` (None when no model applies).

    Measured inputs: `mean_in_use` gives M/G/inf its a; `post_kernel_us` (thread mode:
    kernel end to retirement) and `publish_lag_us` (how much later than its event an
    action's timepoint is acquired) are the core's own µs-scale steps.
    """
    if not choice.applies:
        return None
    if not choice.queueing:
        pmf = qt.poisson_pmf(mean_in_use)
        return Prediction(pmf, pmf)
    queues = [_queue(choice, i, ins, pool, post_kernel_us, publish_lag_us)
              for i, ins in choice.inputs.items() if ins]
    return _combine(queues)


def _queue(choice: ModelChoice, index: int, ins: list[tuple[float, int, Service]],
           pool: str, post_kernel_us: float, publish_lag_us: float) -> _Queue:
    rate = sum(r * b for r, b, _ in ins)
    average = _stage(ins)
    seen = _batch_seen(average, ins)
    extra = [qt.poisson_pmf(rate * max(0.0, post_kernel_us))]
    if choice.callback is not None:
        extra = _callback_phases(choice, index, ins, rate,
                                 qt.mean(average) / rate if rate else 0.0)
    average, seen = qt.convolve([average, *extra]), qt.convolve([seen, *extra])
    if pool == "timepoint" and publish_lag_us > 0:
        busy = 1.0 - float(average[0])
        average = qt.thin(average, rate * publish_lag_us / busy if busy > 0 else 0.0)
        seen = qt.thin(seen, rate * publish_lag_us / busy if busy > 0 else 0.0)
    return _Queue(average, seen, rate, tuple(ins))


def _callback_phases(choice: ModelChoice, index: int,
                     ins: list[tuple[float, int, Service]], rate: float,
                     sojourn_us: float) -> list[Pmf]:
    """One queue's count past its kernel stream, in callback mode (rate per µs).

    The callback stream is M/G/1 (service: latency + host-thread wait + body B). The
    event is released when the completion loop, woken at the host function's start (the
    hand-off), has made its query_event call (Q): the head of the stream has already
    released it for (B - Q)+ (a thinning, at most one per queue) and holds it (Q - B)+
    after leaving (an M/G/inf phase, with the enqueue wait before the stream:
    `queueing.enqueue_wait`, the chained fraction the worker's utilization).
    """
    assert choice.callback is not None
    j = choice.jitter
    body = (choice.host_function_us * (1 - j), choice.host_function_us * (1 + j))
    query = (choice.retire_us * (1 - j), choice.retire_us * (1 + j))
    released_early = qt.uniform_excess(body, query)
    held_late = qt.uniform_excess(query, body)
    kernel = sum(r * b * s.mean for r, b, s in ins) / rate if rate else 0.0
    chain = choice.chain_launch_us
    chained = choice.loads[index].worker_utilization if chain is not None else 0.0
    enqueue = qt.enqueue_wait(choice.enqueue_us, sojourn_us, kernel, chained,
                              chain or (0.0, 0.0), j)
    return [qt.thin(qt.mg1(rate, choice.callback), released_early / choice.callback.mean),
            qt.poisson_pmf(rate * (enqueue + held_late))]


def _batch_seen(average: Pmf, ins: list[tuple[float, int, Service]]) -> Pmf:
    """An acquire that is the j-th of a batch of X finds j more (j uniform below X)."""
    batch = ins[0][1] if len(ins) == 1 else 1
    if batch == 1:
        return average
    shifted = np.zeros(len(average) + batch - 1)
    for j in range(batch):
        shifted[j:j + len(average)] += average / batch
    return shifted


def _combine(queues: list[_Queue]) -> Prediction:
    """The pool: the convolution over queues; an acquire's view mixes, over its queue q,
    q's own view with the others' time averages (prefix and suffix products)."""
    prefix = [np.ones(1)]
    for q in queues:
        prefix.append(qt.convolve([prefix[-1], q.average]))
    suffix = [np.ones(1)]
    for q in reversed(queues):
        suffix.append(qt.convolve([suffix[-1], q.average]))
    suffix.reverse()
    total_rate = sum(q.rate for q in queues) or 1.0
    seen = np.zeros(1)
    part = seen
    for i, q in enumerate(queues):
        if not i or q.key != queues[i - 1].key:  # identical neighbours: the same view
            part = qt.convolve([prefix[i], q.seen, suffix[i + 1]])
        if len(part) > len(seen):
            seen = np.pad(seen, (0, len(part) - len(seen)))
        seen[: len(part)] += q.rate / total_rate * part
    return Prediction(prefix[-1], seen)


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
