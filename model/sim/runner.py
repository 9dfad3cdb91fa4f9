"""Run a scenario on the SimPy backend: the real core over the simulated HIP device.

Phases:
  1. set-up: fill the event pool, create semaphores and queues, start each queue's
     worker and completion loops, start one process per host actor;
  2. run until quiescence (nothing left to happen); statuses, semaphore values and orders
     are recorded at that point;
  3. teardown: blocked host waits are abandoned, queues shut down (parked actions are
     cancelled), pools closed; then conservation is checked (pools, references, device
     objects, action accounting).

Limit. There is no hidden time limit: a run goes on, however long in simulated time, until
it is quiescent. An explicit `limit_us` (`--limit` on the command line) stops a runaway
scenario: when the next event lies past it, the run stops there, its state is recorded,
no teardown is run, and `record.limit_reached_us` is set. Such a run is not judged (its
waits are not over, its pools not drained): the command line ends it with exit status 4,
a campaign counts it as unjudged, never as a failure.

Crashes. An exception raised while driving the run under test (the core, the device or
the platform, in set-up, an actor, a worker or completion loop, a host function, teardown
or the post-run reads of the core's state) is a failure of that run, not of hipsem: the
first one is recorded as `record.crash` (type, message, the op the raising actor was
running, and where), the run stops stepping at once (statuses so far are snapshot), and
teardown runs as far as it can, bounded by `limit_us` (or, without one,
`CRASH_TEARDOWN_US`) more simulated time; conservation accounting is skipped after a
crash (teardown could not finish). The checker reports the
crash as property `crash`. A `RecorderError` (hipsem's own recorder failed) is never a
crash: it propagates, as does any exception of the runner's own code.

Hangs. A core that livelocks (a scan that never ends, a loop of zero-time steps) never
reaches quiescence nor the simulated-time limit. With `wall_limit_s` set, the run is
stopped after that much wall-clock time (SIGALRM in the main thread, an asynchronous
exception from a timer in any other) and recorded as a
crash of type `RunTimeout` with no teardown: a finding, not a hung campaign. A livelock
that advances simulated time is stopped the same way (or by an explicit `limit_us`).

Garbage collection. A long run allocates millions of objects that live until its record
is built; CPython's default collection thresholds then make the collector's cost grow with
the heap (a 64k-execute chain spent a third of its time in it). `collect_rarely()` raises
the thresholds for the duration of a run (and `hipsem run`'s checking and reporting),
then restores them: it changes when cycles are collected, never what a run does.

The run is a pure function of (scenario, seed, defects, timing) (a wall-clock stop aside).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import signal
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import simpy

from model.core.context import CoreContext, CoreSettings, Observer
from model.core.defects import Defect
from model.core.effects import Gen
from model.scenario.actors import Actor, core_settings
from model.scenario.record import Crash, RunRecord
from model.scenario.recorder import Recorder, RecorderError
from model.scenario.types import Scenario
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.platform import SimGen, SimPlatform
from model.sim.timing import Timing

# After a crash, teardown is best effort (a dead worker never drains its queue): it gets
# at most this much more simulated time when the run has no explicit limit. It bounds
# only what a crashed run's teardown reports; conservation is not judged after a crash.
CRASH_TEARDOWN_US = 10_000_000.0


# Generation thresholds while a run is under way (CPython's defaults: 700, 10, 10).
RUN_GC_THRESHOLDS = (50_000, 50, 1000)


@contextlib.contextmanager
def collect_rarely() -> Iterator[None]:
    """Raise the collector's thresholds to RUN_GC_THRESHOLDS, restore them afterwards."""
    previous = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(RUN_GC_THRESHOLDS, previous, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*previous)


class RunTimeout(BaseException):
    """Raised by the wall-clock watchdog inside whatever the run was doing (not an
    Exception, so that no crash guard of the run swallows it)."""


@contextlib.contextmanager
def _watchdog(seconds: float | None) -> Iterator[None]:
    """Raise RunTimeout after `seconds` of wall-clock time: by SIGALRM in the main thread,
    by an asynchronous exception from a timer thread in any other (a Dask worker runs its
    tasks in threads)."""
    if not seconds:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _thread_watchdog(seconds):
            yield
        return

    def fire(_signum: int, _frame: object) -> None:
        raise RunTimeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

@contextlib.contextmanager
def _thread_watchdog(seconds: float) -> Iterator[None]:
    """The watchdog of a non-main thread: a timer raises RunTimeout in this thread (at its
    next bytecode; SimPy and the core are pure Python) unless the block ended first."""
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target),
                                                           ctypes.py_object(RunTimeout))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["done"] = True
            timer.cancel()
            if state["fired"]:  # not raised yet (the block ended first): withdraw it
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)


