"""Hypothesis strategies for fault plans (docs/faults.md, docs/strategies.md).

`fault_plans(scenario)` draws one `FaultPlan` for a scenario from two integer codes: a
kind (none, a call failing at its n-th occurrence, an execute's device work failing, the
device lost at a time, a call failing with a probability) and its parameters. Every draw
is valid by construction: a work fault names an execute of the scenario, a call and its
error come from the injectable tables.

How it shrinks: the kind code toward 0 (no fault), then toward a call fault; the
occurrence toward 1 (the earliest call), the call toward launch_work (the first in
`SIMPLEST_CALLS`), the error toward hipErrorOutOfMemory, the loss time toward 0 and the
work fault toward the first execute.
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

SIMPLEST_CALLS = ("launch_work", "record_event", "create_event", "stream_wait_event",
                  "launch_host_func", "synchronize_event", "query_event")
_ERRORS = ("hipErrorOutOfMemory", "hipErrorLaunchFailure", "hipErrorInvalidHandle",
           "hipErrorECCNotCorrectable")
_LOST_AT = (0.0, 20.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1500.0)
_PROBABILITIES = (0.5, 0.2, 0.05, 1.0)
assert set(_ERRORS) <= set(CALL_ERRORS)


def _plan(kind: int, code: int, scenario: Scenario) -> FaultPlan:
    executes = [op.id for _, _, op in scenario.ops() if isinstance(op, Execute)]
    call = SIMPLEST_CALLS[code % len(SIMPLEST_CALLS)]
    error = _ERRORS[(code >> 3) % len(_ERRORS)]
    if kind == 1:
        return FaultPlan(calls=(CallFault(call, error, at=1 + (code >> 5) % 8),))
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
    return st.builds(_plan, st.integers(0, 4), st.integers(0, 255), st.just(scenario))


def with_faults(scenario: st.SearchStrategy[Scenario]) -> st.SearchStrategy[Scenario]:
    """`scenario` with a drawn fault plan (shrinks toward no fault, see above)."""
    return scenario.flatmap(
        lambda s: fault_plans(s).map(lambda plan: dataclasses.replace(s, faults=plan)))


__all__ = ["SIMPLEST_CALLS", "fault_plans", "with_faults"]
