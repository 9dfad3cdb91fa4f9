"""Run one scenario on IREE's HIP driver (inside the worker process) and record it.

Mapping of a scenario onto IREE's Python API (`iree.runtime`, hal.cc bindings):

* semaphore S with initial value v -> `device.create_semaphore(v)`.
* execute E on queue q -> a one-command `HalCommandBuffer` filling a 4-byte pattern
  unique to E (its index + 1) over `fill_bytes(duration)` bytes, submitted with
  `device.queue_execute(cb, waits, signals)`. The CPU runtime runs the fill as a
  hipMemsetD32Async on IREE's dispatch stream, taking bytes / `BYTES_PER_US` µs (the
  runtime's bandwidth knob): that is how the work gets the scenario's duration.
* queue affinity: the Python binding submits every queue operation with
  IREE_HAL_QUEUE_AFFINITY_ANY (hal.cc), which IREE's HIP device resolves to its first
  queue, so ALL scenario queues map to IREE's one queue 0 (one HIP dispatch stream).
  Per-queue orders are still judged per scenario queue (a sub-order of that stream).
* signal -> `HalSemaphore.signal(v)`; query -> `HalSemaphore.query()`; fail ->
  `HalSemaphore.fail(message)`, which the binding always fails with UNKNOWN (so
  `expressible()` rewrites every fail's code to UNKNOWN before the run and the checker
  judges against that); sleep -> `time.sleep`.
* wait: empty -> `HalFence(1).wait(...)` with nothing inserted; one semaphore ->
  `HalSemaphore.wait(v, timeout=ns)`; ALL of several -> a `HalFence` holding them;
  ANY of several -> the binding has no wait-any, so hipsem polls `query()` on each until
  one reaches its value or fails, or the deadline passes (this tests IREE's query, not
  its wait-any; docs/iree.md). Timeouts are relative nanoseconds (IREE's
  `iree_make_timeout_ns`), None waits forever, 0 polls. `wait()` returning False is
  DEADLINE_EXCEEDED.
* status codes: an exception of the binding carries IREE's status text
  (`file:line: CODE; message`); `status_of` reads CODE from it.

Ground truth (the checker's evidence) comes from the CPU runtime's command trace
(`hipsemCpuTraceRead`), in CLOCK_MONOTONIC ns, the clock of Python's `time.monotonic_ns`
on Linux: per execute, when its fill started and ended on the stream (`start_us`,
`end_us`), the order fills were enqueued (`issue_order`, `launched_us`) and ran
(`stream_order`), the event record that followed each fill on its stream (`recorded_us`),
stream waits and host functions (spans), and the host call start/return of every op.
IREE's answers (a wait's or query's result) are what the checker judges; an execute's
status is OK iff its fill ran; else, if one of the semaphores it waits on failed and
every semaphore it signals is failed too (queries after the run), that failure; else
PENDING (IREE reports no per-submission status: a submission it drops without running,
or never fails, stays PENDING).

A run ends when every actor has returned or is blocked in a wait without a timeout,
nothing changed for `QUIET_S` (no op returned, no trace growth), and no accepted execute
whose waits IREE reports reached is still to run (`_ready_not_run`; IREE's dispatch
thread may be late on a loaded machine) or `READY_GRACE_S` passed since it went quiet
(IREE dropped them: they stay PENDING); or after `limit_s` (then `record.crash` says the
run hung). Teardown fails every semaphore of the run (so
IREE releases parked submissions and blocked waits) and checks the stream drained.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hipbackend.platform import SCHEDULING_TOLERANCE_US
from ireebackend.runtime import IreeDevice
from model.core.status import StatusCode
from model.scenario.record import Crash, RunRecord, Span
from model.scenario.recorder import Recorder
from model.scenario.trace import HOST_FUNCTION_TRACK
from model.scenario.types import (
    Completion,
    Execute,
    Fail,
    Op,
    Query,
    Scenario,
    Signal,
    Sleep,
    Wait,
    WaitMode,
)

BYTES_PER_US = 16.0  # the CPU runtime's memset/memcpy bandwidth during IREE runs
MIN_FILL_BYTES = 4
QUIET_S = 0.05  # nothing happened for this long while every actor is blocked: settled
READY_GRACE_S = 0.5  # how long a quiet run still waits for ready executes IREE owes
POLL_S = 0.002
ANY_POLL_S = 0.0002  # wait-any emulation: query period
TEARDOWN_S = 5.0
TEARDOWN_MESSAGE = "hipsem teardown: the run is over"
CLOCK_TOLERANCE_US = 2.0  # one clock (CLOCK_MONOTONIC) on both sides; read latency only
# How late a timed wait may return: SCHEDULING_TOLERANCE_US, the HIP backend's figure
# (GIL switch interval, a loaded 2-core machine); IREE's own timed waits return about
# 1 ms after a µs deadline.

# "file:line: CODE; message", or a bare "...: CODE" at the end (e.g. the binding's
# "synchronous fence failure: DEFERRED").
_STATUS_RE = re.compile(r"\b(" + "|".join(c.name for c in StatusCode) + r")(;|$)")
_KIND = {0: "copy", 1: "fill", 2: "record", 3: "stream wait", 4: "host function"}


class TraceEntry(ctypes.Structure):
    """`hipsemCpuTraceEntry` (hip_cpu_runtime_iree.h)."""

    _fields_ = [("kind", ctypes.c_int), ("elem", ctypes.c_int),
                ("stream", ctypes.c_ulonglong), ("marker", ctypes.c_ulonglong),
                ("dst", ctypes.c_ulonglong), ("size", ctypes.c_ulonglong),
                ("value", ctypes.c_longlong), ("t_enqueue_ns", ctypes.c_longlong),
                ("t_start_ns", ctypes.c_longlong), ("t_end_ns", ctypes.c_longlong)]


def fill_bytes(duration_us: float) -> int:
    """Bytes of a fill that lasts `duration_us` at `BYTES_PER_US` (a multiple of 4)."""
    return max(MIN_FILL_BYTES, round(duration_us * BYTES_PER_US / 4.0) * 4)


def status_of(error: BaseException) -> tuple[StatusCode, str]:
    """IREE's status code in a binding exception's text (UNKNOWN if none is named)."""
    text = str(error)
    found = _STATUS_RE.search(text)
    return (StatusCode[found.group(1)] if found else StatusCode.UNKNOWN), text


def expressible(scenario: Scenario) -> Scenario:
    """`scenario` as IREE's driver and Python binding can run it: every fail's code is
    UNKNOWN (the only code `HalSemaphore.fail` sets), and the completion mode is THREAD
    (IREE's HIP driver learns of completions on its cleanup thread, which synchronizes
    events, cleanup_thread.c; it launches no host function per submission). The pool
    settings stay (IREE's own pools ignore them); other ops are unchanged."""
    actors = {a: [replace(op, code="UNKNOWN") if isinstance(op, Fail) else op for op in ops]
              for a, ops in scenario.actors.items()}
    settings = replace(scenario.settings, completion=Completion.THREAD)
    return replace(scenario, actors=actors, settings=settings)


@dataclass(slots=True)
class _ActorState:
    name: str
    current: str | None = None
    blocked_forever: bool = False  # inside a wait without a timeout
    done: bool = False


@dataclass(slots=True)
class _Run:
    scenario: Scenario
    recorder: Recorder
    t0_ns: int
    sems: dict[str, Any]
    buffer: Any
    pattern: dict[str, int]  # execute id -> fill pattern
    lock: threading.Lock = field(default_factory=threading.Lock)
    actors: dict[str, _ActorState] = field(default_factory=dict)
    last_progress: float = field(default_factory=time.monotonic)


class IreeSession:
    """One IREE HIP device over the CPU runtime; runs scenarios one after another."""

    def __init__(self, dev: IreeDevice) -> None:
        self.dev = dev
        cpu = dev.cpu
        cpu.hipsemCpuSetBandwidth.argtypes = [ctypes.c_double]
        cpu.hipsemCpuSetBandwidth.restype = None
        cpu.hipsemCpuTraceEnable.argtypes = [ctypes.c_int]
        cpu.hipsemCpuTraceEnable.restype = None
        cpu.hipsemCpuTraceCount.restype = ctypes.c_size_t
        cpu.hipsemCpuTraceRead.argtypes = [ctypes.POINTER(TraceEntry), ctypes.c_size_t,
                                           ctypes.c_size_t]
        cpu.hipsemCpuTraceRead.restype = ctypes.c_size_t
        cpu.hipsemCpuLiveCount.argtypes = [ctypes.c_int]
        cpu.hipsemCpuLiveCount.restype = ctypes.c_longlong
        cpu.hipsemCpuSetBandwidth(BYTES_PER_US)
        self.clean = True  # False: a run left work behind; the worker must restart

    # -- one run --------------------------------------------------------------------
    def run(self, scenario: Scenario, seed: int = 0, limit_s: float = 30.0) -> RunRecord:
        rt, device = self.dev.rt, self.dev.device
        t0 = time.monotonic_ns()
        recorder = Recorder(scenario, "iree", seed, lambda: (time.monotonic_ns() - t0) / 1e3)
        recorder.device_times = True
        recorder.record.core_claims = False
        executes = [op for _, _, op in scenario.ops() if isinstance(op, Execute)]
        size = max([MIN_FILL_BYTES, *(fill_bytes(e.duration_us) for e in executes)])
        sems = {n: device.create_semaphore(v) for n, v in scenario.semaphores.items()}
        buffer = device.allocator.allocate_buffer(
            rt.MemoryType.DEVICE_LOCAL, rt.BufferUsage.DEFAULT, size)
        run = _Run(scenario, recorder, t0, sems, buffer,
                   {e.id: i + 1 for i, e in enumerate(executes)})
        self.dev.cpu.hipsemCpuTraceEnable(1)
        threads = []
        for name, ops in scenario.actors.items():
            state = _ActorState(name)
            run.actors[name] = state
            t = threading.Thread(target=self._actor, args=(run, state, ops),
                                 name=f"actor {name}", daemon=True)
            threads.append(t)
            t.start()
        hung = not self._settle(run, limit_s)
        record = recorder.record
        with run.lock:
            recorder.frozen = True
            record.sim_time_us = recorder.now()
        record.semaphores = {n: self._state(s) for n, s in sems.items()}
        self._ground_truth(run, executes)
        if hung:
            blocked = [f"{a.name} in {a.current}" for a in run.actors.values() if not a.done]
            record.crash = Crash("Hang", f"IREE's run did not settle within {limit_s} s "
                                 f"(actors still running: {', '.join(blocked)})",
                                 None, "iree worker")
        self._teardown(run, threads)
        return record

    def _settle(self, run: _Run, limit_s: float) -> bool:
        deadline = time.monotonic() + limit_s
        seen = -1
        owed_since: float | None = None  # quiet, but a ready execute had not run yet
        while time.monotonic() < deadline:
            count = int(self.dev.cpu.hipsemCpuTraceCount())
            with run.lock:
                if count != seen:
                    seen, run.last_progress = count, time.monotonic()
                states = list(run.actors.values())
                quiet = time.monotonic() - run.last_progress >= QUIET_S
            idle = all(a.done for a in states) and self._stream_idle()
            blocked = all(a.done or a.blocked_forever for a in states)
            if quiet and (idle or blocked):
                owed_since = owed_since or time.monotonic()
                late = time.monotonic() - owed_since >= READY_GRACE_S
                if late or not self._ready_not_run(run):
                    return True
            else:
                owed_since = None
            time.sleep(POLL_S)
        return False

    def _ready_not_run(self, run: _Run) -> list[str]:
        """Accepted executes whose waits IREE reports reached (queries now) but whose
        fill has not run yet: IREE still owes them work (its dispatch thread may be
        late on a loaded machine), so the run has not settled."""
        with run.lock:
            accepted = [op for _, _, op in run.scenario.ops() if isinstance(op, Execute)
                        and run.recorder.record.ops[op.id].submit_us is not None
                        and run.recorder.record.ops[op.id].submit_status is None]
        if not accepted:
            return []
        ran = {e.value for e in self._read_trace() if e.kind == 1 and e.elem == 4}

        def reached(semaphore: str, value: int) -> bool:
            current, status = self._state(run.sems[semaphore])
            return status == "OK" and current >= value

        return [op.id for op in accepted if run.pattern[op.id] not in ran
                and all(reached(s, v) for s, v in op.wait.items())]

    def _stream_idle(self) -> bool:
        return int(self.dev.cpu.hipsemCpuLiveCount(4)) == 0  # HIPSEM_LIVE_COMMANDS

    def _state(self, sem: Any) -> tuple[int, str]:
        try:
            return int(sem.query()), "OK"
        except Exception as error:  # a failed semaphore: IREE answers with its status
            return 0, status_of(error)[0].name

    # -- actors ---------------------------------------------------------------------
    def _actor(self, run: _Run, state: _ActorState, ops: list[Op]) -> None:
        handlers: dict[type, Callable[[_Run, _ActorState, Any], None]] = {
            Execute: self._execute, Signal: self._signal, Query: self._query,
            Wait: self._wait, Sleep: self._sleep, Fail: self._fail}
        try:
            for op in ops:
                if run.recorder.frozen:
                    break  # the run settled while this actor was blocked
                state.current = op.id
                handlers[type(op)](run, state, op)
                with run.lock:
                    run.last_progress = time.monotonic()
        except Exception as error:  # hipsem's own harness code raised: a crash record
            _note(run, run.recorder.crashed, error, f"actor {state.name}", state.current)
        finally:
            state.done = True
            with run.lock:
                run.last_progress = time.monotonic()

    def _execute(self, run: _Run, state: _ActorState, op: Execute) -> None:
        rt, sems = self.dev.rt, run.sems
        pattern = run.pattern[op.id].to_bytes(4, "little")
        cb = rt.HalCommandBuffer(self.dev.device, 0, True)
        cb.fill(run.buffer, pattern, 0, fill_bytes(op.duration_us), end=True)
        waits = [(sems[s], v) for s, v in op.wait.items()]
        signals = [(sems[s], v) for s, v in op.signal.items()]
        _note(run, run.recorder.execute_started, op.id)
        try:
            self.dev.device.queue_execute(cb, waits, signals)
        except Exception as error:
            code, message = status_of(error)
            _note(run, run.recorder.execute_submitted, op.id, code, message)
        else:
            _note(run, run.recorder.execute_submitted, op.id, None, "")

    def _host_call(self, run: _Run, op_id: str, call: Callable[[], int | None]) -> None:
        _note(run, run.recorder.op_started, op_id)
        try:
            value = call()
        except Exception as error:
            code, message = status_of(error)
            _note(run, run.recorder.op_returned, op_id, code, message)
        else:
            _note(run, run.recorder.op_returned, op_id, StatusCode.OK, value=value)

    def _signal(self, run: _Run, state: _ActorState, op: Signal) -> None:
        self._host_call(run, op.id, lambda: run.sems[op.semaphore].signal(op.value))

    def _query(self, run: _Run, state: _ActorState, op: Query) -> None:
        self._host_call(run, op.id, lambda: int(run.sems[op.semaphore].query()))

    def _fail(self, run: _Run, state: _ActorState, op: Fail) -> None:
        message = op.message or f"hipsem fail {op.id}"
        self._host_call(run, op.id, lambda: run.sems[op.semaphore].fail(message))

    def _sleep(self, run: _Run, state: _ActorState, op: Sleep) -> None:
        _note(run, run.recorder.op_started, op.id)
        time.sleep(op.us / 1e6)
        _note(run, run.recorder.op_returned, op.id, StatusCode.OK)

    def _wait(self, run: _Run, state: _ActorState, op: Wait) -> None:
        timeout_ns = None if op.timeout_us is None else int(op.timeout_us * 1000)
        pairs = [(run.sems[s], v) for s, v in op.semaphores.items()]
        state.blocked_forever = timeout_ns is None
        _note(run, run.recorder.op_started, op.id)
        try:
            code, message = self._wait_call(pairs, op.mode, timeout_ns)
        except Exception as error:
            code, message = status_of(error)
        finally:
            state.blocked_forever = False
        _note(run, run.recorder.op_returned, op.id, code, message)

    def _wait_call(self, pairs: list[tuple[Any, int]], mode: WaitMode,
                   timeout_ns: int | None) -> tuple[StatusCode, str]:
        rt = self.dev.rt
        if len(pairs) == 1:
            ok = pairs[0][0].wait(pairs[0][1], timeout=timeout_ns)
        elif mode is WaitMode.ANY and pairs:
            return _poll_any(pairs, timeout_ns)
        else:
            fence = rt.HalFence(max(1, len(pairs)))
            for sem, value in pairs:
                fence.insert(sem, value)
            ok = fence.wait(timeout=timeout_ns)
        if ok is False:
            return StatusCode.DEADLINE_EXCEEDED, "IREE: the wait timed out"
        return StatusCode.OK, ""

    # -- ground truth ---------------------------------------------------------------
    def _read_trace(self) -> list[TraceEntry]:
        cpu = self.dev.cpu
        n = int(cpu.hipsemCpuTraceCount())
        entries = (TraceEntry * max(1, n))()
        got = int(cpu.hipsemCpuTraceRead(entries, 0, n))
        return list(entries[:got])

    def _ground_truth(self, run: _Run, executes: list[Execute]) -> None:
        record, t0 = run.recorder.record, run.t0_ns
        entries = self._read_trace()

        def us(ns: int) -> float:
            return (ns - t0) / 1e3

        by_pattern = {p: e for e, p in run.pattern.items()}
        queue_of = {e.id: e.queue for e in executes}
        fills: dict[str, TraceEntry] = {}
        spans: list[Span] = []
        for i, entry in enumerate(entries):
            track = f"iree stream {entry.stream & 0xffff:04x}"
            if entry.kind == 1 and entry.elem == 4 and entry.value in by_pattern:
                tag = by_pattern[entry.value]
                if tag not in fills:
                    fills[tag] = entry
                    record.launched_us[tag] = us(entry.t_enqueue_ns)
                    follow = next((f for f in entries[i + 1:] if f.kind == 2
                                   and f.stream == entry.stream), None)
                    if follow is not None:
                        record.recorded_us[tag] = us(follow.t_enqueue_ns)
                    spans.append(Span(queue_of[tag], tag, us(entry.t_start_ns),
                                      us(entry.t_end_ns), {"stream": track}))
            elif entry.kind == 4:
                spans.append(Span(HOST_FUNCTION_TRACK, "host function", us(entry.t_start_ns),
                                  us(entry.t_end_ns), {"stream": track}))
            elif entry.kind == 3 and entry.t_end_ns - entry.t_start_ns > 1000:
                spans.append(Span(track, f"{_KIND[3]} (marker {entry.marker})",
                                  us(entry.t_start_ns), us(entry.t_end_ns)))
        run.recorder.set_work_times({t: (us(e.t_start_ns), us(e.t_end_ns))
                                     for t, e in fills.items()})
        for q in run.scenario.queues:
            mine = [(e, t) for t, e in fills.items() if queue_of[t] == q]
            record.issue_order[q] = [t for e, t in sorted(mine, key=lambda x: x[0].t_enqueue_ns)]
            record.stream_order[q] = [t for e, t in sorted(mine, key=lambda x: x[0].t_start_ns)]
            record.completion_order[q] = [t for e, t in sorted(mine, key=lambda x: x[0].t_end_ns)]
            record.ready_order[q] = list(record.issue_order[q])
        record.spans = sorted(spans, key=lambda s: (s.start_us, s.track, s.name))
        record.clock_tolerance_us = CLOCK_TOLERANCE_US
        record.scheduling_tolerance_us = SCHEDULING_TOLERANCE_US
        self._execute_statuses(run, executes, fills)
        run.recorder.derive_flows()

    def _execute_statuses(self, run: _Run, executes: list[Execute],
                          fills: dict[str, TraceEntry]) -> None:
        record = run.recorder.record
        for e in executes:
            result = record.ops[e.id]
            if result.submit_status is not None:
                continue
            if e.id in fills:
                result.status = StatusCode.OK.name
                continue
            # Failed: one of its waits failed AND IREE failed every semaphore it signals
            # (the only evidence IREE gives of a failed submission; a signal semaphore
            # may also have been failed by someone else while it stayed parked).
            states = record.semaphores
            failed = [states[s][1] for s in e.wait if states[s][1] != "OK"]
            if failed and all(states[s][1] != "OK" for s in e.signal):
                result.status = failed[0]
                result.message = "IREE: a semaphore it waits on failed (query after run)"

    # -- teardown -------------------------------------------------------------------
    def _teardown_record(self, run: _Run) -> None:
        """What teardown did: each semaphore's state afterwards, and every accepted
        execute still parked ends with the failure teardown gave its semaphores (IREE
        has no queue shutdown in the Python binding; failing the semaphores is how its
        parked submissions end)."""
        record = run.recorder.record
        after = {n: self._state(sem) for n, sem in run.sems.items()}
        record.teardown.semaphores = after
        for _, _, op in run.scenario.ops():
            r = record.ops[op.id]
            if (isinstance(op, Execute) and r.status == "PENDING" and r.submit_us is not None
                    and r.submit_status is None):
                failed = [after[s][1] for s in op.wait if after[s][1] != "OK"]
                if failed and all(after[s][1] != "OK" for s in op.signal):
                    record.teardown.statuses[op.id] = failed[0]

    def _teardown(self, run: _Run, threads: list[threading.Thread]) -> None:
        record = run.recorder.record
        # IREE's HIP device keeps the first failure that reaches its dispatch thread and
        # fails every later submission with it (dispatch_thread.c, docs/iree.md finding
        # F1): after a run in which a semaphore failed, or in which submissions were
        # still parked (teardown fails their semaphores), the next run gets a new device.
        parked = any(o.op == "execute" and o.status == "PENDING" for o in record.ops.values())
        failed = any(st != "OK" for _, st in record.semaphores.values())
        for sem in run.sems.values():
            with contextlib.suppress(Exception):  # already failed: nothing to release
                sem.fail(TEARDOWN_MESSAGE)
        deadline = time.monotonic() + TEARDOWN_S
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        while not self._stream_idle() and time.monotonic() < deadline:
            time.sleep(POLL_S)
        self.dev.cpu.hipsemCpuTraceEnable(0)
        stuck = [t.name for t in threads if t.is_alive()]
        self._teardown_record(run)
        if stuck:
            record.conservation_problems.append(
                f"threads still blocked in IREE after teardown: {stuck}")
        if not self._stream_idle():
            record.conservation_problems.append(
                "the HIP stream still had queued work after teardown")
        self.clean = not stuck and self._stream_idle()
        if self.clean and (parked or failed):
            self._renew_device()

    def _renew_device(self) -> None:
        """A fresh IREE device from the same driver (the old one may hold a sticky
        failure, finding F1); cheaper than restarting the worker."""
        self.dev.device = None
        self.dev.device = self.dev.driver.create_default_device()


def _note(run: _Run, method: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Record an observation, unless the run's record has frozen (teardown releases
    blocked waits by failing semaphores: what happens then is not part of the run)."""
    with run.lock:
        if not run.recorder.frozen:
            method(*args, **kwargs)


def _poll_any(pairs: list[tuple[Any, int]], timeout_ns: int | None) -> tuple[StatusCode, str]:
    """Wait-any emulated on IREE's query (the binding has no wait-any)."""
    deadline = None if timeout_ns is None else time.monotonic_ns() + timeout_ns
    while True:
        for sem, value in pairs:
            try:
                if int(sem.query()) >= value:
                    return StatusCode.OK, ""
            except Exception as error:
                return status_of(error)
        if deadline is not None and time.monotonic_ns() >= deadline:
            return StatusCode.DEADLINE_EXCEEDED, "wait-any (polled query) timed out"
        time.sleep(ANY_POLL_S)
