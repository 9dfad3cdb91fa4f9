"""One planning run: a workload on the real core over the SimPy device, at one capacity.

`simulate(workload, capacity, seed, duration_s, warmup_s)` builds a `CoreContext` whose
event pool and timepoint pool both have `capacity` (instrumented, `instrument.py`), starts
every queue's worker and completion loops, and one simulated host thread per workload
process, and runs `duration_s` of simulated time. Statistics cover [warmup_s, duration_s].

How a step maps onto the core: node i of process P, placed on queue q, signals timeline
semaphore `P.n<i>@<q>` with the step number (one timeline per node and queue, like a
per-queue semaphore, so signal values strictly increase); a node waits on the timelines
of the nodes in its `after` list at the same step; with a gate, roots also wait on
(`P.gate`, step), which is signalled `gate_us` later; a host wait waits on the step's
sinks. Replays signal one timeline per queue slot with a counter. Every execute is
preceded by one `host_op` cost on the process's thread, drawn from the process's own
generator (for the first node of an arrival it is folded into the arrival delay).
Processes stop at `duration_s`; the run then *drains*: already submitted work finishes,
so the core's invariants can be checked at quiescence.

Invariants: the run is a pure function of its arguments (seeded environment, per-process
generators seeded from (seed, process name)); what is submitted does not depend on the
capacity (common random numbers); the core's own invariants
(`ctx.check_invariants`) hold at the end, or the run raises `InvariantError`; the device
keeps no per-work observation (spans, work times, stream orders), so memory stays bounded.

Modelling approximation (`coalesce_calls`, on by default here and nowhere else): a host
thread's consecutive non-blocking device calls are charged as one timeout of their summed
cost (`SimPlatform`); docs/planning.md measures its effect.
`coalesce_calls=False` simulates every call separately, as `hipsem run` does.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

from model.core.context import CoreContext, CoreSettings, Observer
from model.core.queue import Action, DeferredQueue
from model.core.semaphore import Semaphore, wait_semaphores
from model.device import WorkItem
from model.planning.arrivals import gaps, sampler
from model.planning.instrument import (
    InstrumentedEventPool,
    InstrumentedTimepointPool,
    PoolWindow,
)
from model.planning.workload import Process, Replay, Workload
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.platform import SimPlatform

log = logging.getLogger(__name__)

SimProc = Generator[simpy.Event, Any, None]
DRAIN_MIN_US = 100_000.0  # the drain may take this long, or the run's duration if longer


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run measured; `event` and `timepoint` cover the measurement window."""

    capacity: int
    seed: int
    event: PoolWindow
    timepoint: PoolWindow
    steps: int  # steps started in the window
    actions: int  # executes submitted in the whole run
    host_wait_us: float  # simulated µs the processes spent in host waits (in the window)
    unfinished: int  # actions submitted but not finished when the window closed
    drained: bool  # the run went quiet within the drain limit (then invariants held)
    wall_s: float  # wall-clock seconds the run took
    post_kernel_us: float = 0.0  # mean µs from a kernel's end to its action's retirement
    found_busy: float = 0.0  # fraction of launches that found their kernel stream busy
    launches: int = 0  # launches in the window (found_busy's denominator)

    @property
    def overloaded(self) -> bool:
        """A backlog that grows with the run (see `backlogged`), or a run that never quiets."""
        return not self.drained or backlogged(self.unfinished, self.actions)

    @property
    def acquisitions(self) -> int:
        return self.event.acquires + self.timepoint.acquires


def backlogged(unfinished: int, actions: int) -> bool:
    """More than 5% of the submitted actions (and more than 100) are still unfinished.

    A stable system's backlog does not grow with the run's length; an overloaded one's
    grows in proportion to it.
    """
    return unfinished > 100 and unfinished > 0.05 * actions


class StreamTimer(Observer):
    """What the analytic models (`models.py`) take from a run, over `[start_us, end)`:

    * `post_kernel_us`: mean time from a kernel's end to its action's retirement (when
      its event and timepoint are released): the hold beyond the streams' queueing;
    * `found_busy`: the fraction of launches that found their kernel stream busy (a
      kernel launched and not ended). Poisson input would make it the stream's
      utilization (PASTA); the worker's issue chains make it larger.
    """

    def __init__(self, env: simpy.Environment, device: SimDevice, start_us: float) -> None:
        self.env, self.start_us = env, start_us
        self.ends: dict[str, float] = {}
        self.total_us, self.count = 0.0, 0
        self.launches = self.busy = 0
        self._launch = device.launch_work
        device.launch_work = self.launch_work  # type: ignore[method-assign]
        device.on_work_end = self.work_end

    def launch_work(self, stream: Any, work: WorkItem) -> None:
        """The device's launch_work, counting launches that find the stream busy."""
        if self.env.now >= self.start_us:
            self.launches += 1
            self.busy += stream.pending > 0
        self._launch(stream, work)

    def work_end(self, tag: str, stream: str, now: float) -> None:
        self.ends[tag] = now

    def action_finished(self, queue: DeferredQueue, action: Action) -> None:
        end = self.ends.pop(action.work.tag, None)
        now = self.env.now
        if end is not None and now >= self.start_us:
            self.total_us += now - end
            self.count += 1

    @property
    def mean_us(self) -> float:
        return self.total_us / self.count if self.count else 0.0

    @property
    def found_busy(self) -> float:
        return self.busy / self.launches if self.launches else 0.0


