"""Property `failure-propagation`: failures flow downstream, have causes, carry codes.

Statuses of executes are the core's reports, checked against the scenario's analysis
(which failures can reach which execute) and against the final semaphore states.
"""

from __future__ import annotations

from collections.abc import Iterator

from model.core.status import StatusCode
from model.scenario.checker.analysis import CANCELLED, OK, OUT_OF_RANGE
from model.scenario.checker.iree_status import status_table_problems
from model.scenario.checker.views import EPS_US, Ctx, Violation, failed
from model.scenario.record import OpResult
from model.scenario.types import Execute


def rejected(c: Ctx, x: Execute, status: str) -> bool:
    """An execute whose submit call returned OUT_OF_RANGE (the actor saw the call fail:
    `submit_status`), which the scenario allows: it never existed as an action, so it
    neither signals nor fails anything. (OUT_OF_RANGE can also be a propagated failure
    code; then the submit call returned without a status.)"""
    r = c.result(x.id)
    return (status == OUT_OF_RANGE and x.id in c.analysis.may_reject
            and r is not None and r.submit_status == OUT_OF_RANGE)


def _failed_execute(c: Ctx, x: Execute, status: str) -> Iterator[Violation]:
    teardown = status == CANCELLED and x.id in c.teardown
    codes = c.analysis.op_codes[x.id]
    if not teardown and status not in codes:
        yield Violation(
            "failure-propagation",
            x.id,
            f"execute {x.id} failed with {status}; the failures that can reach it are: "
            f"{', '.join(sorted(codes)) or 'none'}",
        )
    for s in x.signal:
        final = c.record.semaphores.get(s)
        if final is not None and final[1] == OK:
            yield Violation(
                "failure-propagation",
                x.id,
                f"execute {x.id} failed with {status} but the semaphore it signals, {s}, "
                f"ended OK (value {final[0]})",
            )


def _failure_causes(c: Ctx, s: str) -> set[str]:
    """Codes of the causes of a failure of `s` that the record shows happened."""
    causes = {op.code for op in c.ix.fails if op.semaphore == s and c.status(op.id) == OK}
    for x in c.ix.signallers[s]:
        status = CANCELLED if x.id in c.teardown else c.status(x.id)
        if failed(status) and not rejected(c, x, status):
            causes.add(status)
    return causes


def _semaphore_failure(c: Ctx, s: str, code: str) -> Iterator[Violation]:
    causes = _failure_causes(c, s)
    if not causes:
        yield Violation(
            "failure-propagation",
            None,
            f"semaphore {s} ended failed with {code} but no fail op on it happened and no "
            f"execute signalling it failed",
        )
    elif code not in causes:
        yield Violation(
            "failure-propagation",
            None,
            f"semaphore {s} ended failed with {code}, not a code of its causes "
            f"({', '.join(sorted(causes))})",
        )


def _failed_before_submit(c: Ctx, x: Execute, r: OpResult, s: str, v: int) -> bool:
    f = c.log.first_failure(s)
    if f is None or c.log.value_at(s, f.seq) >= v:
        return False
    if r.submit_seq is not None:
        return f.seq < r.submit_seq
    return r.submit_us is not None and f.time_us < r.submit_us - EPS_US


def _ok_after_failure(c: Ctx, x: Execute) -> Iterator[Violation]:
    r = c.result(x.id)
    if r is None or r.status != OK:
        return
    for s, v in x.wait.items():
        if _failed_before_submit(c, x, r, s, v):
            yield Violation(
                "failure-propagation",
                x.id,
                f"execute {x.id} completed OK although {s} failed before it was submitted "
                f"(and before reaching {v})",
            )


def check_failure_propagation(c: Ctx) -> Iterator[Violation]:
    for problem in status_table_problems(StatusCode):
        yield Violation("failure-propagation", None, f"the core's {problem}")
    for x in c.ix.executes:
        status = c.status(x.id)
        if failed(status) and not rejected(c, x, status):
            yield from _failed_execute(c, x, status)
        yield from _ok_after_failure(c, x)
    for s in c.scenario.semaphores:
        final = c.record.semaphores.get(s)
        if final is not None and final[1] != OK:
            yield from _semaphore_failure(c, s, final[1])


# =========================================================================== conservation
