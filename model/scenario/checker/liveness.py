"""Property `liveness`: each op ends with a status the scenario allows.

The allowed sets come from the analysis (`allowed_statuses`); CANCELLED caused by the
runner's teardown at the end of the run counts as PENDING. Statuses are what the actors
saw returned (host ops) and what the core reported for actions (executes).
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.analysis import CANCELLED, allowed_statuses
from model.scenario.checker.views import Ctx, Violation
from model.scenario.record import PENDING
from model.scenario.types import Execute, Fail, Op, Query, Signal, Wait


def _teardown_semaphores(c: Ctx) -> set[str]:
    """Semaphores signalled by actions that teardown cancelled."""
    return {s for x in c.ix.executes if x.id in c.teardown for s in x.signal}


def _op_semaphores(op: Op) -> set[str]:
    if isinstance(op, Wait):
        return set(op.semaphores)
    return {op.semaphore} if isinstance(op, (Signal, Query, Fail)) else set()


def _effective_status(c: Ctx, op: Op, status: str, teardown: set[str]) -> str:
    """CANCELLED caused by teardown at the end of the run counts as PENDING: on a
    cancelled action, or on a host op on a semaphore such an action signals."""
    if status != CANCELLED:
        return status
    if op.id in c.teardown:
        return PENDING
    if not isinstance(op, Execute) and _op_semaphores(op) & teardown:
        return PENDING
    return status


def check_liveness(c: Ctx) -> Iterator[Violation]:
    teardown = _teardown_semaphores(c)
    for op in c.ix.all_ops:
        allowed = allowed_statuses(c.analysis, op)
        status = c.status(op.id)
        if status in allowed or _effective_status(c, op, status, teardown) in allowed:
            continue
        extra = " (CANCELLED at teardown counts as PENDING)" if status == CANCELLED else ""
        yield Violation(
            "liveness",
            op.id,
            f"{op.op} {op.id} ended {status}; allowed: {', '.join(sorted(allowed))}{extra}",
        )


# =========================================================================== monotonic
