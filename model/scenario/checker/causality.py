"""Property `causality`: causal visibility (DESIGN.md), judged on ground truth.

The *causal past* of a signal: for an execute, each of its waits (T, t) and,
recursively, the causal past of the signal that brought T to t; for a host signal,
every value its host thread observed before it (and their pasts). Once a host operation
observes S >= v (a wait returns OK, or a query returns >= v), every (T, t) in the causal
past of the signal that brought S to v must be visible to every host operation that
starts afterwards, on any thread: a query of T returns >= t (or a failure), a wait whose
condition those values satisfy returns OK (or a failure) — never DEADLINE_EXCEEDED,
never left PENDING — and an execute whose submit call starts afterwards with a signal
value at or below a visible value is rejected (OUT_OF_RANGE). A host signal that
returned OK is an observation of its own value.

Which signal "brought S to v" is read from ground truth: the sites with value >= v that
had reached their value when it was needed (`GroundTruth.candidates`). When several
may have, only what is in the past of *every* candidate is required (the meet), so the
rule never demands more than the run guarantees. Pasts are downward closed per
semaphore, so a past is a map semaphore -> smallest value that must be visible, with a
reason for each entry; join is the per-semaphore maximum, meet the minimum over the
semaphores present in both.

"Afterwards" is the host order of the actors' own observations: a host op that started
(start seq) after another returned (end seq); without seqs, by host times.

Cost. The meet over the candidates is answered by `_SiteMeets`, a segment tree per
semaphore over its sites in value order (each node: the min and max `lo` below it and the
meet of the pasts below it, recomputed lazily when a past below it is set), so a closure
costs O(log n) per maximal run of candidates instead of O(candidates): many parked
actions or host waits on one semaphore stay O(n log n) instead of O(n^2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from model.scenario.checker.analysis import DEADLINE_EXCEEDED, OK, OUT_OF_RANGE, cond
from model.scenario.checker.views import (
    Ctx,
    Reached,
    Violation,
    fmt_pairs,
    fmt_time,
    host_key,
    uses_seqs,
)
from model.scenario.record import PENDING, OpResult
from model.scenario.types import Execute, Op, Query, Signal, Wait

# semaphore -> (value that must be visible, why)
Past = dict[str, tuple[int, str]]
_SELF = ""  # the reason of an observation's own value: it saw it


def _observed_text(op: Op, r: OpResult) -> str:
    if isinstance(op, Query):
        return f"{op.semaphore} = {r.value}"
    if isinstance(op, Signal):
        return f"{op.semaphore} = {op.value} (its own signal)"
    assert isinstance(op, Wait)
    return f"{op.mode.value} of {fmt_pairs(op.semaphores)}"


def _join(into: Past, other: Past) -> None:
    for s, (v, why) in other.items():
        if v > into.get(s, (-1, ""))[0]:
            into[s] = (v, why)


def _meet(pasts: list[Past]) -> Past:
    if not pasts:
        return {}
    out = dict(pasts[0])
    for p in pasts[1:]:
        out = {s: min(vw, p[s]) for s, vw in out.items() if s in p}
        if not out:
            break
    return out


def _meet2(a: Past, b: Past) -> Past:
    """The meet of two pasts, in `a`'s key order (as `_meet` of [a, b])."""
    return {s: min(vw, b[s]) for s, vw in a.items() if s in b}


