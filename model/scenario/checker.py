"""The checker: decide whether a `RunRecord` is a correct run of its `Scenario`.

`check(scenario, record)` returns a list of `Violation`s (empty = correct). It first
computes from the scenario ALONE what may and what must happen (`analyze`, least
fixpoints over the ops), then compares the record with that and with the record's own
logs. Properties, in the order they are reported (docs/checker.md defines each one and
the fixpoint precisely):

  happens-before       device work starts only after every wait is reached (ground truth)
  liveness             each op ends with a status the scenario allows (`expected_outcomes`)
  monotonic            host-visible values and successive queries never decrease
  linearizable-wait    wait/query results agree with the host-visible value log
  failure-propagation  failures flow downstream, have a cause, and carry allowed codes
  conservation         pools balanced at teardown, no problem reported, no action lost
  host-callback-api    no device call from host-function context
  fifo                 per queue: issue order = ready order, stream order = issue order

Invariants:
  * The analysis is sound, not complete: "must" facts are under-approximations and "may"
    facts over-approximations, so an allowed-status set may be larger than what a given
    core can produce, never smaller. A violation is therefore always a real defect of the
    run (or of the record), never an artefact of the analysis.
  * `check` is deterministic: violations come in property order, then scenario order.
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from model.core.status import StatusCode
from model.scenario.record import PENDING, OpResult, PoolReport, RunRecord, ValueChange
from model.scenario.types import Execute, Fail, Op, Query, Scenario, Signal, Wait, WaitMode

__all__ = [
    "PROPERTIES",
    "Analysis",
    "Violation",
    "allowed_statuses",
    "analyze",
    "check",
    "expected_outcomes",
]

OK = StatusCode.OK.name
CANCELLED = StatusCode.CANCELLED.name
DEADLINE_EXCEEDED = StatusCode.DEADLINE_EXCEEDED.name
OUT_OF_RANGE = StatusCode.OUT_OF_RANGE.name
EPS_US = 1e-6  # tolerance when comparing times (floating-point simulated clocks)

PROPERTIES = (
    "crash",
    "happens-before",
    "liveness",
    "monotonic",
    "linearizable-wait",
    "failure-propagation",
    "conservation",
    "host-callback-api",
    "fifo",
)


@dataclass(frozen=True, slots=True)
class Violation:
    property: str  # one of PROPERTIES
    op: str | None  # the op id concerned, None for a semaphore/pool/queue-level problem
    message: str


# =========================================================================== analysis


@dataclass(frozen=True, slots=True)
class _Site:
    """A place where a semaphore is signalled: a host signal or an execute's signal."""

    op: str
    value: int
    host: bool


class _Index:
    """Scenario look-ups shared by the analysis and the checks."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.initial = scenario.semaphores
        self.all_ops = [op for _, _, op in scenario.ops()]
        self.position = {op.id: (a, i) for a, i, op in scenario.ops()}
        self.executes = [op for op in self.all_ops if isinstance(op, Execute)]
        self.fails = [op for op in self.all_ops if isinstance(op, Fail)]
        self.sites: dict[str, list[_Site]] = {s: [] for s in scenario.semaphores}
        self.signallers: dict[str, list[Execute]] = {s: [] for s in scenario.semaphores}
        for op in self.all_ops:
            if isinstance(op, Signal):
                self.sites[op.semaphore].append(_Site(op.id, op.value, True))
            elif isinstance(op, Execute):
                for s, v in op.signal.items():
                    self.sites[s].append(_Site(op.id, v, False))
                    self.signallers[s].append(op)


def _forever(op: Op) -> bool:
    return isinstance(op, Wait) and op.timeout_us is None


def _cond(w: Wait, holds: Callable[[str, int], bool]) -> bool:
    test = all if w.mode is WaitMode.ALL else any
    return test(holds(s, v) for s, v in w.semaphores.items())


@dataclass(slots=True)
class _Waiter:
    """An execute or a wait forever, and how far its pairs are along."""

    op: Execute | Wait
    pairs: dict[str, int]
    any_mode: bool
    remaining: int = 0  # pairs not yet satisfied (reached; for must: resolved)
    hit: bool = False  # some pair satisfied
    woken: bool = False  # may: a semaphore of it failed; must: stuck on a failure
    returned: bool = False  # waits: the call returned

    def cond(self) -> bool:
        return self.hit if self.any_mode else self.remaining == 0


@dataclass(slots=True)
class _Facts:
    """One fixpoint's result; every set only grew while it was computed."""

    happen: set[str] = field(default_factory=set)  # host calls made (incl. submits)
    ok: set[str] = field(default_factory=set)  # may: executes OK; must: executes settle
    xfail: set[str] = field(default_factory=set)  # executes that fail
    sfail: set[str] = field(default_factory=set)  # semaphores that fail
    returned: set[str] = field(default_factory=set)  # waits forever that return
    value: dict[str, int] = field(default_factory=dict)  # per semaphore: max reached


