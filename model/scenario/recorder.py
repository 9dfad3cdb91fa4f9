"""Turns core observations into a `RunRecord` (shared by every backend's runner).

The recorder is the core's `Observer`; it stamps each observation with the backend's
clock (`now()`) and a sequence number. It also holds the bookkeeping every runner needs:
op results, the action id -> op mapping, and the post-run derivation of flows and pool
reports.

Internal errors. The recorder is hipsem's own code, but the core calls it (as its
`Observer`) and the actors call it from inside the run under test, so an exception it
raises would look like a crash of the run. Every method called while a run is under way
(`op_*`, `execute_*` and the Observer hooks) therefore re-raises its own failures as
`RecorderError`, which the runners never treat as a crash of the run: it propagates (exit
3). `crashed()` records a crash of the run under test (the first one wins).
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from model.core.context import CoreContext, Observer
from model.core.effects import Gen
from model.core.pools import InvariantError, PooledEvent, PoolStatistics, Timepoint
from model.core.queue import Action, DeferredQueue
from model.core.semaphore import Semaphore
from model.core.status import StatusCode
from model.scenario.record import Crash, Flow, OpResult, PoolReport, RunRecord, ValueChange
from model.scenario.types import Execute, Scenario, Signal, Wait

Sources = dict[str, list[tuple[int, float, str]]]
_Index = tuple[list[int], list[tuple[float, str]]]
F = TypeVar("F", bound=Callable[..., Any])


class RecorderError(Exception):
    """hipsem's own recorder failed while a run was under way: an internal error (a bug
    of hipsem, exit 3), never a finding about the run under test."""


def _internal(method: F) -> F:
    """Re-raise any exception of a recorder method as `RecorderError` (module docstring)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except RecorderError:
            raise
        except Exception as error:
            raise RecorderError(
                f"recorder {method.__name__}: {type(error).__name__}: {error}") from error

    return wrapper  # type: ignore[return-value]


