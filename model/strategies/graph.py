"""Wait-before-signal graphs: drawn *specs* in, a valid `Scenario` out (no Hypothesis here).

A strategy draws a `Shape` and a flat list of `Item`s (node specs, host-op specs and
motif specs); `build_scenario` turns them into a scenario. Everything that makes the
scenario valid happens here, by construction, so that every drawn list builds (nothing
is filtered) and deleting any item still builds (which is what lets Hypothesis shrink by
deletion).

Theory of operation:
  1. Nodes form a DAG built node by node. Node i names its parents as *reverse offsets*
     into the earlier signalling nodes (0 = the latest one), taken modulo their number,
     so offsets shrink toward 0 and graphs toward a chain.
  2. A node signals a *candidate* semaphore: one nobody signalled yet, or one whose last
     producer is an ancestor of the node. Its value is that producer's value + 1 (+ 1
     more when the node leaves a *gap*, which a stale host signal may use later), never
     above MAX_VALUE. So the producers of each semaphore form a chain in dependency order
     and values increase along it; the parser's rule (distinct values above the initial
     one) always holds. A motif that must signal a given semaphore adds its last
     producer as a parent, which keeps the same rule.
  3. A node waits for every signal of each parent (and, for a *parked* node, also for a
     value nobody signals, or value 0, or MAX_VALUE). An execute node is an execute on a
     queue; a host-signal node is a host `signal`, preceded (in the same actor) by a
     forever `wait` for its parents' signals when it has parents.
  4. Motifs (`MotifSpec`) are small fixed patterns built from nodes and host ops in one
     actor: fan-out (several executes on one queue made ready by one signal), fail-scan
     (a fail of a semaphore several parked executes wait on), fail-reached (a fail of a
     semaphore whose wait a parked execute has already reached), partial (a timed ALL
     wait where one pair is reached and another never is) and causal (DESIGN.md's
     causal-visibility chain: executes on one queue signal T in steps of 10 or 1, a reader on
     another queue waits for the last and signals R, the host waits R then queries and
     polls T). They are built in item order with the nodes.
  5. Host-op items (waits, empty waits, queries, fails, sleeps, fail-then-observe,
     signals to MAX_VALUE, stale signals) refer to the graph's signals and semaphores by
     index, modulo what exists; they are resolved after every node exists — first the
     ones that add signals (to MAX_VALUE, stale ones into gaps), then the rest.
  6. "A value nobody signals" is a placeholder resolved last: one above every signal of
     that semaphore (another semaphore if that one has no room left below MAX_VALUE).
  7. Submission order is independent of dependency order: every item carries a key, and
     each actor runs its ops sorted by (key, item position). Keys shrink toward 0, i.e.
     toward submission in dependency order. A motif's ops keep their own order.

Invariant: `build_scenario` is a total function of its arguments and the scenario it
returns satisfies every rule of `model.scenario.types` (unique ids, declared names, per
semaphore distinct increasing values in [0, MAX_VALUE]); it never has more than
`max_ops` ops, `shape.max_queues` queues or `shape.max_semaphores` semaphores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from model.core.status import StatusCode
from model.scenario.types import (
    MAX_VALUE,
    Execute,
    Fail,
    Op,
    Query,
    Scenario,
    Settings,
    Signal,
    Sleep,
    Wait,
    WaitMode,
)

SEMAPHORE_NAMES = ("A", "B", "C", "D", "E", "F", "G", "H")
MAX_QUEUES = 4
_NEVER = -1  # placeholder wait value: "a value nobody signals", resolved last


@dataclass(frozen=True, slots=True)
class Shape:
    """The scenario's frame: how many queues, semaphores and host actors, and settings.

    Motifs may add semaphores and queues (one that needs a fresh semaphore, or a second
    queue), up to `max_semaphores` and `max_queues`."""

    queues: int = 1
    semaphores: int = 1
    actors: int = 1
    initial: tuple[int, ...] = ()  # initial value per semaphore (missing: 0)
    settings: Settings = field(default_factory=Settings)
    max_queues: int = MAX_QUEUES
    max_semaphores: int = len(SEMAPHORE_NAMES)


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A graph node: an execute (`host` False) or a host signal (`host` True)."""

    parents: tuple[int, ...] = ()  # reverse offsets into earlier signalling nodes
    sem: int = 0  # picks the signalled semaphore among the candidates
    extra: int = 0  # 0: one signal; k > 0: also the candidate k further on
    queue: int = 0
    actor: int = 0
    duration_us: float = 10.0
    key: int = 0  # submission key
    host: bool = False
    gap: int = 0  # 1: leave one unused value below each signal (for stale signals)
    edge: int = 0  # execute only: 1 also waits a value nobody signals, 2 value 0, 3 MAX


