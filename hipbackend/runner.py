"""Run a scenario on the HIP backend: the real core over hip-python, on real threads.

The same core, the same actors (`model.scenario.actors`) and the same recorder as the
SimPy runner; only the platform (`hipbackend.platform.ThreadPlatform`) and the device
(`hipbackend.device.HipDevice`) differ. Times are host-clock microseconds since the run
started: for an execute, `start_us` is when the worker issued it and `end_us` when the core
retired it. What the device really ordered comes from the observation matrix
(`RunRecord.observed_before`): for each execute, the executes whose work was done when its
work began. The checker's happens-before uses that instead of times.

A run ends when every actor has finished, or when nothing has happened for `idle_s`
(no observation recorded, no ready or in-flight action) while some actors still wait:
those waits can never be satisfied and are reported PENDING. Teardown then abandons them,
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
from model.core.pools import InvariantError
from model.scenario.actors import Actor
from model.scenario.record import RunRecord
from model.scenario.recorder import Recorder
from model.scenario.types import Execute, Scenario, Wait
from model.sim.runner import core_settings

log = logging.getLogger(__name__)

POLL_S = 0.005


class HipRun:
    """One run of a scenario on the HIP backend; `run()` returns its `RunRecord`."""

    def __init__(self, scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
                 runtime: str = "cpu", idle_s: float = 0.25, limit_s: float = 60.0) -> None:
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
        self.idle_s = idle_s + _longest_timeout_s(scenario)
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

    def _busy(self) -> bool:
        with self.platform.lock:
            stats = [q.statistics() for q in self.ctx.queues.values()]
        return any(s.ready or s.in_flight for s in stats)

    def _wait_until_settled(self) -> None:
        deadline = time.monotonic() + self.limit_s
        last_seq, last_change = -1, time.monotonic()
        while any(t.is_alive() for t in self._actors):
            now = time.monotonic()
            seq = self.recorder.last_seq
            if seq != last_seq or self._busy():
                last_seq, last_change = seq, now
            elif now - last_change > self.idle_s:
                break
            if now > deadline:
                self.record.conservation_problems.append(
                    f"the run did not settle within {self.limit_s} s")
                break
            time.sleep(POLL_S)
        while self._busy() and time.monotonic() < deadline:
            time.sleep(POLL_S)

    def _snapshot(self) -> None:
        rec, dev = self.recorder, self.device
        with self.platform.lock:
            rec.snapshot_semaphores(self.ctx)
            self.record.stream_order = {q: list(rec.record.issue_order.get(q, []))
                                        for q in self.scenario.queues}
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
        problems = self.record.conservation_problems
        try:
            self.ctx.check_invariants()
        except InvariantError as error:
            problems.extend(str(error).split("; "))
        self.recorder.set_pools(self.ctx)
        for name, pool in self.record.pools.items():
            if pool.in_use_at_end:
                problems.append(f"{name} pool: {pool.in_use_at_end} objects still in use "
                                "after teardown (a reference was leaked)")
        live = self.device.events_created - self.device.events_destroyed
        if live:
            problems.append(f"device: {live} events never destroyed")


def _longest_timeout_s(scenario: Scenario) -> float:
    timeouts = [op.timeout_us or 0 for _, _, op in scenario.ops() if isinstance(op, Wait)]
    sleeps = [getattr(op, "us", 0) for _, _, op in scenario.ops() if op.op == "sleep"]
    return (max(timeouts, default=0) + max(sleeps, default=0)) / 1e6


def run_hip(scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
            runtime: str = "cpu") -> RunRecord:
    """Run `scenario` once on the HIP backend (`runtime`: "cpu" or "rocm")."""
    return HipRun(scenario, seed, defects, runtime).run()
