"""Property `deadline`: timed waits keep their deadlines, judged on ground truth.

For a wait with a timeout (0 = poll), its deadline is `start_us + timeout_us` and `tol`
is `record.scheduling_tolerance_us` (how late a platform may wake a thread; 0 in
simulation) plus the clock tolerance:

  * OK only if the condition was reached on ground truth by the deadline + tol (a host
    signal's call start, a producer's device end);
  * DEADLINE_EXCEEDED not before the deadline, and not later than the deadline + tol;
  * DEADLINE_EXCEEDED only if the condition was not yet *host-visible* on ground truth
    by the deadline - tol: host-visible means shown by a host call that had returned —
    a host signal that returned OK, a query that read the value, an ALL wait that
    returned OK;
  * a timed wait whose call was made returns (never PENDING).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from model.scenario.checker.analysis import DEADLINE_EXCEEDED, OK, cond
from model.scenario.checker.views import Ctx, Violation, fmt_pairs, fmt_time
from model.scenario.record import PENDING, OpResult
from model.scenario.types import Query, Signal, Wait, WaitMode


class _HostVisible:
    """Per semaphore: (time a host call returned showing >= value), with prefix maxima."""

    def __init__(self, c: Ctx) -> None:
        events: dict[str, list[tuple[float, int, str]]] = {s: [] for s in c.ix.initial}
        for op in c.ix.all_ops:
            r = c.result(op.id)
            if r is None or r.status != OK or r.end_us is None:
                continue
            if isinstance(op, Signal):
                events[op.semaphore].append((r.end_us, op.value, op.id))
            elif isinstance(op, Query) and r.value is not None:
                events[op.semaphore].append((r.end_us, r.value, op.id))
            elif isinstance(op, Wait) and op.mode is WaitMode.ALL:
                for s, v in op.semaphores.items():
                    events[s].append((r.end_us, v, op.id))
        self.times: dict[str, list[float]] = {}
        self.best: dict[str, list[tuple[int, str]]] = {}
        for s, evs in events.items():
            evs.sort()
            best: list[tuple[int, str]] = []
            for _, v, op_id in evs:
                best.append((v, op_id) if not best or v > best[-1][0] else best[-1])
            self.times[s] = [t for t, _, _ in evs]
            self.best[s] = best

    def at(self, s: str, t: float) -> tuple[int, str] | None:
        """The largest value of `s` host calls had shown by time `t`, and by which op."""
        i = bisect.bisect_right(self.times[s], t)
        return self.best[s][i - 1] if i else None


def _ok(c: Ctx, w: Wait, r: OpResult, deadline: float) -> Iterator[Violation]:
    by = deadline + c.sched_tol + c.clock_tol
    if cond(w, lambda s, v: c.truth.reached_by(s, v, by)):
        return
    late = []
    for s, v in w.semaphores.items():
        first = c.truth.earliest(s, v)
        if not c.truth.reached_by(s, v, by):
            late.append(f"{s} >= {v} " + (f"first reached by {first.describe()}" if first
                                          else "never signalled"))
    yield Violation(
        "deadline", w.id,
        f"wait {w.id} (timeout {w.timeout_us} us, deadline {fmt_time(deadline)}) returned OK "
        f"at {fmt_time(r.end_us)}, but its condition {fmt_pairs(w.semaphores)} first held "
        f"after the deadline: {'; '.join(late)}",
    )


def _exceeded(c: Ctx, w: Wait, r: OpResult, deadline: float,
              seen: _HostVisible) -> Iterator[Violation]:
    assert r.end_us is not None
    if r.end_us < deadline - 1e-6:
        yield Violation("deadline", w.id,
                        f"wait {w.id} returned DEADLINE_EXCEEDED at {fmt_time(r.end_us)}, "
                        f"before its deadline {fmt_time(deadline)}")
    elif r.end_us > deadline + c.sched_tol:
        yield Violation("deadline", w.id,
                        f"wait {w.id} returned DEADLINE_EXCEEDED at {fmt_time(r.end_us)}, "
                        f"{r.end_us - deadline:.3f} us after its deadline "
                        f"{fmt_time(deadline)} (tolerance {c.sched_tol:.3f} us)")
    by = deadline - c.sched_tol
    shown = {s: seen.at(s, by) for s in w.semaphores}
    if cond(w, lambda s, v: (shown[s] or (c.ix.initial[s], ""))[0] >= v
            or c.ix.initial[s] >= v):
        evidence = ", ".join(f"{s} = {sv[0]} shown by {sv[1]}"
                             for s, sv in shown.items() if sv is not None)
        evidence = evidence or "it held from the start (initial values or an empty list)"
        yield Violation(
            "deadline", w.id,
            f"wait {w.id} returned DEADLINE_EXCEEDED (deadline {fmt_time(deadline)}) but its "
            f"condition {fmt_pairs(w.semaphores)} was host-visible before it: {evidence}",
        )


def check_deadline(c: Ctx) -> Iterator[Violation]:
    seen = _HostVisible(c)
    for op in c.ix.all_ops:
        if not isinstance(op, Wait) or op.timeout_us is None:
            continue
        r = c.result(op.id)
        if r is None or r.start_us is None:
            continue
        deadline = r.start_us + op.timeout_us
        if r.status == PENDING:
            yield Violation("deadline", op.id,
                            f"wait {op.id} (timeout {op.timeout_us} us) started at "
                            f"{fmt_time(r.start_us)} and never returned")
        elif r.status == OK:
            yield from _ok(c, op, r, deadline)
        elif r.status == DEADLINE_EXCEEDED and r.end_us is not None:
            yield from _exceeded(c, op, r, deadline, seen)