@dataclass(frozen=True, slots=True)
class HostOpSpec:
    """A host op that is not a graph node.

    kinds: "wait" (empty `targets`: an empty wait list), "query", "fail", "sleep",
    "observe" (a fail, then a query / poll / timed / forever wait of the semaphore),
    "jump" (a host signal to MAX_VALUE), "stale" (a forever wait for a signalled value,
    then a host signal of a smaller, unused value: OUT_OF_RANGE)."""

    kind: str = "wait"
    targets: tuple[int, ...] = (0,)  # wait: signal indices; others: semaphore index
    mode: WaitMode = WaitMode.ALL
    timeout_us: float | None = None
    code: str = "ABORTED"
    us: float = 10.0
    actor: int = 0
    key: int = 0
    edge: int = 0  # wait: 2 adds a pair at value 0, 3 at MAX_VALUE; observe/stale: variant


@dataclass(frozen=True, slots=True)
class MotifSpec:
    """A small fixed pattern (see the module docstring): "fanout", "fail-scan",
    "fail-reached", "partial" or "causal"."""

    kind: str = "fanout"
    count: int = 0  # fanout: 2-4 consumers; fail-scan: 2-3 parked; causal: chain length
    parents: tuple[int, ...] = ()
    sem: int = 0
    variant: int = 0  # motif-specific bits
    queue: int = 0
    actor: int = 0
    timing: int = 0  # index into the duration / timeout tables
    key: int = 0


Item = NodeSpec | HostOpSpec | MotifSpec


@dataclass(slots=True)
class _Node:
    waits: dict[str, int]
    signals: dict[str, int]
    ancestors: int  # bit set of ancestor node indices


_Placed = tuple[int, int, int, Op]  # (key, item position, sub-position, op)