class _Engine:
    """Least fixpoint of the may rules (`may` is None) or of the must rules (given the may
    facts), computed event by event: each pair is satisfied once (a heap per semaphore
    ordered by value), each semaphore fails once, each op happens once — so the cost is
    O(pairs log pairs + ops), not a rescan per round."""

    def __init__(self, ix: _Index, may: _Facts | None = None) -> None:
        self.ix = ix
        self.may = may
        self.rejectable = _rejectable(ix, may) if may is not None else frozenset()
        self.f = _Facts(value=dict(ix.initial))
        self.waiters: dict[str, _Waiter] = {}
        self.heaps: dict[str, list[tuple[int, str]]] = {s: [] for s in ix.initial}
        self.on_sem: dict[str, list[tuple[str, int]]] = {s: [] for s in ix.initial}
        self.todo: deque[tuple[str, int] | str] = deque()
        for op in ix.all_ops:
            if isinstance(op, Execute):
                self._add_waiter(_Waiter(op, op.wait, any_mode=False))
            elif isinstance(op, Wait) and _forever(op):
                self._add_waiter(_Waiter(op, op.semaphores, op.mode is WaitMode.ANY))

    def _add_waiter(self, w: _Waiter) -> None:
        self.waiters[w.op.id] = w
        for s, v in w.pairs.items():
            self.on_sem[s].append((w.op.id, v))
            if v <= self.ix.initial[s]:
                w.hit = True
            else:
                w.remaining += 1
                heapq.heappush(self.heaps[s], (v, w.op.id))

    def run(self) -> _Facts:
        self.todo.extend((actor, 0) for actor in self.ix.scenario.actors)
        while self.todo:
            item = self.todo.popleft()
            if isinstance(item, str):
                self._update(self.waiters[item])
            else:
                self._happen(*item)
        return self.f

    def _happen(self, actor: str, i: int) -> None:
        ops = self.ix.scenario.actors[actor]
        if i >= len(ops) or ops[i].id in self.f.happen:
            return
        op = ops[i]
        self.f.happen.add(op.id)
        if isinstance(op, Signal):
            self._raise(op.semaphore, op.value)
        elif isinstance(op, Fail):
            self._fail(op.semaphore)
        if op.id in self.waiters:
            self._update(self.waiters[op.id])
        if not _forever(op):
            self.todo.append((actor, i + 1))

    def _raise(self, s: str, v: int) -> None:
        """A signal of S to v completed (may) / resolves pairs up to v (must)."""
        if v <= self.f.value[s]:
            return
        self.f.value[s] = v
        heap = self.heaps[s]
        while heap and heap[0][0] <= v:
            self._satisfy(heapq.heappop(heap)[1])

    def _satisfy(self, op_id: str) -> None:
        w = self.waiters[op_id]
        w.remaining -= 1
        w.hit = True
        self.todo.append(op_id)

    def _fail(self, s: str) -> None:
        if s in self.f.sfail:
            return
        self.f.sfail.add(s)
        if self.may is None:  # may: every waiter on S may be woken with the failure
            stuck = self.on_sem[s]
        else:  # must: a failure resolves every pair on S, and sticks unreachable ones
            while self.heaps[s]:
                self._satisfy(heapq.heappop(self.heaps[s])[1])
            stuck = [(w, v) for w, v in self.on_sem[s] if v > self.may.value[s]]
        for op_id, _ in stuck:
            self.waiters[op_id].woken = True
            self.todo.append(op_id)

    def _update(self, w: _Waiter) -> None:
        op = w.op
        if op.id not in self.f.happen:
            return
        if isinstance(op, Wait):
            if (w.cond() or w.woken) and not w.returned:
                w.returned = True
                self.f.returned.add(op.id)
                actor, i = self.ix.position[op.id]
                self.todo.append((actor, i + 1))
        elif self.may is None:
            self._update_may(op, w)
        else:
            self._update_must(op, w)

    def _update_may(self, x: Execute, w: _Waiter) -> None:
        if w.cond() and x.id not in self.f.ok:
            self.f.ok.add(x.id)
            for s, v in x.signal.items():
                self._raise(s, v)
        if w.woken and x.id not in self.f.xfail:
            self.f.xfail.add(x.id)
            for s in x.signal:
                self._fail(s)

    def _update_must(self, x: Execute, w: _Waiter) -> None:
        produces = x.id not in self.rejectable  # a rejected submission does nothing
        if w.woken and x.id not in self.f.xfail:
            self.f.xfail.add(x.id)
            for s in x.signal if produces else ():
                self._fail(s)
        if (w.cond() or w.woken) and x.id not in self.f.ok:
            self.f.ok.add(x.id)
            for s, v in x.signal.items() if produces else ():
                self._raise(s, v)