class _SiteMeets:
    """The meet of the pasts of the sites j >= i (value order) with lo_j <= t, for one
    semaphore's sites: a segment tree (see the module docstring). A site whose past is
    not set yet counts as the empty past, as `done.get(op, {})` does."""

    def __init__(self, sites: list[Reached]) -> None:
        size = 1
        while size < len(sites):
            size *= 2
        self.size = size
        self.min_lo = [math.inf] * (2 * size)
        self.max_lo = [-math.inf] * (2 * size)
        empty: Past = {}
        self.meet: list[Past] = [empty] * (2 * size)
        self.dirty = [False] * (2 * size)
        for j, r in enumerate(sites):
            self.min_lo[size + j] = self.max_lo[size + j] = r.lo
        for k in range(size - 1, 0, -1):
            self.min_lo[k] = min(self.min_lo[2 * k], self.min_lo[2 * k + 1])
            self.max_lo[k] = max(self.max_lo[2 * k], self.max_lo[2 * k + 1])

    def set(self, j: int, past: Past) -> None:
        k = self.size + j
        self.meet[k] = past
        k //= 2
        while k and not self.dirty[k]:
            self.dirty[k] = True
            k //= 2

    def _node(self, k: int) -> Past:
        if self.dirty[k]:
            self.dirty[k] = False
            left, right = self._node(2 * k), self._node(2 * k + 1)
            if self.min_lo[2 * k + 1] == math.inf:  # only padding on the right
                self.meet[k] = left
            else:
                self.meet[k] = _meet2(left, right) if left and right else {}
        return self.meet[k]

    def query(self, i: int, t: float) -> Past | None:
        """The meet (a fresh dict), or None if no site qualifies."""
        acc: Past | None = None
        stack = [(1, 0, self.size)]
        while stack:
            k, lo, hi = stack.pop()
            if hi <= i or self.min_lo[k] > t:
                continue
            if lo >= i and self.max_lo[k] <= t:
                node = self._node(k)
                acc = dict(node) if acc is None else _meet2(acc, node)
                if not acc:
                    return acc
                continue
            mid = (lo + hi) // 2
            stack.append((2 * k + 1, mid, hi))  # right after left: left to right
            stack.append((2 * k, lo, mid))
        return acc


@dataclass(slots=True)
class _Observation:
    op: str
    actor: str
    end_key: float
    end_us: float
    past: Past


class _Pasts:
    """Causal pasts of the signal sites that happened, computed in order of the time
    each site began (a site's past only involves sites reached before it began)."""

    def __init__(self, c: Ctx) -> None:
        self.c = c
        self.done: dict[str, Past] = {}
        self._observed: dict[str, Past | None] = {}
        # Per actor: ops before this index are joined into the past (host signals of one
        # actor are processed in program order, which is their time order).
        self._actor_cursor: dict[str, tuple[int, Past]] = {}
        self._trees = {s: _SiteMeets(sites) for s, sites in c.truth.sites.items()}
        where: dict[str, list[tuple[str, int]]] = {}
        for s, reached in c.truth.sites.items():
            for j, site in enumerate(reached):
                where.setdefault(site.op, []).append((s, j))
        sites: list[tuple[float, str, Op]] = []
        index = c.scenario.op_by_id()
        for op_id in c.truth.by_op:
            r = c.result(op_id)
            op = index[op_id][1]
            if r is not None and r.start_us is not None:
                sites.append((r.start_us, op_id, op))
        for _, op_id, op in sorted(sites, key=lambda t: (t[0], t[1])):
            past = self._site_past(op)
            self.done[op_id] = past
            for s, j in where.get(op_id, ()):
                self._trees[s].set(j, past)

    def closure(self, s: str, v: int, by: float, why: str) -> Past:
        """(S, v) itself and what must be in the past of whichever signal brought S to v
        by time `by`."""
        if v <= self.c.ix.initial[s]:
            return {}
        first = self.c.truth.first_at_or_above(s, v)
        out = self._trees[s].query(first, by + self.c.clock_tol) or {}
        _join(out, {s: (v, why)})
        return out

    def _site_past(self, op: Op) -> Past:
        c = self.c
        r = c.result(op.id)
        assert r is not None and r.start_us is not None
        past: Past = {}
        if isinstance(op, Execute):
            for s, v in op.wait.items():
                _join(past, self.closure(s, v, r.start_us,
                                         f"execute {op.id} waited for {s} >= {v}"))
        elif isinstance(op, Signal):
            actor, index = c.ix.position[op.id]
            done, joined = self._actor_cursor.get(actor, (0, {}))
            for earlier in c.scenario.actors[actor][done:index]:
                obs = self.observation(earlier)
                if obs is not None:
                    _join(joined, obs)
            self._actor_cursor[actor] = (max(done, index), joined)
            _join(past, joined)
        return past

    def observation(self, op: Op) -> Past | None:
        """What a host op observed (with its causal past), None if it observed nothing."""
        if op.id not in self._observed:
            self._observed[op.id] = self._observation(op)
        return self._observed[op.id]

    def _observation(self, op: Op) -> Past | None:
        r = self.c.result(op.id)
        if r is None or r.status != OK or r.end_us is None:
            return None
        end = r.end_us
        if isinstance(op, Query) and r.value is not None:
            return self.closure(op.semaphore, r.value, end, _SELF)
        if isinstance(op, Signal):
            return {op.semaphore: (op.value, _SELF)}
        if isinstance(op, Wait) and op.semaphores:
            pasts = [self.closure(s, v, end, _SELF)
                     for s, v in op.semaphores.items()]
            if op.mode.value == "any":
                return _meet(pasts)  # one of the pairs was observed, not known which
            out: Past = {}
            for p in pasts:
                _join(out, p)
            return out
        return None


