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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from hipbackend.platform import ThreadPlatform
from model.core.context import CoreContext
from model.core.defects import Defect
from model.scenario.actors import Actor, core_settings
from model.scenario.record import RunRecord
from model.scenario.recorder import Recorder
from model.scenario.types import Execute, Scenario

log = logging.getLogger(__name__)

POLL_S = 0.005


class HipRun:
    """One run of a scenario on the HIP backend; `run()` returns its `RunRecord`."""

    def __init__(self, scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
                 runtime: str = "cpu", limit_s: float = 60.0) -> None:
        from hipbackend.device import HipDevice
        from hipbackend.runtime import select_runtime

        self.scenario = scenario
        info = select_runtime(runtime)
        self.device = HipDevice(info)
        self.platform = ThreadPlatform(self.device)
        self._t0 = time.perf_counter()
        self.recorder = Recorder(scenario, f"hip-{runtime}", seed, self._now)
        self.recorder.device_times = False
        self.ctx = CoreContext(self.device, core_settings(scenario), defects, self.recorder)
        self.limit_s = limit_s
        self._actors: list[threading.Thread] = []

    def _now(self) -> float:
        return (time.perf_counter() - self._t0) * 1e6

    @property
    def record(self) -> RunRecord:
        return self.recorder.record

    def run(self) -> RunRecord:
        try:
            self._setup()
            self._wait_until_settled()
            self._snapshot()
            self._teardown()
            with self.platform.lock:
                self.recorder.snapshot_teardown(self.ctx)
            self._check_conservation()
        finally:
            self.device.close()
        return self.record

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
            p.spawn(queue.worker(), f"{name}.worker")
            p.spawn(queue.completion(), f"{name}.completion")
        for name, ops in self.scenario.actors.items():
            gen = Actor(ctx, self.recorder, name, ops).run()
            self._actors.append(p.spawn(gen, f"actor {name}"))

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
            if time.monotonic() > deadline:
                self.record.conservation_problems.append(
                    f"the run did not settle within {self.limit_s} s")
                return
            time.sleep(POLL_S)

    def _snapshot(self) -> None:
        rec, dev = self.recorder, self.device
        with self.platform.lock:
            rec.snapshot_semaphores(self.ctx)
            launched = {q: list(dev.stream_order.get(q, [])) for q in self.scenario.queues}
            self.record.issue_order = launched
            self.record.stream_order = {q: list(ids) for q, ids in launched.items()}
            self.record.sim_time_us = self._now()
            rec.derive_flows()
            rec.frozen = True
        self.record.observed_before = dev.read_observation()
        self.record.host_function_api_calls = list(dev.host_function_api_call_log)
        self.record.host_function_api_calls += dev.host_function_errors
        self.record.host_function_api_calls += self.platform.errors

    def _teardown(self) -> None:
        self.platform.abort(self._actors)
        for thread in self._actors:
            thread.join(timeout=5)
        for queue in self.ctx.queues.values():
            self.platform.drive(queue.shutdown())
        self.platform.drive(self.ctx.close())
        for thread in self.platform.threads:
            thread.join(timeout=5)
        stuck = [t.name for t in self.platform.threads if t.is_alive()]
        if stuck:
            self.record.conservation_problems.append(f"threads did not exit: {stuck}")

    def _check_conservation(self) -> None:
        dev = self.device
        self.recorder.check_conservation(self.ctx, dev.events_created - dev.events_destroyed,
                                         dev.streams_created - dev.streams_destroyed)


def run_hip(scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
            runtime: str = "cpu") -> RunRecord:
    """Run `scenario` once on the HIP backend (`runtime`: "cpu" or "rocm")."""
    return HipRun(scenario, seed, defects, runtime).run()