@dataclass(slots=True)
class _Builder:
    """Mutable state of one `build_scenario` call."""

    shape: Shape
    names: list[str]
    queues: int = 1
    nodes: list[_Node] = field(default_factory=list)
    signalling: list[int] = field(default_factory=list)  # nodes with at least one signal
    producer: dict[str, int] = field(default_factory=dict)  # semaphore -> last producer
    value: dict[str, int] = field(default_factory=dict)  # semaphore -> last chain value
    sites: list[tuple[str, int]] = field(default_factory=list)  # every (sem, value) node signal
    gaps: list[tuple[str, int]] = field(default_factory=list)  # (sem, v): v - 1 is free
    used: dict[str, set[int]] = field(default_factory=dict)  # every signalled value
    never: list[tuple[dict[str, int], str]] = field(default_factory=list)
    per_actor: dict[int, list[_Placed]] = field(default_factory=dict)

    # -- names -----------------------------------------------------------------------
    def initial(self, s: str) -> int:
        i = self.names.index(s)
        return self.shape.initial[i] if i < len(self.shape.initial) else 0

    def top(self, s: str) -> int:
        """The largest value anything signals `s` to so far (or its initial value)."""
        used = self.used.get(s)
        return max(used) if used else self.initial(s)

    def last(self, s: str) -> int:
        return self.value.get(s, self.initial(s))

    def pick(self, index: int) -> str:
        return self.names[index % len(self.names)]

    def fresh(self, index: int, avoid: tuple[str, ...] = ()) -> str:
        """A semaphore nobody signals yet (with room below MAX_VALUE), adding one to the
        scenario if none is left and the shape allows; else any other than `avoid`."""
        free = [s for s in self.names
                if s not in self.producer and s not in avoid and self.last(s) < MAX_VALUE]
        if free:
            return free[index % len(free)]
        cap = min(self.shape.max_semaphores, len(SEMAPHORE_NAMES))
        if len(self.names) < cap:
            self.names.append(SEMAPHORE_NAMES[len(self.names)])
            return self.names[-1]
        others = [s for s in self.names if s not in avoid] or self.names
        return others[index % len(others)]

    def queue(self, index: int) -> str:
        return f"q{index % self.queues}"

    def ensure_queues(self, n: int) -> None:
        self.queues = max(self.queues, min(n, self.shape.max_queues))

    # -- nodes -----------------------------------------------------------------------
    def add_node(self, spec: NodeSpec) -> _Node:
        parents = self._parents(spec.parents)
        ancestors = self._ancestors(parents)
        return self._commit(parents, self._signals(spec, ancestors), spec.gap)

    def add_explicit(self, parents: list[int], sems: list[str], step: int = 1,
                     gap: int = 0, ordered: bool = False) -> _Node:
        """A node signalling exactly `sems` (those with room), each `step` above its last
        value; each semaphore's last producer becomes a parent, which keeps values
        increasing along the dependency chain — unless `ordered`: the caller submits the
        node after that producer on the same queue, whose FIFO order does the same."""
        chosen = [s for s in dict.fromkeys(sems) if self.last(s) < MAX_VALUE]
        ps = set(parents)
        if not ordered:
            ps.update(self.producer[s] for s in chosen if s in self.producer)
        signals = {s: min(self.last(s) + step, MAX_VALUE) for s in chosen}
        return self._commit(sorted(ps), signals, gap, exact=True)

    def _ancestors(self, parents: list[int]) -> int:
        ancestors = 0
        for p in parents:
            ancestors |= 1 << p | self.nodes[p].ancestors
        return ancestors

    def _commit(self, parents: list[int], signals: dict[str, int], gap: int,
                exact: bool = False) -> _Node:
        waits: dict[str, int] = {}
        for p in parents:
            waits.update(self.nodes[p].signals)
        if not exact:
            signals = {s: self._next(s, gap) for s in signals}
        node = _Node(waits, signals, self._ancestors(parents))
        index = len(self.nodes)
        self.nodes.append(node)
        for s, v in signals.items():
            if v - 1 > max(self.last(s), self.initial(s)) and v - 1 > 0:
                self.gaps.append((s, v))
            self.producer[s], self.value[s] = index, v
            self.sites.append((s, v))
            self.used.setdefault(s, set()).add(v)
        if signals:
            self.signalling.append(index)
        return node

    def _next(self, s: str, gap: int) -> int:
        v = self.last(s) + 1 + gap
        return v if v <= MAX_VALUE else self.last(s) + 1

    def _parents(self, offsets: tuple[int, ...]) -> list[int]:
        n = len(self.signalling)
        if not n:
            return []
        picked = [self.signalling[-1 - k % n] for k in offsets]
        return sorted(set(picked))

    def _signals(self, spec: NodeSpec, ancestors: int) -> dict[str, int]:
        """The semaphores the node signals (values are filled in by `_commit`)."""
        candidates = [s for s in self.names
                      if (s not in self.producer or ancestors >> self.producer[s] & 1)
                      and self.last(s) < MAX_VALUE]
        if not candidates:
            return {}
        chosen = [candidates[spec.sem % len(candidates)]]
        if spec.extra and len(candidates) > 1:
            other = candidates[(spec.sem + spec.extra) % len(candidates)]
            if other != chosen[0]:
                chosen.append(other)
        return dict.fromkeys(chosen, 0)

    # -- placeholders ----------------------------------------------------------------
    def add_never(self, waits: dict[str, int], s: str) -> None:
        """Make `waits` also wait for a value of `s` nobody signals (resolved last)."""
        waits[s] = _NEVER
        self.never.append((waits, s))

    def resolve_never(self) -> None:
        for waits, s in self.never:
            if waits.get(s) != _NEVER:
                continue
            del waits[s]
            for t in [s, *self.names]:
                if t not in waits and self.top(t) < MAX_VALUE:
                    waits[t] = self.top(t) + 1
                    break

    # -- placement -------------------------------------------------------------------
    def place(self, actor: int, key: int, pos: int, sub: int, op: Op) -> None:
        self.per_actor.setdefault(actor % self.shape.actors, []).append((key, pos, sub, op))


# --------------------------------------------------------------------------- host ops


