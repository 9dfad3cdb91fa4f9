"""Fault injection on the HIP backend: the same `FaultPlan` as the SimPy device's.

`HipFaults` is owned by a `HipDevice` once a plan is armed. It counts the protocol calls
with the same `model.faults.FaultInjector` as the SimPy device (so the n-th call, and a
probabilistic draw keyed by (seed, call, occurrence), is the same on both backends) and
injects through the CPU runtime's knobs (`hipbackend/cpu_runtime`, docs/faults.md):

  * a call fault: `fail_next_call`, the next HIP call of the thread returns the error, so
    the error really comes back through hip-python and `hip_check`;
  * a lost device: `set_device_lost`;
  * a work fault: `fail_next_command` on the work's stream, armed for a last, empty
    command of the faulted launch. The runtime's stream thread puts the stream into its
    sticky error state when it runs that command (when the work has executed, not when
    it was launched); from then on the runtime skips the stream's work, completes its
    records with the error (hipEventQuery/hipEventSynchronize answer it, and a stream
    that waits on such a record is poisoned once, its next record carrying the error),
    and refuses every later enqueueing call naming the stream with the error.

Ground truth: every fault is logged as a `FaultHit`. Call faults and the loss are logged
here; a call that the runtime refused because of a stream's error state (the stream's
`stream_error` answers the call's error) as kind "sticky", with the work the device can
tie it to; the stream errors and the skipped work come from the runtime's own fault log
(`fault_log`): each launch's first command carries a cookie naming the launch, so an
entry names the execute, and its CLOCK_MONOTONIC time is put on the run's clock. They are
read when the plan is disarmed (after the device has drained), merged in time order.

Only the CPU runtime has the knobs: arming a plan with faults on ROCm raises
`RuntimeUnavailable` (exit 2). Thread-safety: under the device's lock.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any

from hipbackend.errors import HipError, RuntimeUnavailable
from model.core.hip_errors import HIP_ERROR_NUMBERS
from model.faults import FaultInjector, FaultPlan
from model.scenario.record import FaultHit

_FAULT_STREAM_ERROR, _FAULT_SKIPPED = 1, 2  # hipsemCpuFaultKind (hip_cpu_runtime.h)
_ERROR_NAMES = {number: name for name, number in HIP_ERROR_NUMBERS.items()}


class HipFaults:
    """Per-run fault bookkeeping of a `HipDevice` (module docstring)."""

    def __init__(self, cpu: Any, plan: FaultPlan, seed: int, now: Callable[[], float]) -> None:
        if cpu is None:
            raise RuntimeUnavailable(
                "fault injection needs the CPU HIP runtime (--hip-runtime cpu); the ROCm "
                "runtime has no fault knob")
        self.cpu = cpu
        self.plan = plan
        self.now = now
        self.injector = FaultInjector(plan, seed)
        self.injector.arm()
        self.hits: list[FaultHit] = []
        self.lost_us: float | None = None
        self.lost_answered_us: float | None = None  # a call first answered a fatal error
        self._lock = threading.Lock()
        # Victim bookkeeping (what a failing call can be tied to), per stream label: the
        # last work launched, that work until a record follows, the work the last waited
        # event's record follows; per event name: the work its current record follows.
        self.last_work: dict[str, str] = {}
        self.unrecorded: dict[str, str] = {}
        self.last_waited: dict[str, str] = {}
        self.after: dict[str, str] = {}
        self._launches: dict[int, tuple[str, str]] = {}  # cookie -> (stream label, tag)
        cpu.clear_fault_log()
        lost = plan.device_lost
        if lost is not None:
            self._lost_at = now() + lost.at_us
            cpu.set_device_lost(lost.at_us, HIP_ERROR_NUMBERS[lost.error])

    def before(self, call: str, stream: str | None, victims: tuple[str, ...]) -> bool:
        """Count one protocol call; if it must fail, arm the runtime (True)."""
        with self._lock:
            hit = self.injector.call_error(call)
            if hit is None:
                return False
            n, error = hit
            self.hits.append(FaultHit("call", call, n, error, self.now(), stream, victims))
        self.cpu.fail_next_call(HIP_ERROR_NUMBERS[error])
        return True

    def refused(self, call: str, stream: str, handle: int, victims: tuple[str, ...],
                error: HipError) -> None:
        """A HIP call naming `stream` failed without an injected call fault: if the
        runtime answered the stream's error state, log it ("sticky")."""
        if self.cpu.device_lost or self.cpu.stream_error(handle) != error.hip_value:
            return
        with self._lock:
            self.hits.append(FaultHit("sticky", call, 0, error.hip_name, self.now(), stream,
                                      victims))

    def victims_of_create(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self.unrecorded.values())

    def launching(self, stream: str, tag: str) -> tuple[int, int]:
        """A launch of `tag` on `stream` begins: its cookie for the runtime's fault log,
        and the hipError_t its work fails with (0: it does not fail)."""
        error = self.plan.work_error(tag)
        with self._lock:
            cookie = len(self._launches) + 1
            self._launches[cookie] = (stream, tag)
        return cookie, HIP_ERROR_NUMBERS[error] if error is not None else 0

    def launched(self, stream: str, tag: str) -> None:
        with self._lock:
            self.last_work[stream] = self.unrecorded[stream] = tag

    def recorded(self, event: str, stream: str) -> None:
        with self._lock:
            self.unrecorded.pop(stream, None)
            self.after[event] = self.last_work.get(stream, "")

    def waited(self, stream: str, event: str) -> None:
        with self._lock:
            if event in self.after:
                self.last_waited[stream] = self.after[event]

    def event_victims(self, event: str) -> tuple[str, ...]:
        with self._lock:
            tag = self.after.get(event)
            return (tag,) if tag else ()

    def stream_victims(self, stream: str) -> tuple[str, ...]:
        with self._lock:
            tag = self.last_waited.get(stream)
            return (tag,) if tag else ()

    def answered_lost(self) -> None:
        """A HIP call has just answered a fatal error (the device is gone): the first
        time is logged (`RunRecord.lost_answered_us`)."""
        with self._lock:
            if self.lost_answered_us is None:
                self.lost_answered_us = self.now()

    def disarm(self, drain: Callable[[], None]) -> None:
        """Stop injecting; note whether the device was lost (before the runtime forgets),
        let the device drain (`drain`), then take the runtime's fault log."""
        lost = self.plan.device_lost is not None and self.cpu.device_lost
        self.cpu.clear_faults()
        drain()
        now_us, mono_ns = self.now(), time.monotonic_ns()
        logged, skipped = [], set()
        for kind, err, cookie, t_ns in self.cpu.fault_log():
            if cookie not in self._launches or (kind == _FAULT_SKIPPED and cookie in skipped):
                continue
            stream, tag = self._launches[cookie]
            at = now_us - (mono_ns - t_ns) / 1e3
            name = _ERROR_NAMES.get(err, f"hipError{err}")
            if kind == _FAULT_STREAM_ERROR:
                logged.append(FaultHit("work", "", 0, name, at, stream, (tag,)))
            elif kind == _FAULT_SKIPPED:
                skipped.add(cookie)
                logged.append(FaultHit("skipped", "launch_work", 0, name, at, stream, (tag,)))
        self.cpu.clear_fault_log()
        with self._lock:
            self.hits = list(heapq.merge(self.hits, sorted(logged, key=_time),
                                         key=_time))
            if lost:
                assert self.plan.device_lost is not None
                self.lost_us = self._lost_at
                self.hits.append(FaultHit("lost", "", 0, self.plan.device_lost.error,
                                          self._lost_at))


def _time(hit: FaultHit) -> float:
    return hit.time_us