class Recorder(Observer):
    """Observer that fills a `RunRecord`; `frozen` stops recording (teardown)."""

    def __init__(self, scenario: Scenario, backend: str, seed: int,
                 now: Callable[[], float]) -> None:
        self.scenario = scenario
        self.now = now
        self.record = RunRecord(scenario.name, backend, seed)
        self._seq = itertools.count()
        self.frozen = False
        # True: execute start/end come from the device (set_work_times). False (hardware):
        # they are the host times at which the core issued and retired the action.
        self.device_times = True
        for actor, _, op in scenario.ops():
            self.record.ops[op.id] = OpResult(op.id, actor, op.op)
        for queue in scenario.queues:
            self.record.ready_order[queue] = []
            self.record.completion_order[queue] = []
        self._core_issue_order: dict[str, list[str]] = {q: [] for q in scenario.queues}

    def seq(self) -> int:
        return next(self._seq)

    # -- host op bookkeeping ----------------------------------------------------------
    @_internal
    def op_started(self, op_id: str) -> None:
        result = self.record.ops[op_id]
        result.start_us, result.start_seq = self.now(), self.seq()

    @_internal
    def op_returned(self, op_id: str, status: StatusCode, message: str = "",
                    value: int | None = None) -> None:
        result = self.record.ops[op_id]
        result.end_us, result.end_seq = self.now(), self.seq()
        result.status, result.message, result.value = status.name, message, value

    @_internal
    def execute_started(self, op_id: str) -> None:
        """An actor is about to make the execute call."""
        result = self.record.ops[op_id]
        result.submit_start_us, result.submit_start_seq = self.now(), self.seq()

    @_internal
    def execute_submitted(self, op_id: str, status: StatusCode | None, message: str) -> None:
        """An execute call returned; a status means the submission itself was rejected."""
        result = self.record.ops[op_id]
        result.submit_us, result.submit_seq = self.now(), self.seq()
        if status is not None:
            result.status, result.message = status.name, message
            result.submit_status = status.name

    # -- Observer ---------------------------------------------------------------------
    @_internal
    def value_changed(self, sem: Semaphore, value: int, code: StatusCode) -> None:
        change = ValueChange(sem.name, value, code.name, self.now(), self.seq())
        if self.frozen:
            self.record.teardown.value_log.append(change)
        else:
            self.record.value_log.append(change)

    @_internal
    def action_ready(self, queue: DeferredQueue, action: Action) -> None:
        if not self.frozen:
            self.record.ready_order[queue.name].append(action.id)

    @_internal
    def action_issued(self, queue: DeferredQueue, action: Action) -> None:
        if self.frozen:
            return
        self._core_issue_order[queue.name].append(action.id)
        result = self.record.ops[action.id]
        result.issue_us = self.now()
        if not self.device_times:
            result.start_us = result.issue_us

    @_internal
    def action_finished(self, queue: DeferredQueue, action: Action) -> None:
        code, message = action.status
        if self.frozen:
            self.record.teardown.statuses[action.id] = code.name
            if code is StatusCode.CANCELLED:
                self.record.cancelled_at_teardown.append(action.id)
            return
        result = self.record.ops[action.id]
        result.status, result.message = code.name, message
        result.finish_us = self.now()
        if code is StatusCode.OK:
            result.retire_us = self.now()
            self.record.completion_order[queue.name].append(action.id)
            if not self.device_times:
                result.end_us = result.retire_us

    # -- pools ------------------------------------------------------------------------
    def watch_pools(self, ctx: CoreContext) -> None:
        """Log the pools' occupancy into `record.pool_log` as the core uses them.

        Wraps the acquire/release methods of this context's two pool instances (their
        behaviour is unchanged): each acquire, and each release that returns an object to
        the pool (an event's last reference), appends (now, objects in use). Call it once,
        right after the context is built and before the run starts."""
        log = self.record.pool_log
        event_log, tp_log = log.setdefault("event", []), log.setdefault("timepoint", [])
        now = self.now
        events, timepoints = ctx.event_pool, ctx.timepoint_pool
        ev_acquire, ev_release = events.acquire, events.release
        tp_acquire, tp_release = timepoints.acquire, timepoints.release
        in_use = {"event": events.statistics().in_use,
                  "timepoint": timepoints.statistics().in_use}

        def event_acquire() -> Gen[PooledEvent]:
            event = yield from ev_acquire()
            in_use["event"] += 1
            event_log.append((now(), in_use["event"]))
            return event

        def event_release(event: PooledEvent) -> None:
            ev_release(event)
            if event.refs == 0:
                in_use["event"] -= 1
                event_log.append((now(), in_use["event"]))

        def timepoint_acquire() -> Timepoint:
            tp = tp_acquire()
            in_use["timepoint"] += 1
            tp_log.append((now(), in_use["timepoint"]))
            return tp

        def timepoint_release(tp: Timepoint) -> None:
            tp_release(tp)
            in_use["timepoint"] -= 1
            tp_log.append((now(), in_use["timepoint"]))

        events.acquire = event_acquire  # type: ignore[method-assign]
        events.release = event_release  # type: ignore[method-assign]
        timepoints.acquire = timepoint_acquire  # type: ignore[method-assign]
        timepoints.release = timepoint_release  # type: ignore[method-assign]

    # -- crashes ----------------------------------------------------------------------
    def crashed(self, error: BaseException, where: str, op: str | None = None) -> bool:
        """Record that the run under test raised `error` in `where` (while running op
        `op`); only the first crash is kept. Returns True if this one was recorded."""
        if self.record.crash is not None:
            return False
        self.record.crash = Crash(type(error).__name__, str(error), op, where)
        return True

    def attempt(self, where: str, fn: Callable[..., object], *args: object,
                lock: AbstractContextManager[object] | None = None) -> None:
        """Run one step of the run under test (`fn(*args)`); a raise is its crash in
        `where` (recorded under `lock`), except the recorder's own `RecorderError`."""
        try:
            fn(*args)
        except RecorderError:
            raise
        except Exception as error:
            with lock if lock is not None else nullcontext():
                self.crashed(error, where)

    def build_core(self, make: Callable[[], CoreContext]) -> CoreContext | None:
        """Construct the core under test (`make()`): building it is part of the run, so a
        raise is the run's crash in `setup` (None), except the recorder's own
        `RecorderError`; a built core's pools are watched (`watch_pools`)."""
        try:
            ctx = make()
        except RecorderError:
            raise
        except Exception as error:
            self.crashed(error, "setup")
            return None
        self.watch_pools(ctx)  # occupancy for the trace (record.pool_log)
        return ctx

    # -- after the run ----------------------------------------------------------------
    def snapshot_semaphores(self, ctx: CoreContext) -> None:
        self.record.semaphores = semaphore_states(ctx)

    def snapshot_teardown(self, ctx: CoreContext) -> None:
        """After teardown: each semaphore's final state."""
        self.record.teardown.semaphores = semaphore_states(ctx)

    def core_issue_order(self) -> dict[str, list[str]]:
        """Per queue, the order the core says it issued actions (a claim; the record's
        `issue_order` comes from the device)."""
        return {q: list(ids) for q, ids in self._core_issue_order.items()}

    def set_work_times(self, times: dict[str, tuple[float, float]]) -> None:
        for tag, (start, end) in times.items():
            if tag in self.record.ops:
                self.record.ops[tag].start_us, self.record.ops[tag].end_us = start, end

    def set_pools(self, ctx: CoreContext) -> None:
        for name, stats in (("event", ctx.event_pool.statistics()),
                            ("timepoint", ctx.timepoint_pool.statistics())):
            self.record.pools[name] = pool_report(stats)

    def check_conservation(self, ctx: CoreContext, live_events: int, live_streams: int) -> None:
        """After teardown: invariants, pools back to zero use, device objects destroyed."""
        problems = self.record.conservation_problems
        try:
            ctx.check_invariants()
        except InvariantError as error:
            problems.extend(str(error).split("; "))
        self.set_pools(ctx)
        for name, pool in self.record.pools.items():
            if pool.in_use_at_end:
                problems.append(f"{name} pool: {pool.in_use_at_end} objects still in use "
                                "after teardown (a reference was leaked)")
        if live_events:
            problems.append(f"device: {live_events} events never destroyed")
        if live_streams:
            problems.append(f"device: {live_streams} streams never destroyed")

    def derive_flows(self) -> None:
        self.record.flows = derive_flows(self.scenario, self.record)


