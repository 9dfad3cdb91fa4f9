"""Fault injection on the HIP backend: the same `FaultPlan` as the SimPy device's.

`HipFaults` is owned by a `HipDevice` once a plan is armed. It counts the protocol calls
with the same `model.faults.FaultInjector` as the SimPy device (so the n-th call, and a
probabilistic draw keyed by (seed, call, occurrence), is the same on both backends) and
injects through the CPU runtime's knob (`CpuRuntimeLib.fail_next_call`: the next HIP call
of the thread returns the error, so the error really comes back through hip-python and
`hip_check`), and `set_device_lost` for a lost device. A work fault poisons its stream
as in the SimPy device: the next record on it makes the event answer the error at its
query/synchronize (the runtime's knob again), and a stream that waits on such an event
is poisoned in turn. Every injected fault is logged as a `FaultHit` (ground truth), with
the work the device can tie it to.

Only the CPU runtime has the knob: arming a plan with faults on ROCm raises
`RuntimeUnavailable` (exit 2). Thread-safety: under the device's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hipbackend.errors import RuntimeUnavailable
from model.core.hip_errors import HIP_ERROR_NUMBERS
from model.faults import FaultInjector, FaultPlan
from model.scenario.record import FaultHit


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
        self._lock = threading.Lock()
        # Per stream label: the last work launched, that work until a record follows,
        # the work the last waited event's record follows, the error the next record gets.
        self.last_work: dict[str, str] = {}
        self.unrecorded: dict[str, str] = {}
        self.last_waited: dict[str, str] = {}
        self.poison: dict[str, str] = {}
        # Per event name: the work its current record follows and the error it carries.
        self.after: dict[str, str] = {}
        self.error: dict[str, str] = {}
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

    def victims_of_create(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self.unrecorded.values())

    def launched(self, stream: str, tag: str) -> None:
        with self._lock:
            self.last_work[stream] = self.unrecorded[stream] = tag
            error = self.plan.work_error(tag)
            if error is not None:
                self.poison[stream] = error
                self.hits.append(FaultHit("work", "", 0, error, self.now(), stream, (tag,)))

    def recorded(self, event: str, stream: str) -> None:
        with self._lock:
            self.unrecorded.pop(stream, None)
            self.after[event] = self.last_work.get(stream, "")
            error = self.poison.pop(stream, None)
            if error is None:
                self.error.pop(event, None)
            else:
                self.error[event] = error

    def waited(self, stream: str, event: str) -> None:
        with self._lock:
            if event in self.after:
                self.last_waited[stream] = self.after[event]
            if event in self.error:
                self.poison.setdefault(stream, self.error[event])

    def event_victims(self, event: str) -> tuple[str, ...]:
        with self._lock:
            tag = self.after.get(event)
            return (tag,) if tag else ()

    def stream_victims(self, stream: str) -> tuple[str, ...]:
        with self._lock:
            tag = self.last_waited.get(stream)
            return (tag,) if tag else ()

    def event_error(self, event: str) -> str | None:
        """The error event `event`'s record completed with (a work fault), or None; the
        caller surfaces it through the runtime (`surface`)."""
        with self._lock:
            return self.error.get(event)

    def surface(self, error: str) -> None:
        """Arm the runtime so that the caller's next HIP call answers `error`."""
        self.cpu.fail_next_call(HIP_ERROR_NUMBERS[error])

    def disarm(self) -> None:
        """Stop injecting; note whether the device was lost (before the runtime forgets)."""
        if self.plan.device_lost is not None and self.cpu.device_lost:
            self.lost_us = self._lost_at
            self.hits.append(FaultHit("lost", "", 0, self.plan.device_lost.error, self._lost_at))
        self.cpu.clear_faults()
