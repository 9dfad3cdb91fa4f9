"""Hypothesis strategies for fault plans (docs/faults.md, docs/strategies.md).

`fault_plans(scenario)` draws one `FaultPlan` for a scenario from two integer codes: a
kind (none, a call failing at its n-th occurrence, an execute's device work failing, the
device lost at a time, a call failing with a probability) and its parameters. Every draw
is valid by construction: a work fault names an execute of the scenario, a call and its
error come from the injectable tables.

Distribution: a draw of 0 (Hypothesis draws it often, about 3 cases in 10) has no
fault; of the others, about 9 in 16 have a call failing at an occurrence (1-4), 1 in 8
each a work fault and a lost device (at 0-1500 us), 3 in 16 a call failing with a
probability (0.05-1). A work fault picks an execute followed by another on its queue
when the scenario has one (its stream's sticky error then has more work to skip or
refuse, docs/faults.md). A create_event fault comes with an
event pool of at most 2 events (`with_faults`), so that acquires do create events.

How it shrinks: the kind is one integer draw scrambled by a bijection that keeps 0 at 0
(`graph.mix`, so that kinds are spread evenly), shrinking toward 0: no fault, and among
faults toward the smallest draw of each kind. The parameters are a second draw, read as
bit fields that shrink toward the simplest: the occurrence toward 1 (the earliest call),
the call toward launch_work (`SIMPLEST_CALLS`), the error toward hipErrorOutOfMemory,
the loss time toward 0, the work fault toward the first execute. The greedy minimizer
(`model.fuzz.minimize`) then tries removing the fault, a probabilistic fault as its
first occurrence, and an earlier occurrence.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from model.faults import (
    CALL_ERRORS,
    NO_FAULTS,
    CallFault,
    DeviceLost,
    FaultPlan,
    WorkFault,
)
from model.scenario.types import Execute, Scenario
from model.strategies.graph import mix

SIMPLEST_CALLS = ("launch_work", "record_event", "create_event", "stream_wait_event",
                  "launch_host_func", "synchronize_event", "query_event")
_ERRORS = ("hipErrorOutOfMemory", "hipErrorLaunchFailure", "hipErrorInvalidHandle",
           "hipErrorECCNotCorrectable")
_LOST_AT = (0.0, 20.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1500.0)
_PROBABILITIES = (0.5, 0.2, 0.05, 1.0)
assert set(_ERRORS) <= set(CALL_ERRORS)


# Kind codes: 0 no fault; then call faults at an occurrence (most: seven calls to pick
# from), work faults, a lost device, call faults with a probability.
_KINDS = (0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4)
_BITS = 12


def followed_executes(scenario: Scenario) -> list[str]:
    """Executes with a later execute on the same queue (in scenario order), so that the
    stream error of a work fault has more work to skip or refuse; else every execute."""
    executes = [op for _, _, op in scenario.ops() if isinstance(op, Execute)]
    later = [x.id for i, x in enumerate(executes)
             if any(y.queue == x.queue for y in executes[i + 1:])]
    return later or [x.id for x in executes]


def _plan(kind: int, code: int, scenario: Scenario) -> FaultPlan:
    executes = followed_executes(scenario) if kind == 2 else []
    call = SIMPLEST_CALLS[code % len(SIMPLEST_CALLS)]
    error = _ERRORS[(code >> 3) % len(_ERRORS)]
    if kind == 1:
        return FaultPlan(calls=(CallFault(call, error, at=1 + (code >> 5) % 4),))
    if kind == 2 and executes:
        chosen = executes[(code >> 5) % len(executes)]
        return FaultPlan(work=(WorkFault(chosen, "hipErrorLaunchFailure"),))
    if kind == 3:
        return FaultPlan(device_lost=DeviceLost(_LOST_AT[(code >> 5) % len(_LOST_AT)]))
    if kind == 4:
        p = _PROBABILITIES[(code >> 5) % len(_PROBABILITIES)]
        return FaultPlan(calls=(CallFault(call, error, probability=p),))
    return NO_FAULTS


def fault_plans(scenario: Scenario) -> st.SearchStrategy[FaultPlan]:
    """One fault plan for `scenario` (module docstring: kinds and shrinking)."""
    def plan(kind_code: int, code: int) -> FaultPlan:
        mixed = mix(kind_code, _BITS)  # spread the kinds; only 0 is "no fault"
        kind = (_KINDS[mixed & 15] or 1) if mixed else 0
        return _plan(kind, code, scenario)

    return st.builds(plan, st.integers(0, (1 << _BITS) - 1), st.integers(0, 255))


def _small_pool(scenario: Scenario, plan: FaultPlan, code: int) -> Scenario:
    """A create_event fault comes with an event pool of 0-2 events, so that acquires
    create events (a full pool never does); anything else leaves the settings alone."""
    faulted = dataclasses.replace(scenario, faults=plan)
    if not any(c.call == "create_event" for c in plan.calls):
        return faulted
    small = min(scenario.settings.event_pool_capacity, code % 3)
    return dataclasses.replace(faulted, settings=dataclasses.replace(
        scenario.settings, event_pool_capacity=small))


def with_faults(scenario: st.SearchStrategy[Scenario]) -> st.SearchStrategy[Scenario]:
    """`scenario` with a drawn fault plan (shrinks toward no fault, see above)."""
    return scenario.flatmap(lambda s: st.builds(_small_pool, st.just(s), fault_plans(s),
                                                st.integers(0, 2)))


__all__ = ["SIMPLEST_CALLS", "fault_plans", "followed_executes", "with_faults"]
