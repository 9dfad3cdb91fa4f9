"""Run a scenario on the HIP backend: the real core over hip-python, on real threads.

The same core, the same actors (`model.scenario.actors`) and the same recorder as the
SimPy runner; only the platform (`hipbackend.platform.ThreadPlatform`) and the device
(`hipbackend.device.HipDevice`) differ. Times are host-clock microseconds since the run
started: for an execute, `start_us` is when the worker issued it and `end_us` when the core
retired it. What the device really ordered comes from the observation matrix
(`RunRecord.observed_before`): for each execute, the executes whose work was done when its
work began. The checker's happens-before uses that instead of times.

A run ends when it has settled: every actor has finished or waits forever on a condition
nobody can satisfy any more (no action is ready, being issued or in flight, so no
completion can signal anything); those waits are reported PENDING. Teardown then abandons them,
shuts the queues down and closes the pools, as in simulation.

Crashes, as in simulation (model/sim/runner.py): an exception raised while driving the run
under test (set-up, an actor, a worker or completion loop, a host function's core code,
teardown, the post-run reads of the core's state) is recorded as `record.crash` (the
first one); the run stops waiting at once, teardown runs on a helper thread that is
aborted if it does not finish within `CRASH_TEARDOWN_S`, the threads are joined with
timeouts, and conservation accounting is skipped. Thread names double as the crash's
`where` ("actor h0", "queue q0 worker", ...). A `RecorderError` raised on any thread is
an internal error of hipsem: `run()` re-raises it once the run is torn down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from hipbackend.platform import Abandoned, ThreadPlatform
from model.core.context import CoreContext, CoreSettings, Observer
from model.core.defects import Defect
from model.scenario.actors import Actor, core_settings
from model.scenario.record import RunRecord
from model.scenario.recorder import Recorder, RecorderError
from model.scenario.types import Execute, Scenario

log = logging.getLogger(__name__)

# Builds the core context of a run, as `model.sim.runner.ContextFactory` (any device).
HipContextFactory = Callable[[Any, CoreSettings, Iterable[Defect], Observer], CoreContext]

POLL_S = 0.005
JOIN_S = 5.0  # per thread, at teardown
TEARDOWN_S = 60.0  # the whole teardown of a run that did not crash
CRASH_TEARDOWN_S = 1.0  # after a crash: a dead worker never drains its queue


class HipRun:
    """One run of a scenario on the HIP backend; `run()` returns its `RunRecord`."""

    def __init__(self, scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
                 runtime: str = "cpu", limit_s: float = 60.0,
                 context_factory: HipContextFactory | None = None) -> None:
        from hipbackend.device import HipDevice
        from hipbackend.runtime import select_runtime

        self.scenario = scenario
        info = select_runtime(runtime)
        self.device = HipDevice(info)
        self.platform = ThreadPlatform(self.device)
        self.platform.on_crash = self._thread_crashed
        self._t0 = time.perf_counter()
        self.recorder = Recorder(scenario, f"hip-{runtime}", seed, self._now)
        self.recorder.device_times = False
        make = context_factory or CoreContext
        self.ctx = make(self.device, core_settings(scenario), defects, self.recorder)
        self.limit_s = limit_s
        self._actors: list[threading.Thread] = []
        self._actor_of: dict[str, Actor] = {}  # thread name -> actor

    def _now(self) -> float:
        return (time.perf_counter() - self._t0) * 1e6

    @property
    def record(self) -> RunRecord:
        return self.recorder.record

    def run(self) -> RunRecord:
        try:
            self._attempt("setup", self._setup)
            if not self._broken():
                self._wait_until_settled()
            self._snapshot()
            self._teardown()
            with self.platform.lock:
                self._attempt("teardown", self.recorder.snapshot_teardown, self.ctx)
            if self.record.crash is None:
                self._attempt("conservation check", self._check_conservation)
            else:  # teardown could not finish: report the pools, skip the accounting
                self._attempt("conservation check", self.recorder.set_pools, self.ctx)
        finally:
            self.device.close()
        if self.platform.internal_errors:
            raise self.platform.internal_errors[0]
        return self.record

    def _broken(self) -> bool:
        """The run crashed, or hipsem's recorder failed: stop waiting, tear down fast."""
        return self.record.crash is not None or bool(self.platform.internal_errors)

    def _thread_crashed(self, where: str, error: Exception) -> None:
        """`ThreadPlatform.on_crash` (called with the lock held)."""
        actor = self._actor_of.get(where)
        self.recorder.crashed(error, where, actor.current if actor is not None else None)

    def _attempt(self, where: str, fn: Callable[..., Any], *args: Any) -> None:
        """A step of the run on the main thread; a raise is a crash of the run."""
        try:
            fn(*args)
        except RecorderError:
            raise
        except Exception as error:
            log.debug("%s crashed", where, exc_info=True)
            with self.platform.lock:
                self.recorder.crashed(error, where)

    def _setup(self) -> None:
        tags = [op.id for _, _, op in self.scenario.ops() if isinstance(op, Execute)]
        self.device.prepare_observation(tags)
        p, ctx = self.platform, self.ctx
        p.drive(ctx.initialize())
        for name, initial in self.scenario.semaphores.items():
            p.locked(ctx.create_semaphore, name, initial)
        for name in self.scenario.queues:
            queue = p.locked(ctx.create_queue, name)
            p.drive(queue.start())
            p.spawn(queue.worker(), f"queue {name} worker")
            p.spawn(queue.completion(), f"queue {name} completion")
        for name, ops in self.scenario.actors.items():
            actor = Actor(ctx, self.recorder, name, ops)
            self._actor_of[f"actor {name}"] = actor
            self._actors.append(p.spawn(actor.run(), f"actor {name}"))

    def _settled(self) -> bool:
        """Nothing can happen any more: every live actor waits forever on a flag not yet
        set, and no action is ready, being issued or in flight (so no completion, hence no
        signal, can come)."""
        with self.platform.lock:
            alive = [t for t in self._actors if t.is_alive()]
            if not self.platform.parked_forever(alive):
                return False
            stats = [q.statistics() for q in self.ctx.queues.values()]
            return not any(s.ready or s.in_flight for s in stats)

    def _wait_until_settled(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._settled():
            if self._broken():
                return
            if time.monotonic() > deadline:
                self.record.conservation_problems.append(
                    f"the run did not settle within {self.limit_s} s")
                return
            time.sleep(POLL_S)

    def _snapshot(self) -> None:
        rec, dev = self.recorder, self.device
        with self.platform.lock:
            self._attempt("snapshot", rec.snapshot_semaphores, self.ctx)
            launched = {q: list(dev.stream_order.get(q, [])) for q in self.scenario.queues}
            self.record.issue_order = launched
            self.record.stream_order = {q: list(ids) for q, ids in launched.items()}
            self.record.sim_time_us = self._now()
            rec.derive_flows()
            rec.frozen = True
        self._attempt("snapshot", self._read_observation)
        self.record.host_function_api_calls = list(dev.host_function_api_call_log)
        self.record.host_function_api_calls += dev.host_function_errors

    def _read_observation(self) -> None:
        self.record.observed_before = self.device.read_observation()

    def _teardown(self) -> None:
        """Teardown on a helper thread, aborted if it overruns (a crashed core may never
        drain a queue); then every thread is joined with a timeout."""
        crashed = self._broken()
        helper = threading.Thread(target=self._teardown_steps, name="teardown", daemon=True)
        helper.start()
        helper.join(CRASH_TEARDOWN_S if crashed else TEARDOWN_S)
        if helper.is_alive():
            self.platform.abort([helper])
            helper.join(JOIN_S)
            if not crashed:
                self.record.conservation_problems.append(
                    f"teardown did not finish within {TEARDOWN_S} s")
        if crashed:  # wake the loops a dead thread left parked forever
            self.platform.abort(self.platform.threads)
        deadline = time.monotonic() + JOIN_S
        for thread in self.platform.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) if crashed else JOIN_S)
        stuck = [t.name for t in self.platform.threads if t.is_alive()]
        if helper.is_alive():
            stuck.append(helper.name)
        if stuck and not crashed:
            self.record.conservation_problems.append(f"threads did not exit: {stuck}")

    def _teardown_steps(self) -> None:
        try:
            self.platform.abort(self._actors)
            for thread in self._actors:
                thread.join(timeout=JOIN_S)
            for queue in self.ctx.queues.values():
                self.platform.drive(queue.shutdown())
            self.platform.drive(self.ctx.close())
        except Abandoned:
            pass  # overran after a crash: abandoned by _teardown
        except RecorderError as error:
            with self.platform.lock:
                self.platform.internal_errors.append(error)
        except Exception as error:
            log.debug("teardown crashed", exc_info=True)
            with self.platform.lock:
                self.recorder.crashed(error, "teardown")

    def _check_conservation(self) -> None:
        dev = self.device
        self.recorder.check_conservation(self.ctx, dev.events_created - dev.events_destroyed,
                                         dev.streams_created - dev.streams_destroyed)


def run_hip(scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
            runtime: str = "cpu", context_factory: HipContextFactory | None = None) -> RunRecord:
    """Run `scenario` once on the HIP backend (`runtime`: "cpu" or "rocm");
    `context_factory` (default `CoreContext`) builds the core under test."""
    return HipRun(scenario, seed, defects, runtime, context_factory=context_factory).run()