def semaphore_states(ctx: CoreContext) -> dict[str, tuple[int, str]]:
    """Each semaphore's (value, status name) now."""
    return {name: (sem.value, sem.failure[0].name if sem.failure else "OK")
            for name, sem in ctx.semaphores.items()}


def pool_report(s: PoolStatistics) -> PoolReport:
    return PoolReport(s.capacity, s.created, s.destroyed, s.peak_in_use, s.misses,
                      s.in_use, s.acquires, s.prefilled, s.closed)


def _reach_sources(scenario: Scenario, record: RunRecord) -> Sources:
    """Per semaphore: (value, time reached on the ground-truth timeline, op id)."""
    sources: Sources = {s: [] for s in scenario.semaphores}
    for _, _, op in scenario.ops():
        result = record.ops[op.id]
        if isinstance(op, Signal) and result.status == "OK" and result.end_us is not None:
            sources[op.semaphore].append((op.value, result.end_us, op.id))
        elif isinstance(op, Execute) and result.end_us is not None:
            for sem, value in op.signal.items():
                sources[sem].append((value, result.end_us, op.id))
    return sources


def _earliest_at_or_above(entries: list[tuple[int, float, str]]) -> _Index:
    """Values ascending and, per index, the earliest (time, op) among values >= it."""
    entries = sorted(entries)
    values = [v for v, _, _ in entries]
    best: list[tuple[float, str]] = [(0.0, "")] * len(entries)
    running = (float("inf"), "")
    for i in range(len(entries) - 1, -1, -1):
        running = min(running, (entries[i][1], entries[i][2]))
        best[i] = running
    return values, best


def derive_flows(scenario: Scenario, record: RunRecord) -> list[Flow]:
    """For each wait of an execute or host wait: the signal that first reached it."""
    index = {s: _earliest_at_or_above(e) for s, e in _reach_sources(scenario, record).items()}
    flows = []
    for _, _, op in scenario.ops():
        waits = op.wait if isinstance(op, Execute) else {}
        waits = op.semaphores if isinstance(op, Wait) else waits
        for sem, value in waits.items():
            values, best = index[sem]
            i = bisect.bisect_left(values, value)
            if i < len(values) and value > scenario.semaphores[sem]:
                flows.append(Flow(best[i][1], op.id, sem, value))
    return flows
