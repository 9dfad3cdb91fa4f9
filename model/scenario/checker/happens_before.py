"""Property `happens-before`: device work starts only after each of its waits is reached.

Judged on ground truth only: the device start of the execute's work against the time
the wait's value was reached (`GroundTruth`: a host signal's call start, a producer's
device end). Hardware records may also carry the device's observation matrix
(`observed_before`: per execute, the executes whose work was done when its work began);
when present, it must also show a producer done (or a host signal started before the
work began).

Faults (docs/faults.md): a stream in a work fault's error state skips later work and
completes its records with the error, which releases a stream waiting on them; the
waiting stream's work then runs without its producer and fails (one-shot propagation).
A wait one of whose producers the device logged as skipped is therefore not judged for
an execute that did not complete OK.
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.views import Ctx, Violation, fmt_time
from model.scenario.types import Execute


def _timed_problem(c: Ctx, x: Execute, start: float, s: str, v: int) -> str | None:
    first = c.truth.earliest(s, v)
    if first is None:
        return (f"execute {x.id}'s work started at {fmt_time(start)} (device) but nothing "
                f"ever signalled {s} >= {v}")
    tol = c.clock_tol if first.host else 0.0  # device end vs device start: one clock
    if first.lo > start + tol + 1e-6:
        return (f"execute {x.id}'s work started at {fmt_time(start)} (device), before "
                f"{s} reached {v}: the first signal of {s} >= {v} was {first.describe()}")
    return None


def _observed_problem(c: Ctx, x: Execute, start: float, s: str, v: int,
                      seen: set[str]) -> str | None:
    first_host = c.truth.earliest_host(s, v)
    if first_host is not None and first_host <= start + c.clock_tol:
        return None
    executes = c.ix.execute_by_id
    if any(x_seen in executes and executes[x_seen].signal.get(s, -1) >= v for x_seen in seen):
        return None
    producers = [p.op for p in c.ix.sites[s] if not p.host and p.value >= v]
    done = ", ".join(sorted(seen)) or "none"
    return (f"execute {x.id}'s work began before any signal of {s} >= {v} was done, as the "
            f"device observed it (producers {', '.join(producers) or 'none'}; done when it "
            f"began: {done})")


def check_happens_before(c: Ctx) -> Iterator[Violation]:
    observed = c.record.observed_before
    skipped = {x for hit in c.record.faults if hit.kind == "skipped" for x in hit.victims}
    executes = c.ix.execute_by_id
    for x in c.ix.executes:
        r = c.result(x.id)
        if r is None or r.start_us is None:
            continue
        for s, v in x.wait.items():
            if v <= c.ix.initial[s]:
                continue
            if r.status != "OK" and any(executes[p].signal.get(s, -1) >= v
                                        for p in skipped if p in executes):
                continue  # released by a skipped producer's failed record (docstring)
            problem = _timed_problem(c, x, r.start_us, s, v)
            if problem is None and observed is not None and x.id in observed:
                problem = _observed_problem(c, x, r.start_us, s, v, observed[x.id])
            if problem is not None:
                yield Violation("happens-before", x.id, problem)