def _rejectable(ix: _Index, may: _Facts) -> frozenset[str]:
    """Executes whose submission may be rejected with OUT_OF_RANGE: one of their signal
    semaphores may already be past the value (a larger signal of it may complete)."""
    return frozenset(
        x.id
        for x in ix.executes
        if x.id in may.happen and any(may.value[s] > w for s, w in x.signal.items())
    )


def _failure_codes(
    ix: _Index, may: _Facts
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Codes that can reach each semaphore and each execute (worklist least fixpoint)."""
    sem: dict[str, set[str]] = {s: set() for s in ix.initial}
    for op in ix.fails:
        if op.id in may.happen:
            sem[op.semaphore].add(op.code)
    ex: dict[str, set[str]] = {x.id: set() for x in ix.executes}
    waiting: dict[str, list[Execute]] = {s: [] for s in ix.initial}
    for x in ix.executes:
        for s in x.wait if x.id in may.xfail else ():
            waiting[s].append(x)
    work = deque(s for s, codes in sem.items() if codes)
    while work:
        s = work.popleft()
        for x in waiting[s]:
            new = sem[s] - ex[x.id]
            ex[x.id] |= new
            for t in x.signal if new else ():
                if not new <= sem[t]:
                    sem[t] |= new
                    work.append(t)
    return (
        {k: frozenset(v) for k, v in sem.items()},
        {k: frozenset(v) for k, v in ex.items()},
    )


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the scenario alone allows (see docs/checker.md, "The fixpoint").

    may_happen/must_happen: op ids whose host call is made in some/every run (an
    execute's entry is its submit). may_ok: executes that may complete OK; may_fail:
    executes that may fail; may_reject: executes whose submission may be rejected with
    OUT_OF_RANGE (a signal value already overtaken); must_settle: executes that complete
    OK, fail or are rejected in every run; must_fail: executes that fail in every run.
    may_fail_sem/must_fail_sem: semaphores. must_return: host ops made and returning in
    every run. may_value: per semaphore, the largest value it may reach.
    sem_codes/op_codes: failure codes that can reach a semaphore / an execute.
    """

    scenario: Scenario
    may_happen: frozenset[str]
    must_happen: frozenset[str]
    may_ok: frozenset[str]
    may_fail: frozenset[str]
    may_reject: frozenset[str]
    must_settle: frozenset[str]
    must_fail: frozenset[str]
    may_fail_sem: frozenset[str]
    must_fail_sem: frozenset[str]
    must_return: frozenset[str]
    may_value: dict[str, int]
    sem_codes: dict[str, frozenset[str]]
    op_codes: dict[str, frozenset[str]]

    def may_reach(self, semaphore: str, value: int) -> bool:
        """Whether `semaphore` may reach `value` in some run."""
        return self.may_value[semaphore] >= value


def analyze(scenario: Scenario) -> Analysis:
    """Run the may and must fixpoints over the scenario."""
    return _analyze(_Index(scenario))


def _analyze(ix: _Index) -> Analysis:
    scenario = ix.scenario
    may = _Engine(ix).run()
    must_engine = _Engine(ix, may)
    must = must_engine.run()
    sem_codes, op_codes = _failure_codes(ix, may)
    returning = {
        op.id
        for op in ix.all_ops
        if op.id in must.happen and (not _forever(op) or op.id in must.returned)
    }
    return Analysis(
        scenario=scenario,
        may_happen=frozenset(may.happen),
        must_happen=frozenset(must.happen),
        may_ok=frozenset(may.ok),
        may_fail=frozenset(may.xfail),
        may_reject=must_engine.rejectable,
        must_settle=frozenset(must.ok),
        must_fail=frozenset(must.xfail - must_engine.rejectable),
        may_fail_sem=frozenset(may.sfail),
        must_fail_sem=frozenset(must.sfail),
        must_return=frozenset(returning),
        may_value=dict(may.value),
        sem_codes=sem_codes,
        op_codes=op_codes,
    )


# --------------------------------------------------------------------------- allowed sets


def _allowed_execute(a: Analysis, x: Execute) -> set[str]:
    out: set[str] = set()
    if x.id in a.may_ok:
        out.add(OK)
    if x.id in a.may_fail:
        out |= a.op_codes[x.id]
    if x.id in a.may_reject:
        out.add(OUT_OF_RANGE)
    if x.id not in a.must_settle:
        out.add(PENDING)
    return out


def _codes_of(a: Analysis, semaphores: Iterable[str]) -> set[str]:
    return set().union(*(a.sem_codes[s] for s in semaphores if s in a.may_fail_sem))


def _allowed_wait(a: Analysis, w: Wait) -> set[str]:
    out = _codes_of(a, w.semaphores)
    if _cond(w, a.may_reach):
        out.add(OK)
    initially = _cond(w, lambda s, v: a.scenario.semaphores[s] >= v)
    if w.timeout_us is not None and not initially:
        out.add(DEADLINE_EXCEEDED)
    if w.id not in a.must_return:
        out.add(PENDING)
    return out


def _allowed_signal(a: Analysis, op: Signal) -> set[str]:
    out = {OK} | _codes_of(a, [op.semaphore])
    if a.may_value[op.semaphore] > op.value:  # a larger signal may get there first
        out.add(OUT_OF_RANGE)
    return out


def _allowed_host(a: Analysis, op: Op) -> set[str]:
    if isinstance(op, Wait):
        return _allowed_wait(a, op)
    if isinstance(op, Signal):
        out = _allowed_signal(a, op)
    elif isinstance(op, Query):
        out = {OK} | _codes_of(a, [op.semaphore])
    else:  # fail, sleep
        out = {OK}
    if op.id not in a.must_happen:
        out.add(PENDING)
    return out


def allowed_statuses(a: Analysis, op: Op) -> frozenset[str]:
    """The statuses `op` may end with (scenario only; no teardown cancellation)."""
    if op.id not in a.may_happen:
        return frozenset({PENDING})
    if isinstance(op, Execute):
        return frozenset(_allowed_execute(a, op))
    return frozenset(_allowed_host(a, op))


def expected_outcomes(scenario: Scenario) -> dict[str, frozenset[str]]:
    """Allowed final statuses of every op (StatusCode names or PENDING), by op id."""
    a = analyze(scenario)
    return {op.id: allowed_statuses(a, op) for _, _, op in scenario.ops()}


# =========================================================================== record views


class _Log:
    """The host-visible value log, indexed per semaphore in seq order."""

    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.initial = scenario.semaphores
        self.by_sem: dict[str, list[ValueChange]] = {}
        for ch in sorted(record.value_log, key=lambda c: c.seq):
            self.by_sem.setdefault(ch.semaphore, []).append(ch)
        self.oks = {s: [c for c in chs if c.status == OK] for s, chs in self.by_sem.items()}
        self.ok_seqs = {s: [c.seq for c in chs] for s, chs in self.oks.items()}
        self.failures = {
            s: f for s, chs in self.by_sem.items() if (f := _first_failure(chs)) is not None
        }

    def value_at(self, s: str, seq: int, keep: Callable[[ValueChange], bool] | None = None) -> int:
        """Value of `s` seen just before `seq`: the latest OK change with a smaller seq
        (that `keep` accepts), else the initial value."""
        oks = self.oks.get(s, [])
        i = bisect.bisect_left(self.ok_seqs.get(s, []), seq)
        if keep is None:
            return oks[i - 1].value if i else self.initial[s]
        kept = (c.value for c in reversed(oks[:i]) if keep(c))
        return next(kept, self.initial[s])

    def failure_at(self, s: str, seq: int) -> ValueChange | None:
        """The first failure of `s` with seq < `seq`, if any."""
        f = self.failures.get(s)
        return f if f is not None and f.seq < seq else None

    def first_failure(self, s: str) -> ValueChange | None:
        return self.failures.get(s)


def _first_failure(changes: list[ValueChange]) -> ValueChange | None:
    return next((c for c in changes if c.status != OK), None)


class _ReachTimes:
    """Ground truth: earliest time a semaphore reached >= v, from the ops that signal it.

    A host signal that returned OK counts from its call's start (the value changes
    inside the call; a core may issue released work before the call returns); an
    execute's signal counts from the end of its device work. Per semaphore: values
    ascending with the suffix minimum of their times, so a query is one bisection.
    """

    def __init__(self, ix: _Index, record: RunRecord, host_only: bool) -> None:
        self.table: dict[str, tuple[list[int], list[float]]] = {}
        for s, sites in ix.sites.items():
            entries = sorted(
                (site.value, t)
                for site in sites
                if (t := _site_time(record.ops.get(site.op), site, host_only)) is not None
            )
            suffix: list[float] = []
            for _, t in reversed(entries):
                suffix.append(min(t, suffix[-1]) if suffix else t)
            self.table[s] = ([v for v, _ in entries], suffix[::-1])

    def at(self, s: str, v: int) -> float | None:
        values, earliest = self.table[s]
        i = bisect.bisect_left(values, v)
        return earliest[i] if i < len(values) else None


def _site_time(r: OpResult | None, site: _Site, host_only: bool) -> float | None:
    if r is None:
        return None
    if site.host:
        return r.start_us if r.status == OK else None
    return r.end_us if not host_only and _ran(r) else None


def _status(record: RunRecord, op_id: str) -> str:
    r = record.ops.get(op_id)
    return r.status if r is not None else PENDING


def _failed(status: str) -> bool:
    return status not in (OK, PENDING)


def _ran(r: OpResult | None) -> bool:
    return r is not None and r.start_us is not None and r.end_us is not None


@dataclass(slots=True)
class _Ctx:
    scenario: Scenario
    record: RunRecord
    ix: _Index
    analysis: Analysis
    log: _Log
    teardown: set[str]  # record.cancelled_at_teardown

    def result(self, op_id: str) -> OpResult | None:
        return self.record.ops.get(op_id)


_Check = Callable[[_Ctx], Iterator[Violation]]


# =========================================================================== happens-before


def _observed_problem(
    c: _Ctx, x: Execute, start: float, pair: tuple[str, int], host: _ReachTimes, seen: set[str]
) -> str | None:
    """Hardware records: producers must be in the device's observation of x's start."""
    s, v = pair
    t = host.at(s, v)
    if t is not None and t <= start + EPS_US:
        return None
    producers = [p.op for p in c.ix.sites[s] if not p.host and p.value >= v]
    if any(p in seen for p in producers):
        return None
    done = ", ".join(sorted(seen)) or "none"
    return (
        f"execute {x.id}'s work began before any signal of {s} >= {v} was done "
        f"(producers {', '.join(producers) or 'none'}; done when it began: {done})"
    )


def _timed_problem(
    x: Execute, start: float, pair: tuple[str, int], reach: _ReachTimes
) -> str | None:
    s, v = pair
    t = reach.at(s, v)
    if t is None:
        return f"execute {x.id} started at {start:.3f} us but nothing ever signalled {s} >= {v}"
    if t > start + EPS_US:
        return f"execute {x.id} started at {start:.3f} us, before {s} reached {v} at {t:.3f} us"
    return None


def _happens_before(c: _Ctx) -> Iterator[Violation]:
    observed: dict[str, set[str]] | None = getattr(c.record, "observed_before", None)
    reach = _ReachTimes(c.ix, c.record, host_only=observed is not None)
    for x in c.ix.executes:
        r = c.result(x.id)
        if r is None or r.start_us is None:
            continue
        for pair in x.wait.items():
            if pair[1] <= c.ix.initial[pair[0]]:
                continue
            if observed is None:
                problem = _timed_problem(x, r.start_us, pair, reach)
            else:
                seen = observed.get(x.id, set())
                problem = _observed_problem(c, x, r.start_us, pair, reach, seen)
            if problem is not None:
                yield Violation("happens-before", x.id, problem)


# =========================================================================== liveness


def _teardown_semaphores(c: _Ctx) -> set[str]:
    """Semaphores signalled by actions that teardown cancelled."""
    return {s for x in c.ix.executes if x.id in c.teardown for s in x.signal}


def _op_semaphores(op: Op) -> set[str]:
    if isinstance(op, Wait):
        return set(op.semaphores)
    return {op.semaphore} if isinstance(op, (Signal, Query, Fail)) else set()


def _effective_status(c: _Ctx, op: Op, status: str, teardown: set[str]) -> str:
    """CANCELLED caused by teardown at the end of the run counts as PENDING: on a
    cancelled action, or on a host op on a semaphore such an action signals."""
    if status != CANCELLED:
        return status
    if op.id in c.teardown:
        return PENDING
    if not isinstance(op, Execute) and _op_semaphores(op) & teardown:
        return PENDING
    return status


def _liveness(c: _Ctx) -> Iterator[Violation]:
    teardown = _teardown_semaphores(c)
    for op in c.ix.all_ops:
        allowed = allowed_statuses(c.analysis, op)
        status = _status(c.record, op.id)
        if status in allowed or _effective_status(c, op, status, teardown) in allowed:
            continue
        extra = " (CANCELLED at teardown counts as PENDING)" if status == CANCELLED else ""
        yield Violation(
            "liveness",
            op.id,
            f"{op.op} {op.id} ended {status}; allowed: {', '.join(sorted(allowed))}{extra}",
        )


# =========================================================================== monotonic


def _monotonic_log(c: _Ctx) -> Iterator[Violation]:
    for s, changes in c.log.by_sem.items():
        last = c.log.initial.get(s, 0)
        failed: ValueChange | None = None
        for ch in changes:
            if ch.status != OK:
                failed = failed or ch
                continue
            if failed is not None:
                yield Violation(
                    "monotonic",
                    None,
                    f"semaphore {s} advanced to {ch.value} (seq {ch.seq}) after it failed "
                    f"with {failed.status} (seq {failed.seq})",
                )
            if ch.value < last:
                yield Violation(
                    "monotonic",
                    None,
                    f"semaphore {s} went from {last} down to {ch.value} (seq {ch.seq})",
                )
            last = max(last, ch.value)


def _monotonic_queries(c: _Ctx) -> Iterator[Violation]:
    for actor, ops in c.scenario.actors.items():
        seen: dict[str, tuple[int, str]] = {}
        for op in ops:
            r = c.result(op.id)
            if not isinstance(op, Query) or r is None or r.status != OK or r.value is None:
                continue
            s = op.semaphore
            if s in seen and r.value < seen[s][0]:
                yield Violation(
                    "monotonic",
                    op.id,
                    f"actor {actor}: query {op.id} read {s} = {r.value} after query "
                    f"{seen[s][1]} read {seen[s][0]}",
                )
            seen[s] = (max(r.value, seen.get(s, (r.value, ""))[0]), op.id)


def _monotonic(c: _Ctx) -> Iterator[Violation]:
    yield from _monotonic_log(c)
    yield from _monotonic_queries(c)


# =========================================================================== linearizable-wait


def _seen_values(
    c: _Ctx, w: Wait, seq: int, keep: Callable[[ValueChange], bool] | None = None
) -> str:
    return ", ".join(f"{s}={c.log.value_at(s, seq, keep)}" for s in w.semaphores)


def _wait_ok(c: _Ctx, w: Wait, r: OpResult) -> Iterator[Violation]:
    if r.end_seq is None:
        yield Violation("linearizable-wait", w.id, f"wait {w.id} returned OK without end_seq")
        return
    end = r.end_seq
    if not _cond(w, lambda s, v: c.log.value_at(s, end) >= v):
        yield Violation(
            "linearizable-wait",
            w.id,
            f"wait {w.id} ({w.mode.value} of {_fmt(w.semaphores)}) returned OK but the "
            f"host-visible values at its return (seq {end}) were {_seen_values(c, w, end)}",
        )


def _fmt(values: dict[str, int]) -> str:
    return ", ".join(f"{s}>={v}" for s, v in values.items())


def _wait_deadline(c: _Ctx, w: Wait, r: OpResult) -> Iterator[Violation]:
    if w.timeout_us is None:
        return  # liveness reports it: a wait without timeout never times out
    if r.start_us is None or r.end_us is None or r.start_seq is None or r.end_seq is None:
        yield Violation(
            "linearizable-wait", w.id, f"wait {w.id} timed out without start/end times and seqs"
        )
        return
    deadline = r.start_us + w.timeout_us
    if r.end_us < deadline - EPS_US:
        yield Violation(
            "linearizable-wait",
            w.id,
            f"wait {w.id} returned DEADLINE_EXCEEDED at {r.end_us:.3f} us, before its "
            f"deadline {deadline:.3f} us",
        )
    start = r.start_seq

    def before_deadline(ch: ValueChange) -> bool:
        return ch.seq < start or ch.time_us < deadline - EPS_US

    if _cond(w, lambda s, v: c.log.value_at(s, r.end_seq or 0, before_deadline) >= v):
        yield Violation(
            "linearizable-wait",
            w.id,
            f"wait {w.id} returned DEADLINE_EXCEEDED but its condition {_fmt(w.semaphores)} "
            f"held before the deadline: {_seen_values(c, w, r.end_seq, before_deadline)}",
        )


def _failure_seen(c: _Ctx, op_id: str, sems: Iterable[str], r: OpResult) -> Iterator[Violation]:
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


def _query(c: _Ctx, op: Query, r: OpResult) -> Iterator[Violation]:
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


def _rejection(c: _Ctx, x: Execute, r: OpResult) -> Iterator[Violation]:
    """A submission rejected with OUT_OF_RANGE must have seen a signal value overtaken."""
    if r.submit_seq is None or not _rejected(c, x, r.status):
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


def _linearizable(c: _Ctx) -> Iterator[Violation]:
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


def _rejected(c: _Ctx, x: Execute, status: str) -> bool:
    """An OUT_OF_RANGE execute the scenario allows to be rejected at submit: it never
    existed as an action, so it neither signals nor fails anything."""
    return status == OUT_OF_RANGE and x.id in c.analysis.may_reject


def _failed_execute(c: _Ctx, x: Execute, status: str) -> Iterator[Violation]:
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


def _failure_causes(c: _Ctx, s: str) -> set[str]:
    """Codes of the causes of a failure of `s` that the record shows happened."""
    causes = {op.code for op in c.ix.fails if op.semaphore == s and _status(c.record, op.id) == OK}
    for x in c.ix.signallers[s]:
        status = CANCELLED if x.id in c.teardown else _status(c.record, x.id)
        if _failed(status) and not _rejected(c, x, status):
            causes.add(status)
    return causes


def _semaphore_failure(c: _Ctx, s: str, code: str) -> Iterator[Violation]:
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


def _failed_before_submit(c: _Ctx, x: Execute, r: OpResult, s: str, v: int) -> bool:
    f = c.log.first_failure(s)
    if f is None or c.log.value_at(s, f.seq) >= v:
        return False
    if r.submit_seq is not None:
        return f.seq < r.submit_seq
    return r.submit_us is not None and f.time_us < r.submit_us - EPS_US


def _ok_after_failure(c: _Ctx, x: Execute) -> Iterator[Violation]:
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


def _failure_propagation(c: _Ctx) -> Iterator[Violation]:
    for x in c.ix.executes:
        status = _status(c.record, x.id)
        if _failed(status) and not _rejected(c, x, status):
            yield from _failed_execute(c, x, status)
        yield from _ok_after_failure(c, x)
    for s in c.scenario.semaphores:
        final = c.record.semaphores.get(s)
        if final is not None and final[1] != OK:
            yield from _semaphore_failure(c, s, final[1])


# =========================================================================== conservation


def _pool_problems(name: str, p: PoolReport) -> Iterator[str]:
    in_use, created, destroyed = p.in_use_at_end, p.created, p.destroyed
    if in_use != 0:
        yield f"pool {name}: {in_use} object(s) still in use at the end"
    if created - destroyed < 0:
        yield f"pool {name}: destroyed {destroyed} but created only {created}"
    elif created != destroyed:
        yield f"pool {name}: {created - destroyed} object(s) not destroyed after teardown"


def _conservation(c: _Ctx) -> Iterator[Violation]:
    for problem in c.record.conservation_problems:
        yield Violation("conservation", None, problem)
    for name, pool in c.record.pools.items():
        for problem in _pool_problems(name, pool):
            yield Violation("conservation", None, problem)
    for x in c.ix.executes:
        if x.id not in c.record.ops:
            yield Violation("conservation", x.id, f"execute {x.id} is missing from the record")
    known = {op.id for op in c.ix.all_ops}
    for op_id in c.record.ops:
        if op_id not in known:
            yield Violation("conservation", op_id, f"the record has an unknown op {op_id}")
    for s in c.scenario.semaphores:
        if s not in c.record.semaphores:
            yield Violation("conservation", None, f"no final state recorded for semaphore {s}")


# =========================================================================== host-callback-api


def _host_callback_api(c: _Ctx) -> Iterator[Violation]:
    for call in c.record.host_function_api_calls:
        yield Violation(
            "host-callback-api", None, f"device call from host-function context: {call}"
        )


# =========================================================================== fifo


def _first_difference(a: list[str], b: list[str]) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _order_mismatch(q: str, what: str, got: list[str], want: list[str], vs: str) -> Violation:
    i = _first_difference(got, want)
    op = got[i] if i < len(got) else (want[i] if i < len(want) else None)
    return Violation(
        "fifo", op, f"queue {q}: {what} {got} differs from {vs} {want} at position {i}"
    )


def _immediately_ready(c: _Ctx, x: Execute) -> bool:
    return all(v <= c.ix.initial[s] for s, v in x.wait.items())


def _same_actor_order(c: _Ctx, q: str, ready: list[str]) -> Iterator[Violation]:
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


def _fifo_queue(c: _Ctx, q: str) -> Iterator[Violation]:
    ready = c.record.ready_order.get(q, [])
    issue = c.record.issue_order.get(q, [])
    stream = c.record.stream_order.get(q, [])
    on_q = {x.id for x in c.ix.executes if x.queue == q}
    for op_id in issue:
        if op_id not in on_q:
            yield Violation("fifo", op_id, f"queue {q}: issued {op_id}, not an execute on {q}")
    if issue != ready:
        yield _order_mismatch(q, "issue order", issue, ready, "ready order")
    ran = [x for x in issue if (r := c.result(x)) is not None and r.start_us is not None]
    if stream != ran:
        yield _order_mismatch(q, "stream order", stream, ran, "issue order of executes that ran")
    yield from _same_actor_order(c, q, ready)


def _fifo(c: _Ctx) -> Iterator[Violation]:
    for q in c.scenario.queues:
        yield from _fifo_queue(c, q)


# =========================================================================== entry point

def _crash(c: _Ctx) -> Iterator[Violation]:
    crash = c.record.crash
    if crash is not None:
        where = f" in {crash.where}" if crash.where else ""
        during = f" while running op {crash.op}" if crash.op else ""
        yield Violation("crash", crash.op,
                        f"the run raised {crash.type}{where}{during}: {crash.message}")


_CHECKS: dict[str, _Check] = {
    "crash": _crash,
    "happens-before": _happens_before,
    "liveness": _liveness,
    "monotonic": _monotonic,
    "linearizable-wait": _linearizable,
    "failure-propagation": _failure_propagation,
    "conservation": _conservation,
    "host-callback-api": _host_callback_api,
    "fifo": _fifo,
}
assert tuple(_CHECKS) == PROPERTIES


def check(scenario: Scenario, record: RunRecord) -> list[Violation]:
    """Every violation of every property by `record`, a run of `scenario`."""
    ix = _Index(scenario)
    log = _Log(scenario, record)
    ctx = _Ctx(scenario, record, ix, _analyze(ix), log, set(record.cancelled_at_teardown))
    return [v for name in PROPERTIES for v in _CHECKS[name](ctx)]