def _host_op(b: _Builder, spec: HostOpSpec, ident: str) -> list[Op]:
    names = b.names
    s = names[spec.targets[0] % len(names)] if spec.targets else names[0]
    if spec.kind == "query":
        return [Query(ident, s)]
    if spec.kind == "fail":
        return [Fail(ident, s, spec.code, "injected")]
    if spec.kind == "sleep":
        return [Sleep(ident, spec.us)]
    if spec.kind == "observe":
        return _observe(b, spec, s, ident)
    if not spec.targets:  # an empty wait list: OK at once, whatever the mode and timeout
        return [Wait(ident, {}, spec.mode, spec.timeout_us)]
    waits = _wait_targets(b, spec.targets)
    if spec.edge >= 2:
        waits.setdefault(s, 0 if spec.edge == 2 else MAX_VALUE)
    return [Wait(ident, waits, spec.mode, spec.timeout_us)]


def _observe(b: _Builder, spec: HostOpSpec, s: str, ident: str) -> list[Op]:
    """A fail of `s`, then two observations of it: after the failure, each must return
    the failure's status (never a value, never DEADLINE_EXCEEDED)."""
    def target() -> dict[str, int]:
        pair: dict[str, int] = {}
        if s in b.value:
            pair[s] = b.value[s]
        else:
            b.add_never(pair, s)
        return pair

    observers: list[Op] = [
        Query(f"{ident}q", s),
        Wait(f"{ident}p", target(), WaitMode.ALL, 0.0),
        Wait(f"{ident}t", target(), WaitMode.ANY, 50.0),
        Wait(f"{ident}w", target(), WaitMode.ALL, None),
    ]
    first = spec.edge & 3
    second = (first + 1 + (spec.edge >> 2 & 1)) % 4
    return [Fail(ident, s, spec.code, "injected"), observers[first], observers[second]]


def _signal_op(b: _Builder, spec: HostOpSpec, ident: str) -> list[Op]:
    """Host ops that add signals: "jump" (to MAX_VALUE) and "stale" (into a gap)."""
    if spec.kind == "jump":
        start = spec.targets[0] if spec.targets else 0
        for k in range(len(b.names)):
            s = b.names[(start + k) % len(b.names)]
            if b.top(s) < MAX_VALUE:
                b.used.setdefault(s, set()).add(MAX_VALUE)
                return [Signal(ident, s, MAX_VALUE)]
        return [Query(ident, b.pick(start))]
    free = [(s, v) for s, v in b.gaps if v - 1 not in b.used.get(s, ())]
    if not free:
        return [Query(ident, b.pick(spec.targets[0] if spec.targets else 0))]
    s, v = free[(spec.targets[0] if spec.targets else 0) % len(free)]
    b.used[s].add(v - 1)
    signal = Signal(ident, s, v - 1)
    if spec.edge & 1:  # racing: the signal may land before v (OK) or after (OUT_OF_RANGE)
        return [signal]
    return [Wait(f"{ident}w", {s: v}, WaitMode.ALL, None), signal]


def _wait_targets(b: _Builder, targets: tuple[int, ...]) -> dict[str, int]:
    """Signals picked by index; an index past the last signal names a value never signalled."""
    out: dict[str, int] = {}
    span = len(b.sites) + 1
    for t in targets or (0,):
        k = t % span
        if k < len(b.sites):
            s, v = b.sites[len(b.sites) - 1 - k]
            if out.get(s) != _NEVER:
                out[s] = max(v, out.get(s, 0))
        else:
            s = b.names[t % len(b.names)]
            if out.get(s) != _NEVER:
                b.add_never(out, s)
    return out


# --------------------------------------------------------------------------- motifs

MOTIF_KINDS = ("fanout", "fail-scan", "fail-reached", "partial", "causal")
CAUSAL_LENGTHS = (2, 3, 6, 12)
PARTIAL_TIMEOUTS_US = (300.0, 1000.0, 150.0, 2000.0)
CHAIN_DURATIONS_US = (10.0, 1.0, 0.0, 50.0)


def motif_cost(spec: MotifSpec) -> int:
    """The most ops `spec` can place (host signals may need their forever wait)."""
    if spec.kind == "fanout":
        return 2 + spec.count % 3 + 2
    if spec.kind == "fail-scan":
        return 2 + spec.count % 2 + 2
    if spec.kind == "fail-reached":
        return 5
    if spec.kind == "partial":
        return 3
    return CAUSAL_LENGTHS[spec.count % 4] + 4


