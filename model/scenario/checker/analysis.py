"""The may/must analysis: what a scenario alone allows (docs/checker.md, "The fixpoint").

`analyze(scenario)` computes two sets of facts as least fixpoints over the ops of all
actors, event by event (a worklist; a heap of wait pairs per semaphore), in
O(pairs log pairs + ops): the *may* facts (what can happen in some interleaving, an
over-approximation) and the *must* facts (what happens in every interleaving, an
under-approximation computed with the may facts). `allowed_statuses` turns them into the
statuses each op may end with.

Invariant: sound, not complete — the allowed sets are never smaller than what a correct
core can produce, so a status outside them is always a real defect of the run.
The analysis depends on the scenario only: not on timing, seeds or the backend.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from model.core.status import StatusCode
from model.scenario.record import PENDING
from model.scenario.types import Execute, Fail, Op, Query, Scenario, Signal, Wait, WaitMode

OK = StatusCode.OK.name
CANCELLED = StatusCode.CANCELLED.name
DEADLINE_EXCEEDED = StatusCode.DEADLINE_EXCEEDED.name
OUT_OF_RANGE = StatusCode.OUT_OF_RANGE.name

@dataclass(frozen=True, slots=True)
class _Site:
    """A place where a semaphore is signalled: a host signal or an execute's signal."""

    op: str
    value: int
    host: bool


class Index:
    """Scenario look-ups shared by the analysis and the checks.

    `faulted` (execute id -> status code name) and `lost` (the lost device's code name)
    are the injected faults the device observed (`checker.faults.fault_facts`): a
    faulted execute fails with its code, and after a loss every execute may fail with
    the lost code. `published` are the faulted executes whose fault came after their
    signals were published (a failing hand-off launch or completion status read): work
    bound to those signals may have run and retired first, so their values may be
    reached. All empty for a run without faults.
    """

    def __init__(self, scenario: Scenario, faulted: dict[str, str] | None = None,
                 lost: str | None = None, published: frozenset[str] = frozenset()) -> None:
        self.scenario = scenario
        self.faulted = faulted or {}
        self.lost = lost
        self.published = published
        self.initial = scenario.semaphores
        self.all_ops = [op for _, _, op in scenario.ops()]
        self.position = {op.id: (a, i) for a, i, op in scenario.ops()}
        self.executes = [op for op in self.all_ops if isinstance(op, Execute)]
        self.execute_by_id = {x.id: x for x in self.executes}
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


def forever(op: Op) -> bool:
    return isinstance(op, Wait) and op.timeout_us is None


def cond(w: Wait, holds: Callable[[str, int], bool]) -> bool:
    """Whether `w`'s condition holds when `holds(S, v)` tells whether S >= v.

    An empty wait list holds in both modes (IREE CTS `EmptyWait`)."""
    if not w.semaphores:
        return True
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

    def __init__(self, ix: Index, may: _Facts | None = None) -> None:
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
            elif isinstance(op, Wait) and forever(op):
                self._add_waiter(_Waiter(op, op.semaphores, op.mode is WaitMode.ANY))

    def _add_waiter(self, w: _Waiter) -> None:
        self.waiters[w.op.id] = w
        w.hit = not w.pairs  # an empty wait list is satisfied at once, ALL or ANY
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
        if not forever(op):
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
        # A faulted execute fails once issued; after a loss, any submitted one may fail
        # (the core fails parked actions when it learns of the loss).
        fault = x.id in self.ix.faulted and (w.cond() or w.woken)
        if (fault or self.ix.lost is not None) and x.id not in self.f.xfail:
            self.f.xfail.add(x.id)  # a device fault fails it (and its signals)
            for s in x.signal:
                self._fail(s)
        if x.id in self.ix.faulted:  # a faulted execute never completes OK, but a
            if x.id in self.ix.published and w.cond():  # dependent's frontier may
                for s, v in x.signal.items():  # show its values first
                    self._raise(s, v)
            return
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
        if x.id in self.ix.faulted:  # issued, then failed by its fault: settles, failing
            if (w.cond() or w.woken) and x.id not in self.f.ok:
                self.f.ok.add(x.id)
                self.f.xfail.add(x.id)
                for s in x.signal:
                    self._fail(s)
            return
        if w.woken and x.id not in self.f.xfail:
            self.f.xfail.add(x.id)
            for s in x.signal if produces else ():
                self._fail(s)
        if (w.cond() or w.woken) and x.id not in self.f.ok:
            self.f.ok.add(x.id)
            for s, v in x.signal.items() if produces else ():
                self._raise(s, v)


def _rejectable(ix: Index, may: _Facts) -> frozenset[str]:
    """Executes whose submission may be rejected with OUT_OF_RANGE: one of their signal
    semaphores may already be past the value (a larger signal of it may complete)."""
    return frozenset(
        x.id
        for x in ix.executes
        if x.id in may.happen and any(may.value[s] > w for s, w in x.signal.items())
    )


def _failure_codes(
    ix: Index, may: _Facts
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Codes that can reach each semaphore and each execute (worklist least fixpoint)."""
    sem: dict[str, set[str]] = {s: set() for s in ix.initial}
    for op in ix.fails:
        if op.id in may.happen:
            sem[op.semaphore].add(op.code)
    ex: dict[str, set[str]] = {x.id: set() for x in ix.executes}
    for x in ix.executes:  # injected faults are failure sources too
        own = {ix.faulted[x.id]} if x.id in ix.faulted else set()
        if ix.lost is not None and x.id in may.xfail:
            own.add(ix.lost)
        ex[x.id] |= own
        for s in x.signal:
            sem[s] |= own
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
    return analyze_index(Index(scenario))


def analyze_index(ix: Index) -> Analysis:
    scenario = ix.scenario
    may = _Engine(ix).run()
    must_engine = _Engine(ix, may)
    must = must_engine.run()
    sem_codes, op_codes = _failure_codes(ix, may)
    returning = {
        op.id
        for op in ix.all_ops
        if op.id in must.happen and (not forever(op) or op.id in must.returned)
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
    if cond(w, a.may_reach):
        out.add(OK)
    initially = cond(w, lambda s, v: a.scenario.semaphores[s] >= v)
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
