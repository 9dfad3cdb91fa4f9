"""Greedy minimization of a failing case, after Hypothesis has shrunk it.

Hypothesis shrinks the *drawn codes*; a race that shows for one run seed may vanish
when an op is deleted, so its result can keep an op or two that only shifted timing.
`minimize` works on the scenario itself: it deletes one op at a time (and resets the
settings and the timing to the defaults) and keeps each change under which the case
still fails for *some* run seed among a few, until no single change keeps it failing.

Invariants: the result fails (the `Failure` returned is a real run of it, with its
seed); it is never larger than the input; deleting an op keeps a scenario valid (ids
stay unique, names declared, signal values distinct), so every candidate is valid.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

from model.faults import NO_FAULTS, CallFault, FaultPlan
from model.fuzz.campaign import Failure
from model.scenario.types import Scenario, Settings
from model.sim.timing import Timing
from model.strategies import FuzzCase

Evaluate = Callable[[FuzzCase], Failure | None]


def _without(scenario: Scenario, actor: str, index: int) -> Scenario:
    actors = {a: list(ops) for a, ops in scenario.actors.items()}
    del actors[actor][index]
    kept = {a: ops for a, ops in actors.items() if ops} or {actor: []}
    gone = scenario.actors[actor][index].id
    work = tuple(w for w in scenario.faults.work if w.execute != gone)
    faults = dataclasses.replace(scenario.faults, work=work)
    return dataclasses.replace(scenario, actors=kept, faults=faults)


def _simpler_faults(plan: FaultPlan) -> Iterator[FaultPlan]:
    """No fault, then each fault alone removed, a probabilistic call fault made its
    first occurrence, a call fault one occurrence earlier (toward the earliest, simplest
    fault)."""
    if not plan:
        return
    yield NO_FAULTS
    for i in range(len(plan.calls)):
        yield dataclasses.replace(plan, calls=plan.calls[:i] + plan.calls[i + 1:])
        at = plan.calls[i].at
        if at is None:  # a probability: try the first occurrence instead
            first = CallFault(plan.calls[i].call, plan.calls[i].error, at=1)
            yield dataclasses.replace(plan, calls=(*plan.calls[:i], first, *plan.calls[i + 1:]))
        elif at > 1:
            earlier = dataclasses.replace(plan.calls[i], at=at - 1)
            yield dataclasses.replace(plan, calls=(*plan.calls[:i], earlier,
                                                   *plan.calls[i + 1:]))
    for i in range(len(plan.work)):
        yield dataclasses.replace(plan, work=plan.work[:i] + plan.work[i + 1:])
    if plan.device_lost is not None:
        yield dataclasses.replace(plan, device_lost=None)


def _candidates(case: FuzzCase, base_timing: Timing | None = None) -> Iterator[FuzzCase]:
    """Every one-step simplification of `case`, biggest first (the timing's simplest form
    is `base_timing`, a calibration, else the defaults)."""
    s = case.scenario
    for actor, ops in s.actors.items():
        for index in reversed(range(len(ops))):
            yield dataclasses.replace(case, scenario=_without(s, actor, index))
    for plan in _simpler_faults(s.faults):
        yield dataclasses.replace(case, scenario=dataclasses.replace(s, faults=plan))
    if s.settings != Settings():
        yield dataclasses.replace(case, scenario=dataclasses.replace(s, settings=Settings()))
    simplest = base_timing or Timing()
    if case.timing != simplest:
        yield dataclasses.replace(case, timing=simplest)


def _seeds(failure: Failure, extra: int) -> tuple[int, ...]:
    return tuple(dict.fromkeys((failure.seed, *range(extra))))


def minimize(failure: Failure, evaluate: Evaluate, seeds: int = 8,
             budget_s: float = 10.0, base_timing: Timing | None = None) -> Failure:
    """Simplify `failure` greedily (see the module docstring) within `budget_s` seconds.

    `evaluate(case)` returns the case's first failing run (e.g. `campaign.evaluate` with
    the defects bound); each candidate is tried with its failing seed, then seeds 0..
    `seeds`-1.
    """
    best = failure
    deadline = time.perf_counter() + budget_s
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for candidate in _candidates(best.case, base_timing):
            if time.perf_counter() >= deadline:
                break
            found = evaluate(dataclasses.replace(candidate, seeds=_seeds(best, seeds)))
            if found is not None:
                best = dataclasses.replace(found, case=dataclasses.replace(
                    found.case, seeds=(found.seed,)))
                improved = True
                break
    return best


__all__ = ["minimize"]
