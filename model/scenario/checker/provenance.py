"""Property `provenance`: every host-visible value was signalled, and not seen too early.

Judged against ground truth (`GroundTruth`), not against the core's own log:

  * every advance in the value log (also during teardown) is the initial value or the
    value of a signal site that happened, logged no earlier than that site reached it
    (a host signal's call start; an execute's device end);
  * a query that returned OK read the initial value or a signalled value reached by
    the time the query returned;
  * a wait that returned OK found its condition reached on ground truth by the time it
    returned (ALL: every pair; ANY: some pair; an empty list holds at once).

Device times are compared with host times with `record.clock_tolerance_us` of slack.
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.analysis import OK, cond
from model.scenario.checker.views import Ctx, Violation, fmt_pairs, fmt_time
from model.scenario.record import OpResult, ValueChange
from model.scenario.types import Query, Wait


def _unsignalled(c: Ctx, s: str, v: int, when: float, what: str) -> str | None:
    """Why `what` (seeing `s` = `v` at `when`) contradicts ground truth, or None."""
    if v == c.ix.initial[s]:
        return None
    site = c.truth.exact(s, v)
    if site is None:
        known = [p.op for p in c.ix.sites[s] if p.value == v]
        why = (f"its only signal site {known[0]} never did it" if known
               else f"no op of the scenario signals {s} = {v}")
        return f"{what}, but nothing signalled {s} = {v} ({why})"
    if site.lo > when + c.clock_tol:
        return f"{what}, before {site.describe()}"
    return None


def _log_entries(c: Ctx) -> Iterator[Violation]:
    entries: list[tuple[str, ValueChange]] = [("", ch) for ch in c.record.value_log]
    entries += [(" during teardown", ch) for ch in c.record.teardown.value_log]
    for phase, ch in entries:
        if ch.status != OK:
            continue
        what = (f"the host timeline showed {ch.semaphore} = {ch.value} at "
                f"{fmt_time(ch.time_us)} (seq {ch.seq}{phase})")
        problem = _unsignalled(c, ch.semaphore, ch.value, ch.time_us, what)
        if problem is not None:
            yield Violation("provenance", None, problem)


def _query(c: Ctx, op: Query, r: OpResult) -> Iterator[Violation]:
    if r.value is None or r.end_us is None:
        return
    what = f"query {op.id} read {op.semaphore} = {r.value} by {fmt_time(r.end_us)}"
    problem = _unsignalled(c, op.semaphore, r.value, r.end_us, what)
    if problem is not None:
        yield Violation("provenance", op.id, problem)


def _wait(c: Ctx, w: Wait, r: OpResult) -> Iterator[Violation]:
    if r.end_us is None:
        return
    end = r.end_us + c.clock_tol
    if cond(w, lambda s, v: c.truth.reached_by(s, v, end)):
        return
    missing = []
    for s, v in w.semaphores.items():
        if c.truth.reached_by(s, v, end):
            continue
        first = c.truth.earliest(s, v)
        missing.append(f"{s} >= {v}: " + (f"first reached by {first.describe()}" if first
                                          else "never signalled"))
    yield Violation(
        "provenance", w.id,
        f"wait {w.id} ({w.mode.value} of {fmt_pairs(w.semaphores)}) returned OK at "
        f"{fmt_time(r.end_us)}, before its condition was reached: {'; '.join(missing)}",
    )


def check_provenance(c: Ctx) -> Iterator[Violation]:
    yield from _log_entries(c)
    for op in c.ix.all_ops:
        r = c.result(op.id)
        if r is None or r.status != OK:
            continue
        if isinstance(op, Query):
            yield from _query(c, op, r)
        elif isinstance(op, Wait):
            yield from _wait(c, op, r)
