"""Property `fifo`: per queue, work is issued, run and retired in the order it became ready.

Ground truth: `issue_order` is the order the device saw the queue's launches, and
`stream_order` the order its stream started the work (both from the device);
`launched_us`/`recorded_us` are the device's times of those calls. Claims: the core's
`ready_order` and `completion_order`. Rules (docs/checker.md):

  * every issued id is an execute on that queue;
  * ready order derived by the checker: if execute x was certainly ready before execute y
    could possibly be ready (x's readiness upper bound < y's lower bound), the device saw
    x launched before y — this judges the core's hand-off without trusting its logs;
  * the device ran the stream in launch order; the issue order equals the claimed ready
    order; the claimed completion order equals the issue order of the executes that
    completed OK; executes of one actor ready at submit are ready in submission order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from model.scenario.checker.analysis import OK
from model.scenario.checker.views import Ctx, Violation, fmt_time, suffix_min
from model.scenario.types import Execute


def _first_difference(a: list[str], b: list[str]) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


_CONTEXT = 3  # items shown on each side of the first difference


def _excerpt(items: list[str], i: int) -> str:
    """`items` around position `i` for a message: "a, b, [c], d" ("(none)" if empty; at most
    `_CONTEXT` items each side, "..." for the rest; the item at `i` is bracketed)."""
    if not items:
        return "(none)"
    lo, hi = max(0, i - _CONTEXT), min(len(items), i + _CONTEXT + 1)
    shown = [f"[{x}]" if k == i else x for k, x in enumerate(items[lo:hi], lo)]
    if i >= len(items):
        shown.append("[end]")
    return ", ".join(["...", *shown] if lo else shown) + (", ..." if hi < len(items) else "")


def _order_mismatch(q: str, what: str, got: list[str], want: list[str], vs: str) -> Violation:
    i = _first_difference(got, want)
    op = got[i] if i < len(got) else (want[i] if i < len(want) else None)
    return Violation(
        "fifo", op, f"queue {q}: {what} ({len(got)}) {_excerpt(got, i)} differs from {vs} "
        f"({len(want)}) {_excerpt(want, i)} at position {i}"
    )


def _immediately_ready(c: Ctx, x: Execute) -> bool:
    return all(v <= c.ix.initial[s] for s, v in x.wait.items())


def _same_actor_order(c: Ctx, q: str, ready: list[str]) -> Iterator[Violation]:
    """Same actor, same queue, both ready at submit: ready in submission order."""
    pos = {op_id: i for i, op_id in enumerate(ready)}
    for ops in c.scenario.actors.values():
        prev: Execute | None = None
        for op in ops:
            if not isinstance(op, Execute) or op.queue != q or op.id not in pos:
                continue
            if not _immediately_ready(c, op):
                continue
            if prev is not None and pos[op.id] < pos[prev.id]:
                yield Violation(
                    "fifo",
                    op.id,
                    f"queue {q}: {op.id} became ready before {prev.id}, submitted earlier "
                    f"by the same actor with no unmet waits",
                )
            prev = op


class Bindable:
    """Per semaphore: when each value became bindable (a host signal's call, or a
    producer's launch / the record after it), as suffix minima over values, so that the
    bound of a wait is one bisection."""

    def __init__(self, c: Ctx) -> None:
        self.values: dict[str, list[int]] = {}
        self.lower: dict[str, list[float]] = {}
        self.upper: dict[str, list[float]] = {}
        inf = float("inf")
        for s, sites in c.ix.sites.items():
            rows: list[tuple[int, float, float]] = []
            for site in sites:
                r = c.result(site.op)
                if r is None:
                    continue
                if site.host:
                    if r.status != OK:
                        continue
                    lo, hi = r.start_us, r.end_us
                else:
                    lo, hi = c.record.launched_us.get(site.op), c.record.recorded_us.get(site.op)
                rows.append((site.value, inf if lo is None else lo, inf if hi is None else hi))
            rows.sort()
            self.values[s] = [v for v, _, _ in rows]
            self.lower[s] = suffix_min([lo for _, lo, _ in rows])
            self.upper[s] = suffix_min([hi for _, _, hi in rows])

    def at(self, s: str, v: int, upper: bool) -> float | None:
        i = bisect.bisect_left(self.values[s], v)
        table = (self.upper if upper else self.lower)[s]
        if i >= len(table) or table[i] == float("inf"):
            return None
        return table[i]


def bound(c: Ctx, bindable: Bindable, x: Execute, upper: bool) -> float | None:
    """Earliest (`upper` False) or latest (`upper` True) time at which `x` can have become
    ready, from ground truth; None if unknown. Ready means: submitted, and every wait
    reached on the host or bound to a producer event already recorded."""
    r = c.result(x.id)
    if r is None:
        return None
    t = r.submit_us if upper else (r.submit_start_us if r.submit_start_us is not None
                                   else r.submit_us)
    if t is None:
        return None
    unmet = 0
    for s, v in x.wait.items():
        if v <= c.ix.initial[s]:
            continue
        unmet += 1
        w = bindable.at(s, v, upper)
        if w is None:
            return None
        t = max(t, w)
    if upper and unmet > c.scenario.settings.max_wait_events:
        return None  # parked until enough waits are reached on the host timeline
    return t


def _derived_ready_order(c: Ctx, bindable: Bindable, q: str,
                         issue: list[str]) -> Iterator[Violation]:
    """x certainly ready before y could be ready => x launched before y."""
    by_id = {x.id: x for x in c.ix.executes if x.queue == q}
    tol = c.sched_tol
    later_min: tuple[float, str] | None = None  # min upper bound over later launches
    found: list[Violation] = []
    for op_id in reversed(issue):
        x = by_id.get(op_id)
        if x is None:
            continue
        lo = bound(c, bindable, x, upper=False)
        if later_min is not None and lo is not None and later_min[0] + tol < lo:
            other = later_min[1]
            found.append(Violation(
                "fifo", other,
                f"queue {q}: {other} was ready by {fmt_time(later_min[0])} (its waits "
                f"reached or bound to recorded events, and submitted), before {op_id} could "
                f"be ready (not before {fmt_time(lo)}), but the device saw {op_id} launched "
                f"first (launch order {_excerpt(issue, issue.index(op_id))})",
            ))
        hi = bound(c, bindable, x, upper=True)
        if hi is not None and (later_min is None or hi < later_min[0]):
            later_min = (hi, op_id)
    yield from reversed(found)


def _fifo_queue(c: Ctx, bindable: Bindable, q: str) -> Iterator[Violation]:
    ready = c.record.ready_order.get(q, [])
    issue = c.record.issue_order.get(q, [])
    stream = c.record.stream_order.get(q, [])
    completed = c.record.completion_order.get(q, [])
    on_q = {x.id for x in c.ix.executes if x.queue == q}
    for op_id in issue:
        if op_id not in on_q:
            yield Violation("fifo", op_id, f"queue {q}: issued {op_id}, not an execute on {q}")
    yield from _derived_ready_order(c, bindable, q, issue)
    if c.record.faults:  # a ready action whose issue failed before its launch
        launched = set(issue)
        ready = [x for x in ready if x in launched or c.status(x) == OK]
    if issue != ready:
        yield _order_mismatch(q, "launch order seen by the device", issue, ready,
                              "the core's ready order")
    ran = [x for x in issue if (r := c.result(x)) is not None and r.start_us is not None]
    if stream != ran:
        yield _order_mismatch(q, "stream order", stream, ran, "launch order of executes that ran")
    ok = [x for x in issue if c.status(x) == OK]
    if completed != ok:
        yield _order_mismatch(q, "completion order", completed, ok,
                              "launch order of executes that completed OK")
    yield from _same_actor_order(c, q, ready)


def check_fifo(c: Ctx) -> Iterator[Violation]:
    bindable = Bindable(c)
    for q in c.scenario.queues:
        yield from _fifo_queue(c, bindable, q)