def _judge(op: Op, r: OpResult, need: Past) -> str | None:
    def visible(s: str, v: int) -> bool:
        return need.get(s, (-1, ""))[0] >= v

    if isinstance(op, Execute):
        if r.submit_status == OUT_OF_RANGE:
            return None
        stale = [(s, v) for s, v in op.signal.items() if visible(s, v)]
        if not stale:
            return None
        s, v = stale[0]
        return (f"execute {op.id}'s submit (started {fmt_time(r.submit_start_us)}) was "
                f"accepted with signal {s} = {v}, but {s} >= {need[s][0]} was already "
                f"visible: {need[s][1]}; it must be rejected with OUT_OF_RANGE")
    if isinstance(op, Query):
        if r.status == OK and r.value is not None and op.semaphore in need:
            t, why = need[op.semaphore]
            if r.value < t:
                return (f"query {op.id} (started {fmt_time(r.start_us)}) read "
                        f"{op.semaphore} = {r.value}, but {op.semaphore} >= {t} had to be "
                        f"visible: {why}")
        return None
    if not isinstance(op, Wait) or r.status not in (DEADLINE_EXCEEDED, PENDING):
        return None
    if not op.semaphores or not cond(op, visible):
        return None
    reasons = "; ".join(need[s][1] for s, v in op.semaphores.items() if visible(s, v))
    return (f"wait {op.id} ({op.mode.value} of {fmt_pairs(op.semaphores)}, started "
            f"{fmt_time(r.start_us)}) ended {r.status}, but its condition was already "
            f"visible: {reasons}")


def _host_ops(c: Ctx) -> Iterable[tuple[Op, OpResult]]:
    """Host ops that observe (queries, waits, signals) or are judged at their start
    (queries, waits, execute submits)."""
    for op in c.ix.all_ops:
        r = c.result(op.id)
        if r is None:
            continue
        started = r.submit_start_us if isinstance(op, Execute) else r.start_us
        if isinstance(op, (Query, Wait, Signal, Execute)) and started is not None:
            yield op, r


def check_causality(c: Ctx) -> Iterator[Violation]:
    pasts = _Pasts(c)
    host = list(_host_ops(c))
    use_seq = uses_seqs(host)
    observations: list[_Observation] = []
    for op, r in host:
        past = pasts.observation(op)
        key = host_key(op, r, False, use_seq)
        if past and key is not None and r.end_us is not None:
            actor = c.ix.position[op.id][0]
            seen = _observed_text(op, r)
            told = {s: (v, f"{op.id} (actor {actor}) observed {seen} by "
                           f"{fmt_time(r.end_us)}" + ("" if why == _SELF else
                                                      f", whose causal past has it: {why}"))
                    for s, (v, why) in past.items()}
            observations.append(_Observation(op.id, actor, key, r.end_us, told))
    observations.sort(key=lambda o: o.end_key)
    # Sweep the host ops in start order, joining every observation that ended before.
    ops = sorted(((k, op, r) for op, r in host
                  if (k := host_key(op, r, True, use_seq)) is not None), key=lambda t: t[0])
    need: Past = {}
    i = 0
    for start, op, r in ops:
        while i < len(observations) and observations[i].end_key < start:
            _join(need, observations[i].past)
            i += 1
        problem = _judge(op, r, need)
        if problem is not None:
            yield Violation("causality", op.id, problem)


__all__ = ["check_causality"]
