"""Run a scenario on the SimPy backend: the real core over the simulated HIP device.

Phases:
  1. set-up: fill the event pool, create semaphores and queues, start each queue's
     worker and completion loops, start one process per host actor;
  2. run until quiescence (nothing left to happen) or `limit_us` of simulated time;
     statuses, semaphore values and orders are recorded at that point;
  3. teardown: blocked host waits are abandoned, queues shut down (parked actions are
     cancelled), pools closed; then conservation is checked (pools, references, device
     objects, action accounting).

The run is a pure function of (scenario, seed, defects, timing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from model.core.context import CoreContext, CoreSettings, Observer
from model.core.defects import Defect
from model.core.effects import Gen
from model.scenario.actors import Actor, core_settings
from model.scenario.record import RunRecord
from model.scenario.recorder import Recorder
from model.scenario.types import Scenario
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.platform import SimGen, SimPlatform
from model.sim.timing import Timing

DEFAULT_LIMIT_US = 10_000_000.0  # 10 s of simulated time

# Builds the core context of a run (a user's variant of the core: a CoreContext subclass
# whose create_queue makes a DeferredQueue subclass, say). Arguments as CoreContext's.
ContextFactory = Callable[[SimDevice, CoreSettings, Iterable[Defect], Observer], CoreContext]


class SimRun:
    """One simulated run of a scenario; `run()` returns its `RunRecord`."""

    def __init__(self, scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
                 timing: Timing | None = None, limit_us: float = DEFAULT_LIMIT_US,
                 context_factory: ContextFactory | None = None) -> None:
        self.scenario = scenario
        self.env = SeededEnvironment(seed)
        self.device = SimDevice(self.env, timing)
        self.platform = SimPlatform(self.env, self.device)
        self.recorder = Recorder(scenario, "sim", seed, lambda: float(self.env.now))
        make = context_factory or CoreContext
        self.ctx = make(self.device, core_settings(scenario), defects, self.recorder)
        self.limit_us = limit_us
        self._actor_gens: list[Gen[None]] = []

    @property
    def record(self) -> RunRecord:
        return self.recorder.record

    def run(self) -> RunRecord:
        self.env.process(self._setup())
        self._snapshot(stalled=not self._run_to_quiescence())
        self.env.process(self._teardown())
        self.env.run()
        self.recorder.snapshot_teardown(self.ctx)
        self._check_conservation()
        return self.record

    def _run_to_quiescence(self) -> bool:
        """Step until nothing is scheduled (True) or the next event is past the limit."""
        env, limit = self.env, self.limit_us
        while (next_time := env.peek()) != float("inf"):
            if next_time > limit:
                return False
            env.step()
        return True

    def _setup(self) -> SimGen[None]:
        ctx, drive = self.ctx, self.platform.drive
        yield from drive(ctx.initialize())
        for name, initial in self.scenario.semaphores.items():
            ctx.create_semaphore(name, initial)
        for name in self.scenario.queues:
            queue = ctx.create_queue(name)
            yield from drive(queue.start())
            self.platform.spawn(queue.worker())
            self.platform.spawn(queue.completion())
        for name, ops in self.scenario.actors.items():
            gen = Actor(ctx, self.recorder, name, ops).run()
            self._actor_gens.append(gen)
            self.platform.spawn(gen)

    def _snapshot(self, stalled: bool) -> None:
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
        self.record.host_function_api_calls = list(self.device.host_function_api_call_log)
        self.record.host_function_api_calls += self.device.host_function_errors
        self.record.spans = list(self.device.spans)
        self.record.sim_time_us = float(self.env.now)
        if stalled:
            self.record.conservation_problems.append(
                f"the run did not quiesce within {self.limit_us} us of simulated time"
            )
        rec.derive_flows()
        rec.frozen = True

    def _teardown(self) -> SimGen[Any]:
        for gen in self._actor_gens:
            gen.close()  # abandons a blocked host wait; its timepoints go back to the pool
        for queue in self.ctx.queues.values():
            yield from self.platform.drive(queue.shutdown())
        yield from self.platform.drive(self.ctx.close())

    def _check_conservation(self) -> None:
        self.recorder.check_conservation(self.ctx, self.device.live_events,
                                         self.device.live_streams)


def run_sim(scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
            timing: Timing | None = None,
            context_factory: ContextFactory | None = None) -> RunRecord:
    """Run `scenario` once on the SimPy backend and return what was observed.

    `context_factory` (default `CoreContext`) builds the core under test.
    """
    return SimRun(scenario, seed, defects, timing, context_factory=context_factory).run()
