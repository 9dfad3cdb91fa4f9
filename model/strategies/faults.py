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
refuse, docs/faults.md), and about half the time its work lasts at least
`LONG_FAULTED_US` (400 us), so that the executes after it are in flight when the stream
errs. A create_event fault comes with an event pool of at most 2 events (`with_faults`),
so that acquires do create events.

Pairs: a third draw (0-3) of 3 adds a second, independently drawn fault (`combine`:
both plans' call and work faults, the earlier loss), so that faults meet: about 1 case
in 9 of `hipsem fuzz --faults` carries two faults (measured over 1500 cases). It shrinks
toward 0, a single fault.

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
_PAIR = 3  # a pair draw of 3 (of 0-3) adds a second drawn fault; shrinks toward 0: one


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


def _single(scenario: Scenario) -> st.SearchStrategy[FaultPlan]:
    def plan(kind_code: int, code: int) -> FaultPlan:
        mixed = mix(kind_code, _BITS)  # spread the kinds; only 0 is "no fault"
        kind = (_KINDS[mixed & 15] or 1) if mixed else 0
        return _plan(kind, code, scenario)

    return st.builds(plan, st.integers(0, (1 << _BITS) - 1), st.integers(0, 255))


def combine(a: FaultPlan, b: FaultPlan) -> FaultPlan:
    """Both plans' faults in one: their call faults, their work faults (one per execute,
    `a`'s first) and the earlier loss."""
    work = a.work + tuple(w for w in b.work if a.work_error(w.execute) is None)
    losses = [x for x in (a.device_lost, b.device_lost) if x is not None]
    return FaultPlan(a.calls + b.calls, work, min(losses, key=lambda x: x.at_us)
                     if losses else None)


def fault_plans(scenario: Scenario) -> st.SearchStrategy[FaultPlan]:
    """One fault plan for `scenario` (module docstring: kinds, pairs and shrinking)."""
    def plan(first: FaultPlan, pair: int, second: FaultPlan) -> FaultPlan:
        return combine(first, second) if pair == _PAIR else first

    return st.builds(plan, _single(scenario), st.integers(0, _PAIR), _single(scenario))


LONG_FAULTED_US = 400.0  # a long faulted work: the executes after it are issued first


def _apply(scenario: Scenario, plan: FaultPlan, code: int, long_work: bool) -> Scenario:
    """`scenario` with `plan`. A create_event fault comes with an event pool of 0-2
    events, so that acquires create events (a full pool never does). With `long_work`,
    a faulted execute's work lasts at least `LONG_FAULTED_US`, so that the executes after
    it on its queue are issued (and in flight) before its stream errs: their completions
    then meet the stream error, not only their refused calls."""
    faulted = dataclasses.replace(scenario, faults=plan)
    if long_work and plan.work:
        victims = {w.execute for w in plan.work}
        faulted = dataclasses.replace(faulted, actors={
            actor: [dataclasses.replace(op, duration_us=max(op.duration_us, LONG_FAULTED_US))
                    if isinstance(op, Execute) and op.id in victims else op for op in ops]
            for actor, ops in faulted.actors.items()})
    if not any(c.call == "create_event" for c in plan.calls):
        return faulted
    small = min(scenario.settings.event_pool_capacity, code % 3)
    return dataclasses.replace(faulted, settings=dataclasses.replace(
        scenario.settings, event_pool_capacity=small))


def with_faults(scenario: st.SearchStrategy[Scenario]) -> st.SearchStrategy[Scenario]:
    """`scenario` with a drawn fault plan (shrinks toward no fault, see above)."""
    return scenario.flatmap(lambda s: st.builds(_apply, st.just(s), fault_plans(s),
                                                st.integers(0, 2), st.booleans()))


__all__ = ["SIMPLEST_CALLS", "combine", "fault_plans", "followed_executes", "with_faults"]
