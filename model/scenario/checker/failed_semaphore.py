"""Property `failed-semaphore`: once a semaphore has failed, host calls on it say so.

Ground truth for "S has failed" is a host call that returned: a `fail` op on S that
returned OK, or a query of S (or a wait on S alone) that returned a failure code. Every
host op on S that *starts* after that (start seq after its end seq; by times without
seqs) must answer with a failure:

  * a query returns a failure code, never OK with a value;
  * a signal returns a failure code, never OK;
  * a wait (poll, timed or forever) returns a failure code; an ANY wait may instead
    return OK through another of its semaphores. Never DEADLINE_EXCEEDED, never PENDING.

Which code (the first failure's) is judged by `linearizable-wait` and
`failure-propagation`.
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.analysis import DEADLINE_EXCEEDED, OK
from model.scenario.checker.views import Ctx, Violation, failed, fmt_time, host_key, uses_seqs
from model.scenario.record import PENDING, OpResult
from model.scenario.types import Execute, Fail, Op, Query, Signal, Wait, WaitMode


def _semaphores(op: Op) -> list[str]:
    if isinstance(op, Wait):
        return list(op.semaphores)
    return [op.semaphore] if isinstance(op, (Query, Signal, Fail)) else []


def _known_failed(c: Ctx, use_seq: bool) -> dict[str, tuple[float, str, str]]:
    """Per semaphore: the earliest end key of a host call that showed it failed, why,
    and the code it showed."""
    known: dict[str, tuple[float, str, str]] = {}
    for op in c.ix.all_ops:
        r = c.result(op.id)
        if r is None or (key := host_key(op, r, False, use_seq)) is None:
            continue
        sems = _semaphores(op)
        if isinstance(op, Fail) and r.status == OK:
            why, code = f"fail {op.id} returned at {fmt_time(r.end_us)}", op.code
        elif (isinstance(op, (Query, Wait)) and len(sems) == 1 and failed(r.status)
              and r.status != DEADLINE_EXCEEDED):
            why = f"{op.op} {op.id} returned {r.status} at {fmt_time(r.end_us)}"
            code = r.status
        else:
            continue
        s = sems[0]
        if s not in known or key < known[s][0]:
            known[s] = (key, why, code)
    return known


def _problem(op: Op, r: OpResult, s: str, why: str, code: str) -> str | None:
    if isinstance(op, (Query, Signal)) and r.status == OK:
        got = f" read {r.value}" if isinstance(op, Query) else " returned OK"
        return f"{op.op} {op.id} of {s}{got} after {s} had failed ({why})"
    if isinstance(op, Wait):
        bad = {DEADLINE_EXCEEDED, PENDING} | ({OK} if op.mode is WaitMode.ALL else set())
        bad.discard(code)  # a semaphore failed *with* DEADLINE_EXCEEDED answers with it
        if r.status in bad:
            return (f"wait {op.id} ({op.mode.value}) on {s} ended {r.status} after {s} had "
                    f"failed ({why}); it must return the failure")
    return None


def check_failed_semaphore(c: Ctx) -> Iterator[Violation]:
    results = [(op, r) for op in c.ix.all_ops if (r := c.result(op.id)) is not None]
    use_seq = uses_seqs((op, r) for op, r in results if not isinstance(op, Execute))
    known = _known_failed(c, use_seq)
    if not known:
        return
    for op, r in results:
        if isinstance(op, Fail) or (start := host_key(op, r, True, use_seq)) is None:
            continue
        for s in _semaphores(op):
            if s in known and known[s][0] < start:
                problem = _problem(op, r, s, known[s][1], known[s][2])
                if problem is not None:
                    yield Violation("failed-semaphore", op.id, problem)
                    break