# Builds the core context of a run (a user's variant of the core: a CoreContext subclass
# whose create_queue makes a DeferredQueue subclass, say). Arguments as CoreContext's.
ContextFactory = Callable[[SimDevice, CoreSettings, Iterable[Defect], Observer], CoreContext]


class SimRun:
    """One simulated run of a scenario; `run()` returns its `RunRecord`."""

    def __init__(self, scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
                 timing: Timing | None = None, limit_us: float | None = None,
                 context_factory: ContextFactory | None = None,
                 wall_limit_s: float | None = None) -> None:
        self.scenario = scenario
        self.env = SeededEnvironment(seed)
        self.device = SimDevice(self.env, timing)
        self.platform = SimPlatform(self.env, self.device)
        self.recorder = Recorder(scenario, "sim", seed, lambda: float(self.env.now))
        make = context_factory or CoreContext
        # Building the core is part of the run under test: a core that rejects valid
        # settings, or raises while it is constructed, crashes the run (`setup`).
        ctx = self.recorder.build_core(
            lambda: make(self.device, core_settings(scenario), defects, self.recorder))
        self._init_crashed = ctx is None
        if ctx is not None:
            self.ctx = ctx
        self.limit_us = limit_us
        self.wall_limit_s = wall_limit_s
        self._work_flags = {f"{q}.work": q for q in scenario.queues}
        self.platform.observe_flags = frozenset(self._work_flags)
        self._actor_gens: list[Gen[None]] = []
        self._torn_down = False

    @property
    def record(self) -> RunRecord:
        return self.recorder.record

    def run(self) -> RunRecord:
        if self._init_crashed:
            self.recorder.frozen = True
            return self.record
        try:
            with _watchdog(self.wall_limit_s), collect_rarely():
                return self._run()
        except RunTimeout:
            self.recorder.frozen = True
            self.record.crash = self.record.crash or Crash(
                "RunTimeout",
                f"the run did not finish within {self.wall_limit_s} s of wall-clock time "
                f"(simulated time {float(self.env.now):.3f} us): a livelock in the core?",
                None, "run")
            return self.record

    def _run(self) -> RunRecord:
        self.env.process(self._guarded("setup", self._setup()))
        limit = float("inf") if self.limit_us is None else self.limit_us
        quiet = self._run_to_quiescence(limit, stop_on_crash=True)
        crashed = self.record.crash is not None
        if not quiet and not crashed:  # the explicit limit: stop here, not judged
            self.record.limit_reached_us = limit
            self._snapshot()
            return self.record
        self._snapshot()
        self.env.process(self._guarded("teardown", self._teardown()))
        # After a crash, teardown goes as far as it can within a bounded simulated time
        # (a dead worker never drains its queue); otherwise it runs to the end.
        grace = CRASH_TEARDOWN_US if self.limit_us is None else self.limit_us
        self._run_to_quiescence(self.env.now + grace if crashed else float("inf"),
                                stop_on_crash=False)
        self.recorder.attempt("teardown", self.recorder.snapshot_teardown, self.ctx)
        self.record.teardown.completed = self._torn_down
        self.device.lost()  # a loss that came while nothing was happening
        self.record.faults = list(self.device.fault_hits)
        self.record.device_lost_us = self.device.lost_us
        if self.record.crash is None:
            self.recorder.attempt("conservation check", self._check_conservation)
        else:  # teardown could not finish: report the pools, skip the accounting
            self.recorder.attempt("conservation check", self.recorder.set_pools, self.ctx)
        return self.record

    def _run_to_quiescence(self, limit: float, stop_on_crash: bool) -> bool:
        """Step until nothing is scheduled (True), the next event is past `limit` (False)
        or, with `stop_on_crash`, the run crashed (True: it stops at once)."""
        env, record = self.env, self.record
        env.horizon = limit
        while (next_time := env.peek()) != float("inf"):
            if next_time > limit:
                return False
            try:
                env.step()
            except RecorderError:
                raise
            except Exception as error:  # escaped a device process (or a host function)
                cause = error.__cause__  # SimPy raises a copy of the process's exception
                raised = cause if type(cause) is type(error) else error
                self.recorder.crashed(raised, _escaped_from(error))
            if stop_on_crash and record.crash is not None:
                return True
        return True

    def _spawn(self, where: str, gen: Gen[Any], actor: Actor | None = None) -> simpy.Process:
        """Run a core generator as a simulated host thread whose crash is recorded."""
        return self.env.process(self._guarded(where, self.platform.drive(gen), actor))

    def _guarded(self, where: str, body: SimGen[Any],
                 actor: Actor | None = None) -> Generator[simpy.Event, Any, None]:
        try:
            yield from body
        except RecorderError:
            raise
        except Exception as error:
            self.recorder.crashed(error, where, actor.current if actor else None)
            # The run stops stepping after this step: no other thread may fast-forward
            # past it within the step (the runner resets the horizon for teardown).
            self.env.horizon = -float("inf")

    def _setup(self) -> SimGen[None]:
        ctx, drive = self.ctx, self.platform.drive
        yield from drive(ctx.initialize())
        for name, initial in self.scenario.semaphores.items():
            ctx.create_semaphore(name, initial)
        for name in self.scenario.queues:
            queue = ctx.create_queue(name)
            yield from drive(queue.start())
            self._spawn(f"queue {name} worker", queue.worker())
            self._spawn(f"queue {name} completion", queue.completion())
        # Faults count from here: the pool fill and stream creation are never faulted
        # (the loops just spawned make no call before an actor submits work).
        self.device.arm_faults(self.scenario.faults, self.record.seed)
        for name, ops in self.scenario.actors.items():
            actor = Actor(ctx, self.recorder, name, ops)
            gen = actor.run()
            self._actor_gens.append(gen)
            self._spawn(f"actor {name}", gen, actor)

    def _snapshot(self) -> None:
        self.recorder.attempt("snapshot", self._read_state)
        self.recorder.derive_flows()
        self.recorder.frozen = True

    def _read_state(self) -> None:
        """Semaphores (the core) and what the device observed, into the record."""
        rec = self.recorder
        rec.snapshot_semaphores(self.ctx)
        rec.set_work_times(self.device.work_times)
        dev = self.device
        self.record.stream_order = {q: list(dev.stream_order.get(q, []))
                                    for q in self.scenario.queues}
        self.record.issue_order = {q: list(dev.launch_order.get(q, []))
                                   for q in self.scenario.queues}
        self.record.launched_us = dict(dev.launched_us)
        self.record.recorded_us = dict(dev.recorded_us)
        parked: dict[str, list[tuple[float, float]]] = {q: [] for q in self.scenario.queues}
        for flag, start, end in self.platform.parked:
            parked[self._work_flags[flag]].append((start, end))
        now = float(self.env.now)
        for flag, since in self.platform.parked_open.items():
            parked[self._work_flags[flag]].append((since, now))
        self.record.worker_parked = parked
        self.record.host_function_api_calls = list(self.device.host_function_api_call_log)
        self.record.host_function_api_calls += self.device.host_function_errors
        self.record.spans = list(self.device.spans)
        self.record.sim_time_us = float(self.env.now)

    def _teardown(self) -> SimGen[Any]:
        self.record.teardown.started_us = float(self.env.now)
        self.record.lost_answered_us = self.device.lost_answered_us  # before teardown only
        for gen in self._actor_gens:
            gen.close()  # abandons a blocked host wait; its timepoints go back to the pool
        for queue in self.ctx.queues.values():
            yield from self.platform.drive(queue.shutdown())
        yield from self.platform.drive(self.ctx.close())
        self._torn_down = True

    def _check_conservation(self) -> None:
        self.record.device_events = (self.device.events_created, self.device.events_destroyed,
                                     self.device.records_made)
        self.recorder.check_conservation(self.ctx, self.device.live_events,
                                         self.device.live_streams)


def _escaped_from(error: BaseException) -> str:
    """Where an exception that escaped `env.step()` was raised: the device's host-function
    thread runs the core's host functions; anything else is the device's own. SimPy
    raises a copy whose `__cause__` is the exception the process raised."""
    seen: BaseException | None = error
    while seen is not None:
        tb = seen.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name == "_host_thread":
                return "host function"
            tb = tb.tb_next
        seen = seen.__cause__
    return "device"


def run_sim(scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
            timing: Timing | None = None,
            context_factory: ContextFactory | None = None,
            wall_limit_s: float | None = None,
            limit_us: float | None = None) -> RunRecord:
    """Run `scenario` once on the SimPy backend and return what was observed.

    `context_factory` (default `CoreContext`) builds the core under test; `wall_limit_s`
    stops a run that livelocks (a `RunTimeout` crash); `limit_us` stops a run at that much
    simulated time (`record.limit_reached_us`; default: none, the run ends when quiescent).
    """
    return SimRun(scenario, seed, defects, timing, context_factory=context_factory,
                  wall_limit_s=wall_limit_s, limit_us=limit_us).run()
