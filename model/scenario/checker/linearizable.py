"""Property `linearizable-wait`: wait and query results agree with the value log.

This property checks the core's claim (its value log) for consistency with what the
host calls returned; `provenance`, `causality`, `failed-semaphore` and `deadline` judge
the same results against ground truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from model.scenario.checker.analysis import DEADLINE_EXCEEDED, OK, cond
from model.scenario.checker.propagation import rejected
from model.scenario.checker.views import EPS_US, Ctx, Violation, fmt_pairs
from model.scenario.record import PENDING, OpResult, ValueChange
from model.scenario.types import Execute, Query, Wait


def _seen_values(
    c: Ctx, w: Wait, seq: int, keep: Callable[[ValueChange], bool] | None = None
) -> str:
    return ", ".join(f"{s}={c.log.value_at(s, seq, keep)}" for s in w.semaphores)


def _wait_ok(c: Ctx, w: Wait, r: OpResult) -> Iterator[Violation]:
    if r.end_seq is None:
        yield Violation("linearizable-wait", w.id, f"wait {w.id} returned OK without end_seq")
        return
    end = r.end_seq
    if not cond(w, lambda s, v: c.log.value_at(s, end) >= v):
        yield Violation(
            "linearizable-wait",
            w.id,
            f"wait {w.id} ({w.mode.value} of {fmt_pairs(w.semaphores)}) returned OK but the "
            f"host-visible values at its return (seq {end}) were {_seen_values(c, w, end)}",
        )


def _wait_deadline(c: Ctx, w: Wait, r: OpResult) -> Iterator[Violation]:
    if w.timeout_us is None:
        return  # liveness reports it: a wait without timeout never times out
    if r.start_us is None or r.end_us is None or r.start_seq is None or r.end_seq is None:
        yield Violation(
            "linearizable-wait", w.id, f"wait {w.id} timed out without start/end times and seqs"
        )
        return
    deadline = r.start_us + w.timeout_us  # returning early is judged by `deadline`
    start = r.start_seq

    def before_deadline(ch: ValueChange) -> bool:
        return ch.seq < start or ch.time_us < deadline - EPS_US

    if cond(w, lambda s, v: c.log.value_at(s, r.end_seq or 0, before_deadline) >= v):
        yield Violation(
            "linearizable-wait",
            w.id,
            f"wait {w.id} returned DEADLINE_EXCEEDED but its condition {fmt_pairs(w.semaphores)} "
            f"held before the deadline: {_seen_values(c, w, r.end_seq, before_deadline)}",
        )


def _failure_seen(c: Ctx, op_id: str, sems: Iterable[str], r: OpResult) -> Iterator[Violation]:
    """A host op that returned failure code X must have seen one of its semaphores failed
    with X (first failure wins) before it returned."""
    if r.end_seq is None:
        return
    codes = {f.status for s in sems if (f := c.log.failure_at(s, r.end_seq or 0))}
    if r.status not in codes:
        yield Violation(
            "linearizable-wait",
            op_id,
            f"{op_id} returned {r.status} but none of {', '.join(sorted(sems))} had failed "
            f"with {r.status} before it returned (seen: {', '.join(sorted(codes)) or 'none'})",
        )


def _query(c: Ctx, op: Query, r: OpResult) -> Iterator[Violation]:
    s = op.semaphore
    if r.status != OK:
        yield from _failure_seen(c, op.id, [s], r)
        return
    if r.value is None or r.start_seq is None or r.end_seq is None:
        yield Violation(
            "linearizable-wait", op.id, f"query {op.id} returned OK without value/start/end seq"
        )
        return
    lo, hi = c.log.value_at(s, r.start_seq), c.log.value_at(s, r.end_seq)
    if not lo <= r.value <= hi:
        yield Violation(
            "linearizable-wait",
            op.id,
            f"query {op.id} read {s} = {r.value}, outside the host-visible range "
            f"[{lo}, {hi}] during the call",
        )


def _rejection(c: Ctx, x: Execute, r: OpResult) -> Iterator[Violation]:
    """A submission rejected with OUT_OF_RANGE must have seen a signal value overtaken."""
    if r.submit_seq is None or not rejected(c, x, r.status):
        return
    seq = r.submit_seq
    if not any(c.log.value_at(s, seq) >= w for s, w in x.signal.items()):
        seen = ", ".join(f"{s}={c.log.value_at(s, seq)}" for s in x.signal)
        yield Violation(
            "linearizable-wait",
            x.id,
            f"execute {x.id} was rejected with OUT_OF_RANGE but at its submit (seq {seq}) "
            f"no signal value was overtaken: {seen} (signals "
            f"{', '.join(f'{s}={w}' for s, w in x.signal.items())})",
        )


def check_linearizable(c: Ctx) -> Iterator[Violation]:
    for op in c.ix.all_ops:
        r = c.result(op.id)
        if r is None or r.status == PENDING:
            continue
        if isinstance(op, Execute):
            yield from _rejection(c, op, r)
        elif isinstance(op, Query):
            yield from _query(c, op, r)
        elif isinstance(op, Wait) and r.status == OK:
            yield from _wait_ok(c, op, r)
        elif isinstance(op, Wait) and r.status == DEADLINE_EXCEEDED:
            yield from _wait_deadline(c, op, r)
        elif isinstance(op, Wait):
            yield from _failure_seen(c, op.id, op.semaphores, r)


# =========================================================================== failure-propagation