class PlanningRun:
    """The simulation of one (workload, capacity, seed); see the module docstring."""

    def __init__(self, workload: Workload, capacity: int, seed: int,
                 coalesce_calls: bool = True) -> None:
        self.workload = workload
        self.capacity = capacity
        self.seed = seed
        self.env = SeededEnvironment(seed)
        self.device = SimDevice(self.env, workload.timing, record=False)
        self.platform = SimPlatform(self.env, self.device, coalesce_calls=coalesce_calls)
        settings = CoreSettings(capacity, capacity, workload.max_wait_events,
                                workload.completion.value)
        self.ctx = CoreContext(self.device, settings)
        # One C-level call into SimPy's `now` property (a hot path: every acquire/release).
        clock: Callable[[], float] = functools.partial(getattr, self.env, "now")
        self.events = InstrumentedEventPool(self.device, capacity, clock)
        self.timepoints = InstrumentedTimepointPool(capacity, clock)
        self.ctx.event_pool, self.ctx.timepoint_pool = self.events, self.timepoints
        self.queues: list[DeferredQueue] = []
        self.end_us = 0.0
        self.warmup_us = 0.0
        self.steps = self.actions = 0
        self.host_wait_us = 0.0
        self.stream_timer = StreamTimer(self.env, self.device, self.warmup_us)
        self.ctx.observer = self.stream_timer

    def run(self, duration_s: float, warmup_s: float = 0.0) -> RunResult:
        started = time.perf_counter()
        self.end_us, self.warmup_us = duration_s * 1e6, min(warmup_s, duration_s) * 1e6
        self.stream_timer.start_us = self.warmup_us
        self.env.process(self._main())
        if self.warmup_us > 0:
            self.env.run(until=self.warmup_us)
            self.events.occupancy.open_window()
            self.timepoints.occupancy.open_window()
        self.env.run(until=self.end_us)
        windows = (self.events.occupancy.close_window(self.capacity),
                   self.timepoints.occupancy.close_window(self.capacity))
        unfinished = self._unfinished()
        drained = not backlogged(unfinished, self.actions) and self._drain(
            self.end_us + max(duration_s * 1e6, DRAIN_MIN_US))
        return RunResult(self.capacity, self.seed, *windows, self.steps, self.actions,
                         self.host_wait_us, unfinished, drained, time.perf_counter() - started,
                         self.stream_timer.mean_us, self.stream_timer.found_busy,
                         self.stream_timer.launches)

    def _unfinished(self) -> int:
        stats = [q.statistics() for q in self.queues]
        return sum(s.pending + s.ready + s.in_flight for s in stats)

    def _drain(self, limit_us: float) -> bool:
        """Let submitted work finish (no new steps start); check the core's invariants.

        The pools' invariants only hold between operations, so they are checked once
        nothing is left to happen. Returns False if the run did not go quiet by `limit_us`.
        """
        env = self.env
        env.horizon = limit_us  # no host thread fast-forwards past it (model.sim.env)
        while (next_time := env.peek()) != float("inf"):
            if next_time > limit_us:
                return False
            env.step()
        self.ctx.check_invariants()
        return True

    # -- set-up -----------------------------------------------------------------------
    def _main(self) -> SimProc:
        ctx, platform = self.ctx, self.platform
        yield from platform.drive(ctx.initialize())
        for name in self.workload.queues:
            queue = ctx.create_queue(name)
            yield from platform.drive(queue.start())
            platform.spawn(queue.worker())
            platform.spawn(queue.completion())
            self.queues.append(queue)
        for proc in self.workload.processes:
            body = self._replay(proc, proc.replay) if proc.replay else self._steps(proc)
            self.env.process(body)

    def _rng(self, proc: Process) -> random.Random:
        return random.Random(f"{self.seed}:{proc.name}")

    def host_cost(self, rng: random.Random, until: float | None = None) -> simpy.Timeout:
        """Wait until `until` (if later than now), then pay one execute's host cost.

        Drawn from the process's own generator, so submission times do not depend on the
        capacity (the core's device calls draw from the environment's).
        """
        env = self.env
        wait = 0.0 if until is None else max(0.0, until - env.now)
        return env.timeout(wait + self.device.timing.cost("host_op", rng))

    def submitting(self) -> bool:
        """Count a step that starts now; False once the run's end has passed (stop)."""
        if self.env.now >= self.end_us:
            return False
        self.steps += self.env.now >= self.warmup_us
        return True

    # -- graph steps ------------------------------------------------------------------
    def _steps(self, proc: Process) -> SimProc:
        assert proc.arrivals is not None
        rng = self._rng(proc)
        submitter = _Submitter(self, proc, rng)
        due, step = self.env.now, 0
        for gap, count in gaps(proc.arrivals, rng):
            due += gap
            for _ in range(count):
                if due >= self.end_us:
                    return
                step += 1
                yield self.host_cost(rng, due)
                if not self.submitting():
                    return
                yield from submitter.step(step)

    def open_gate_later(self, gate: Semaphore, step: int, delay_us: float) -> None:
        def open_gate(_: simpy.Event) -> None:
            if gate.value < step:  # simultaneous gates may fire out of order
                gate.signal(step)

        self.env.timeout(delay_us).callbacks.append(open_gate)

    def host_wait(self, pairs: list[tuple[Semaphore, int]]) -> SimProc:
        start = self.env.now
        yield from self.platform.drive(wait_semaphores(self.ctx, pairs, False, None))
        self.host_wait_us += self.env.now - max(start, self.warmup_us)

    # -- replays ----------------------------------------------------------------------
    def _replay(self, proc: Process, replay: Replay) -> SimProc:
        rng = self._rng(proc)
        slots = sorted({s for _, s, _ in replay.submissions})
        sems = {s: self.ctx.create_semaphore(f"{proc.name}.s{s}") for s in slots}
        counts = dict.fromkeys(slots, 0)
        offset, n_queues = proc.queue_offset or 0, len(self.queues)
        base = 0.0
        while True:
            for t, slot, duration in replay.submissions:
                if base + t >= self.end_us:
                    return
                yield self.host_cost(rng, base + t)
                if not self.submitting():
                    return
                counts[slot] += 1
                tag = f"{proc.name}.{slot}.{counts[slot]}"
                self.queues[(offset + slot) % n_queues].execute(
                    tag, [], [(sems[slot], counts[slot])], WorkItem(tag, duration))
                self.actions += 1
            if not replay.loop:
                return
            base += replay.span_us