def _fit(spec: MotifSpec, room: int) -> MotifSpec | None:
    """`spec`, or a smaller causal chain, within `room` ops; None if nothing fits."""
    if motif_cost(spec) <= room:
        return spec
    if spec.kind != "causal":
        return None
    shorter = [c for c in range(spec.count % 4) if CAUSAL_LENGTHS[c] + 4 <= room]
    return dataclasses.replace(spec, count=shorter[-1]) if shorter else None


class _Motif:
    """Places one motif's ops, in order, in one actor."""

    def __init__(self, b: _Builder, spec: MotifSpec, pos: int) -> None:
        self.b, self.spec, self.pos, self.sub = b, spec, pos, 0

    def put(self, op: Op, actor_shift: int = 0) -> None:
        self.b.place(self.spec.actor + actor_shift, self.spec.key, self.pos, self.sub, op)
        self.sub += 1

    def ident(self) -> str:
        return f"n{self.pos}.{self.sub}"

    def execute(self, node: _Node, queue: str, duration: float) -> None:
        self.put(Execute(self.ident(), queue, node.waits, node.signals, duration))

    def host_signal(self, node: _Node) -> None:
        if node.waits:
            self.put(Wait(self.ident(), node.waits, WaitMode.ALL, None))
        for s, v in node.signals.items():
            self.put(Signal(self.ident(), s, v))


def _motif(b: _Builder, spec: MotifSpec, pos: int) -> None:
    m = _Motif(b, spec, pos)
    {"fanout": _fanout, "fail-scan": _fail_scan, "fail-reached": _fail_reached,
     "partial": _partial, "causal": _causal}[spec.kind](b, spec, m)


def _fanout(b: _Builder, spec: MotifSpec, m: _Motif) -> None:
    """k executes on one queue wait for the same (S, v), submitted before its signal."""
    s = b.fresh(spec.sem)
    producer = b.add_explicit([], [s])
    index = len(b.nodes) - 1
    consumers = [b.add_explicit([index], []) for _ in range(2 + spec.count % 3)]
    for c in consumers:
        m.execute(c, b.queue(spec.queue), 10.0)
    if spec.variant & 1:
        m.execute(producer, b.queue(spec.queue + 1), DURATIONS_US[spec.timing])
    else:
        m.host_signal(producer)


def _fail_later(spec: MotifSpec, m: _Motif, s: str) -> None:
    """Fail `s` (variant bit 0: after a sleep), with the code of variant bits 1-2."""
    if spec.variant & 1:
        m.put(Sleep(m.ident(), SLEEPS_US[spec.timing]))
    m.put(Fail(m.ident(), s, FAIL_CODES[spec.variant >> 1 & 3], "injected"))


def _fail_scan(b: _Builder, spec: MotifSpec, m: _Motif) -> None:
    """Parked executes (each also waits its DAG parents) wait on S; then S fails."""
    s = b.pick(spec.sem)
    for i in range(2 + spec.count % 2):
        offsets = spec.parents[i:i + 1]
        node = b.add_node(NodeSpec(offsets, spec.sem + i, 0))
        b.add_never(node.waits, s)
        m.execute(node, b.queue(spec.queue + i), 10.0)
    _fail_later(spec, m, s)


def _fail_reached(b: _Builder, spec: MotifSpec, m: _Motif) -> None:
    """X waits (S, v) and (T, never); S reaches v; then S fails while X is parked on T."""
    s = b.fresh(spec.sem)
    t = b.fresh(spec.sem + 1, avoid=(s,))
    signal = b.add_explicit([], [s])
    index = len(b.nodes) - 1
    # parent offset 0: the latest signalling node, the signal of S just made (if S had
    # room; otherwise X just waits for its never-signalled pair)
    x = b.add_node(NodeSpec((0,) if index in b.signalling else (), spec.sem, 0))
    if t != s:
        b.add_never(x.waits, t)
    m.execute(x, b.queue(spec.queue), 10.0)
    m.host_signal(signal)
    _fail_later(spec, m, s)


