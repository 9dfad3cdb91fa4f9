"""Fault plans: which device calls fail, which device work fails, when the device is lost.

A `FaultPlan` is part of a scenario (its optional `faults` section, docs/faults.md) and
is the same on every backend. Three kinds of fault:

  * `CallFault`: the `at`-th call of one device-protocol method (1-based, counted over the
    calls the core makes once the run is set up) fails with a HIP error, or each call
    fails with `probability`;
  * `WorkFault`: the device work of one execute fails with a HIP error; the error
    surfaces where HIP surfaces it: at the query/synchronize of the event recorded after
    it, and it is sticky on the stream that ran the work: once the device has run it,
    the stream executes nothing more, every later record on it completes with the error
    and every later call naming the stream answers it (a stream that waits on such a
    record carries the error once, on its next record; docs/faults.md);
  * `DeviceLost`: from `at_us` (µs of the backend's clock since the run was set up) every
    device call fails with a fatal HIP error.

`FaultInjector` decides, call by call, whether a call fails. It is deterministic: the
n-th call of a method fails with probability p iff `unit(seed, name, n) < p`, where
`unit` is a fixed hash (splitmix64 of the seed, an FNV-1a hash of the name and n), so
the decision depends only on the run seed, the method and the occurrence index, never on
a clock or a shared random stream. The HIP backend uses this same injector (it only turns
the CPU runtime's knob, `hipbackend/faults.py`), so both backends count and draw alike.

Never faulted: create_stream, destroy_stream, destroy_event (set-up and release; IREE
ignores release errors) and every call made while the run is set up (`arm()` starts
counting).

Invariant: a plan's calls and errors are names of `INJECTABLE_CALLS` and
`HIP_ERROR_NUMBERS`; a lost device's error is one of `FATAL_ERRORS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.core.hip_errors import FATAL_ERRORS, HIP_ERROR_NUMBERS

INJECTABLE_CALLS = ("create_event", "record_event", "stream_wait_event", "launch_host_func",
                    "launch_work", "synchronize_event", "query_event")
FAULT_ERRORS = tuple(HIP_ERROR_NUMBERS)
LOST_ERRORS = tuple(sorted(FATAL_ERRORS & set(HIP_ERROR_NUMBERS)))
# A call or work fault is not a lost device: its error is not fatal.
CALL_ERRORS = tuple(e for e in FAULT_ERRORS if e not in FATAL_ERRORS)
DEFAULT_WORK_ERROR = "hipErrorLaunchFailure"
DEFAULT_LOST_ERROR = "hipErrorNoDevice"
_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class CallFault:
    """The `at`-th call of `call` fails with `error` (or each call with `probability`)."""

    call: str
    error: str
    at: int | None = None
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class WorkFault:
    """The device work of execute `execute` fails with `error`."""

    execute: str
    error: str = DEFAULT_WORK_ERROR


@dataclass(frozen=True, slots=True)
class DeviceLost:
    """From `at_us` after set-up, every device call fails with `error`."""

    at_us: float
    error: str = DEFAULT_LOST_ERROR


@dataclass(frozen=True, slots=True)
class FaultPlan:
    calls: tuple[CallFault, ...] = ()
    work: tuple[WorkFault, ...] = ()
    device_lost: DeviceLost | None = None

    def __bool__(self) -> bool:
        return bool(self.calls or self.work or self.device_lost)

    def work_error(self, tag: str) -> str | None:
        """The error the work of execute `tag` fails with, None if it does not fail."""
        return next((w.error for w in self.work if w.execute == tag), None)


NO_FAULTS = FaultPlan()


def _fnv1a(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & _MASK
    return h


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def fault_unit(seed: int, call: str, occurrence: int) -> float:
    """A number in [0, 1) fixed by (seed, call, occurrence): the probabilistic draw."""
    x = _splitmix64((seed & _MASK) ^ _fnv1a(call) ^ ((occurrence * 0xD6E8FEB86659FD93) & _MASK))
    return (x >> 11) / float(1 << 53)


@dataclass(slots=True)
class FaultInjector:
    """Per run: counts each method's calls once armed and says which ones fail."""

    plan: FaultPlan
    seed: int = 0
    armed: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def arm(self) -> None:
        self.armed = True

    def call_error(self, call: str) -> tuple[int, str] | None:
        """Count one call of `call`; (occurrence, HIP error) if it must fail, else None."""
        if not self.armed or call not in INJECTABLE_CALLS:
            return None
        n = self.counts.get(call, 0) + 1
        self.counts[call] = n
        for fault in self.plan.calls:
            if fault.call != call:
                continue
            if fault.at is not None and fault.at == n:
                return n, fault.error
            if fault.probability is not None and fault_unit(self.seed, call, n) < fault.probability:
                return n, fault.error
        return None