class _Submitter:
    """Submits the steps of one graph process (see the module docstring for the mapping).

    Node i of a step on queue q signals timeline `P.n<i>@<q>` with the step number: one
    timeline per (node, queue), like a per-queue semaphore, so values strictly increase
    and a queue's own submissions complete in order on it.
    """

    def __init__(self, run: PlanningRun, proc: Process, rng: random.Random) -> None:
        self.run, self.proc, self.rng = run, proc, rng
        self.graph = run.workload.graphs[proc.graph]
        self.draws = [sampler(run.workload.kernels[n.kernel], rng) for n in self.graph.nodes]
        self.gate = (run.ctx.create_semaphore(f"{proc.name}.gate")
                     if self.graph.gate_us is not None else None)
        self.timelines: dict[tuple[int, int], Semaphore] = {}

    def timeline(self, node: int, queue: int) -> Semaphore:
        sem = self.timelines.get((node, queue))
        if sem is None:
            name = f"{self.proc.name}.n{node}@{self.run.queues[queue].name}"
            sem = self.timelines[node, queue] = self.run.ctx.create_semaphore(name)
        return sem

    def step(self, step: int) -> SimProc:
        run, graph = self.run, self.graph
        offset = step if self.proc.queue_offset is None else self.proc.queue_offset
        where = [(offset + n.slot) % len(run.queues) for n in graph.nodes]
        for i, node in enumerate(graph.nodes):
            if i:
                yield run.host_cost(self.rng)
            waits = [(self.timeline(d, where[d]), step) for d in node.after]
            if self.gate is not None and not node.after:
                waits.append((self.gate, step))
            tag = f"{self.proc.name}.{step}.{i}"
            run.queues[where[i]].execute(tag, waits, [(self.timeline(i, where[i]), step)],
                                         WorkItem(tag, self.draws[i]()))
            run.actions += 1
        if self.gate is not None:
            run.open_gate_later(self.gate, step, graph.gate_us or 0.0)
        if graph.host_wait:
            yield from run.host_wait([(self.timeline(s, where[s]), step) for s in graph.sinks])


def simulate(workload: Workload, capacity: int, seed: int, duration_s: float,
             warmup_s: float = 0.0, coalesce_calls: bool = True) -> RunResult:
    """Run `workload` once with both pools at `capacity` (see the module docstring)."""
    result = PlanningRun(workload, capacity, seed, coalesce_calls).run(duration_s, warmup_s)
    log.debug("run capacity=%d seed=%d: %d acquisitions in %.2fs", capacity, seed,
              result.acquisitions, result.wall_s)
    return result