def _partial(b: _Builder, spec: MotifSpec, m: _Motif) -> None:
    """A timed ALL wait on (S, v), reached soon after it starts, and (T, never)."""
    s = b.fresh(spec.sem)
    t = b.fresh(spec.sem + 1, avoid=(s,))
    producer = b.add_explicit([], [s])
    m.execute(producer, b.queue(spec.queue), CHAIN_DURATIONS_US[spec.timing & 3])
    waits = dict(producer.signals)
    if t not in waits:
        b.add_never(waits, t)
    m.put(Wait(m.ident(), waits, WaitMode.ALL, PARTIAL_TIMEOUTS_US[spec.variant & 3]))
    m.put(Query(m.ident(), s if not spec.variant & 4 else t))


def _causal(b: _Builder, spec: MotifSpec, m: _Motif) -> None:
    """DESIGN.md's causal-visibility chain: q_a runs executes signalling T = +10, +20, ...
    (in queue order; variant bit 3: each also waits for the previous one); a reader on
    q_b waits for the last and signals R; the host waits R, then queries T (and, bit 2,
    polls T at the chain's last value): both must see it. Bit 0 submits the reader
    first, bit 1 observes from another host thread; timing bit 2 steps T by 1 instead of
    10 (values 1, 2, ... are where off-by-one frontiers differ)."""
    b.ensure_queues(2)
    t = b.fresh(spec.sem)
    r = b.fresh(spec.sem + 1, avoid=(t,))
    qa, qb = b.queue(spec.queue), b.queue(spec.queue + 1)
    length = CAUSAL_LENGTHS[spec.count % 4]
    room = MAX_VALUE - b.last(t)
    step = max(1, min(1 if spec.timing & 4 else 10, room // length))  # bit 2: T = 1, 2, ...
    duration = CHAIN_DURATIONS_US[spec.timing & 3]
    chain: list[tuple[_Node, int]] = []
    parents: list[int] = []
    # Without waits, queue order alone keeps T increasing — only if nothing before the
    # chain can hold its first execute back (T had no producer yet).
    waits = bool(spec.variant & 8) or t in b.producer
    for i in range(length):
        node = b.add_explicit(parents if waits else [], [t], step, ordered=i > 0 and not waits)
        index = len(b.nodes) - 1
        chain.append((node, index))
        parents = [index] if node.signals else parents
    reader = b.add_explicit(parents, [r] if r != t else [])
    if spec.variant & 1:  # the reader is submitted first: wait before signal across queues
        m.execute(reader, qb, 10.0)
    for node, _ in chain:
        m.execute(node, qa, duration)
    if not spec.variant & 1:
        m.execute(reader, qb, 10.0)
    host = 1 if spec.variant & 2 else 0  # the observer may be another host thread
    if reader.signals:
        m.put(Wait(m.ident(), dict(reader.signals), WaitMode.ALL, None), host)
    m.put(Query(m.ident(), t), host)
    if spec.variant & 4 and chain and chain[-1][0].signals:
        m.put(Wait(m.ident(), {t: chain[-1][0].signals[t]}, WaitMode.ALL, 0.0), host)


# --------------------------------------------------------------------------- codes
# A strategy draws one integer per item (a Hypothesis draw costs tens of microseconds,
# so one draw per item instead of ten keeps generation fast). Hypothesis favours small
# integers, so only the low bits of a draw are uniform; `mix` (a bijection with
# mix(0) = 0) spreads every drawn bit over every field. Code 0 is every field's first
# table entry (the default), which is where shrinking ends.

ITEM_BITS = 42
# 64 slots; weights in docs/strategies.md ("Distribution").
KIND_TABLE = (
    ("execute",) * 26 + ("signal",) * 9 + ("wait",) * 6
    + ("fail",) * 2 + ("query",) * 2 + ("sleep",) * 2
    + ("empty-wait", "empty-wait", "jump", "stale") + ("observe",) * 2 + ("parked",) * 2
    + ("fanout",) * 2 + ("fail-scan",) * 2 + ("fail-reached",) * 2 + ("partial", "causal", "causal")
)
assert len(KIND_TABLE) == 64
DURATIONS_US = (10.0, 50.0, 0.0, 200.0, 1.0, 50.0, 100.0, 10.0)
TIMEOUTS_US: tuple[float | None, ...] = (None, 0.0, 20.0, 200.0, 5000.0, None, 1.0, 50.0)
SLEEPS_US = (10.0, 1.0, 50.0, 200.0, 10.0, 1.0, 5.0, 100.0)
FAIL_CODES = ("ABORTED", "CANCELLED", "DATA_LOSS", "UNKNOWN")  # motifs; host fails: ALL_FAIL
# Every code a host `fail` op may draw: each failure code but DEADLINE_EXCEEDED (a
# semaphore failed with it would answer timed waits with the code a timeout also
# returns), the four above first (where shrinking ends).
ALL_FAIL_CODES = FAIL_CODES + tuple(
    c.name for c in StatusCode
    if c.name not in FAIL_CODES and c not in (StatusCode.OK, StatusCode.DEADLINE_EXCEEDED))
_EXTRA_TABLE = (0, 0, 0, 0, 0, 1, 2, 0)
_PARKED_EDGES = (1, 1, 2, 3)  # never signalled, never signalled, value 0, MAX_VALUE


def mix(code: int, bits: int) -> int:
    """A bijection of [0, 2**bits) onto itself with mix(0) == 0 (multiply-xorshift)."""
    mask = (1 << bits) - 1
    x = code & mask
    for factor, shift in ((0x9E3779B97F4A7C15, max(1, bits // 2)),
                          (0xBF58476D1CE4E5B9, max(1, bits // 3))):
        x = (x * factor) & mask
        x ^= x >> shift
    return x


class _Bits:
    """Reads unsigned bit fields from an integer, least significant first."""

    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code

    def take(self, bits: int) -> int:
        value = self.code & ((1 << bits) - 1)
        self.code >>= bits
        return value


def decode_item(code: int) -> Item:
    """The item an integer code stands for (fields: kind 6, parents 2+3x3, sem 3,
    extra 3, queue 2, actor 2, duration/timeout 3, key 6, gap 2, variant 4 bits)."""
    b = _Bits(mix(code, ITEM_BITS))
    kind = KIND_TABLE[b.take(6)]
    count = b.take(2)
    offsets = tuple(b.take(3) for _ in range(3))[:count]
    sem, extra, queue, actor, timing, key, gap, variant = (
        b.take(n) for n in (3, 3, 2, 2, 3, 6, 2, 4))
    if kind in ("execute", "signal", "parked"):
        host = kind == "signal"
        return NodeSpec(offsets, sem, 0 if host else _EXTRA_TABLE[extra], queue, actor,
                        DURATIONS_US[timing], key, host, int(gap == 3),
                        _PARKED_EDGES[variant & 3] if kind == "parked" else 0)
    if kind in MOTIF_KINDS:
        return MotifSpec(kind, count, offsets or (extra,), sem, variant, queue, actor,
                         timing, key)
    mode = WaitMode.ANY if extra & 1 else WaitMode.ALL
    if kind == "wait":
        targets: tuple[int, ...] = offsets or (0,)
    elif kind == "empty-wait":
        kind, targets = "wait", ()
    else:
        targets = (sem,)
    fail_code = ALL_FAIL_CODES[((extra & 3) + 4 * (key & 7)) % len(ALL_FAIL_CODES)]
    return HostOpSpec(kind, targets, mode, TIMEOUTS_US[timing], fail_code,
                      SLEEPS_US[timing], actor, key, extra >> 1 if kind == "wait" else variant)


def _realize(b: _Builder, items: list[Item]) -> None:
    """Ops per actor index, unsorted; host ops are resolved after every node exists."""
    pending_host: list[tuple[int, HostOpSpec]] = []
    for pos, item in enumerate(items):
        if isinstance(item, HostOpSpec):
            pending_host.append((pos, item))
            continue
        if isinstance(item, MotifSpec):
            _motif(b, item, pos)
            continue
        node = b.add_node(item)
        ident = f"n{pos}"
        if not item.host:
            if item.edge:
                s = b.pick(item.sem + 1)
                if item.edge == 1:
                    b.add_never(node.waits, s)
                else:
                    node.waits.setdefault(s, 0 if item.edge == 2 else MAX_VALUE)
            b.place(item.actor, item.key, pos, 0,
                    Execute(ident, b.queue(item.queue), node.waits, node.signals,
                            item.duration_us))
        elif node.signals:
            if node.waits:
                b.place(item.actor, item.key, pos, 0, Wait(f"{ident}w", node.waits,
                                                          WaitMode.ALL, None))
            (s, v), = list(node.signals.items())[:1]
            b.place(item.actor, item.key, pos, 1, Signal(ident, s, v))
    adding = [(p, s) for p, s in pending_host if s.kind in ("jump", "stale")]
    others = [(p, s) for p, s in pending_host if s.kind not in ("jump", "stale")]
    for pos, spec in adding:
        _place_all(b, spec, pos, _signal_op(b, spec, f"n{pos}"))
    for pos, spec in others:
        _place_all(b, spec, pos, _host_op(b, spec, f"n{pos}"))
    b.resolve_never()


def _place_all(b: _Builder, spec: HostOpSpec, pos: int, ops: list[Op]) -> None:
    for sub, op in enumerate(ops):
        b.place(spec.actor, spec.key, pos, sub, op)


def _normalized(item: Item) -> Item:
    """A host signal signals exactly one semaphore and never waits an edge pair."""
    if isinstance(item, NodeSpec) and item.host and (item.extra or item.edge):
        return dataclasses.replace(item, extra=0, edge=0)
    return item


def item_cost(item: Item) -> int:
    """The most ops `item` can place."""
    if isinstance(item, MotifSpec):
        return motif_cost(item)
    if isinstance(item, NodeSpec):
        return 2 if item.host and item.parents else 1
    return {"observe": 3, "stale": 2}.get(item.kind, 1)


def _budget(items: list[Item], max_ops: int) -> list[Item]:
    """The items that fit in `max_ops`, in order: an item that does not fit is left out
    (a causal chain is shortened first), later smaller ones may still fit."""
    out: list[Item] = []
    used = 0
    for item in items:
        item = _normalized(item)
        if isinstance(item, MotifSpec):
            fitted = _fit(item, max_ops - used)
            if fitted is None:
                continue
            item = fitted
        cost = item_cost(item)
        if used + cost > max_ops:
            continue
        out.append(item)
        used += cost
    return out


_PREFIX = {"execute": "x", "signal": "s", "wait": "w", "query": "q", "fail": "f",
           "sleep": "z"}


def _renamed(ops: list[Op], names: dict[str, str]) -> list[Op]:
    """Give ops short ids numbered by kind in item order (x0, x1, s0, w0, ...)."""
    return [dataclasses.replace(op, id=names[op.id]) for op in ops]


def _id_table(per_actor: dict[int, list[_Placed]]) -> dict[str, str]:
    placed = sorted(((pos, sub, op) for ops in per_actor.values() for _, pos, sub, op in ops),
                    key=lambda p: p[:2])
    counters: dict[str, int] = {}
    table: dict[str, str] = {}
    for _, _, op in placed:
        prefix = _PREFIX[op.op]
        table[op.id] = f"{prefix}{counters.get(prefix, 0)}"
        counters[prefix] = counters.get(prefix, 0) + 1
    return table


def build_scenario(shape: Shape, items: list[Item], max_ops: int = 40,
                   name: str = "generated") -> Scenario:
    """The scenario for `shape` and `items` (see the module docstring)."""
    count = max(1, min(shape.semaphores, shape.max_semaphores, len(SEMAPHORE_NAMES)))
    b = _Builder(shape, list(SEMAPHORE_NAMES[:count]),
                 queues=max(1, min(shape.queues, shape.max_queues)))
    _realize(b, _budget(items, max_ops))
    table = _id_table(b.per_actor)
    actors: dict[str, list[Op]] = {}
    for index in sorted(b.per_actor):
        ops = [op for *_, op in sorted(b.per_actor[index], key=lambda p: p[:3])]
        actors[f"h{index}"] = _renamed(ops, table)
    return Scenario(
        name=name,
        semaphores={s: b.initial(s) for s in b.names},
        queues=[f"q{i}" for i in range(b.queues)],
        actors=actors or {"h0": []},
        settings=shape.settings,
    )


def scenario_size(scenario: Scenario) -> int:
    """The size of a counterexample: its number of ops (every actor, every kind)."""
    return sum(len(ops) for ops in scenario.actors.values())


__all__ = [
    "ITEM_BITS",
    "KIND_TABLE",
    "MOTIF_KINDS",
    "SEMAPHORE_NAMES",
    "HostOpSpec",
    "Item",
    "MotifSpec",
    "NodeSpec",
    "Shape",
    "build_scenario",
    "decode_item",
    "item_cost",
    "mix",
    "scenario_size",
]
