"""Scenario actors: each host actor's ops as a generator of effects, for any platform.

An actor is one host thread. Its ops run in order; each is one call into the core, made
after a `HostOp` effect (so that in simulation the semaphore changes when the call
*returns*, which is the time the checker uses). The generator is the same on every
backend; only the platform that runs it differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model.core.context import CoreContext, CoreSettings
from model.core.effects import Gen, HostOp, Sleep
from model.core.semaphore import wait_semaphores
from model.core.status import HipsemError, StatusCode
from model.device import WorkItem
from model.scenario.recorder import Recorder
from model.scenario.types import Execute, Fail, Op, Query, Scenario, Signal, Wait, WaitMode
from model.scenario.types import Sleep as SleepOp


class Actor:
    """Runs one actor's ops against a core context, reporting to a recorder."""

    def __init__(self, ctx: CoreContext, recorder: Recorder, name: str, ops: list[Op]) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.name = name
        self.ops = ops
        self.current: str | None = None  # the op being run (None before and after)
        self._handlers: dict[type, Callable[[Any], Gen[None]]] = {
            Execute: self._execute, Signal: self._signal, Query: self._query,
            Wait: self._wait, SleepOp: self._sleep, Fail: self._fail,
        }

    def run(self) -> Gen[None]:
        for op in self.ops:
            self.current = op.id
            yield from self._handlers[type(op)](op)
        self.current = None

    def _execute(self, op: Execute) -> Gen[None]:
        self.recorder.execute_started(op.id)
        yield HostOp()
        sems, queue = self.ctx.semaphores, self.ctx.queues[op.queue]
        try:
            queue.execute(
                op.id,
                [(sems[s], v) for s, v in op.wait.items()],
                [(sems[s], v) for s, v in op.signal.items()],
                WorkItem(op.id, op.duration_us),
            )
        except HipsemError as error:
            self.recorder.execute_submitted(op.id, error.code, str(error))
        else:
            self.recorder.execute_submitted(op.id, None, "")

    def _host_call(self, op_id: str, call: Callable[[], int | None]) -> Gen[None]:
        self.recorder.op_started(op_id)
        yield HostOp()
        try:
            value = call()
        except HipsemError as error:
            self.recorder.op_returned(op_id, error.code, str(error))
        else:
            self.recorder.op_returned(op_id, StatusCode.OK, value=value)

    def _signal(self, op: Signal) -> Gen[None]:
        sem = self.ctx.semaphores[op.semaphore]
        yield from self._host_call(op.id, lambda: sem.signal(op.value))

    def _query(self, op: Query) -> Gen[None]:
        yield from self._host_call(op.id, self.ctx.semaphores[op.semaphore].query)

    def _fail(self, op: Fail) -> Gen[None]:
        sem, code = self.ctx.semaphores[op.semaphore], StatusCode[op.code]
        yield from self._host_call(op.id, lambda: sem.fail(code, op.message))

    def _sleep(self, op: SleepOp) -> Gen[None]:
        self.recorder.op_started(op.id)
        yield Sleep(op.us)
        self.recorder.op_returned(op.id, StatusCode.OK)

    def _wait(self, op: Wait) -> Gen[None]:
        self.recorder.op_started(op.id)
        pairs = [(self.ctx.semaphores[s], v) for s, v in op.semaphores.items()]
        wait_any = op.mode is WaitMode.ANY
        code, message = yield from wait_semaphores(self.ctx, pairs, wait_any, op.timeout_us)
        self.recorder.op_returned(op.id, code, message)


def core_settings(scenario: Scenario) -> CoreSettings:
    """The core settings a scenario asks for (the same on every backend)."""
    s = scenario.settings
    return CoreSettings(s.event_pool_capacity, s.timepoint_pool_capacity,
                        s.max_wait_events, s.completion.value)
