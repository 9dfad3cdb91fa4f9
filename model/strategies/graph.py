"""Wait-before-signal graphs: drawn *specs* in, a valid `Scenario` out (no Hypothesis here).

A strategy draws a `Shape` and a flat list of `Item`s (node specs and host-op specs);
`build_scenario` turns them into a scenario. Everything that makes the scenario valid
happens here, by construction, so that every drawn list builds (nothing is filtered) and
deleting any item still builds (which is what lets Hypothesis shrink by deletion).

Theory of operation:
  1. Nodes form a DAG built node by node. Node i names its parents as *reverse offsets*
     into the earlier signalling nodes (0 = the latest one), taken modulo their number,
     so offsets shrink toward 0 and graphs toward a chain.
  2. A node signals a *candidate* semaphore: one nobody signalled yet, or one whose last
     producer is an ancestor of the node. Its value is that producer's value + 1. So the
     producers of each semaphore form a chain in dependency order and values increase
     along it; the parser's rule (distinct values above the initial one) always holds.
  3. A node waits for every signal of each parent. An execute node is an execute on a
     queue; a host-signal node is a host `signal`, preceded (in the same actor) by a
     forever `wait` for its parents' signals when it has parents.
  4. Host-op items (waits, queries, fails, sleeps) refer to the graph's signals and
     semaphores by index, modulo what exists.
  5. Submission order is independent of dependency order: every item carries a key, and
     each actor runs its ops sorted by (key, item position). Keys shrink toward 0, i.e.
     toward submission in dependency order.

Invariant: `build_scenario` is a total function of its arguments and the scenario it
returns satisfies every rule of `model.scenario.types` (unique ids, declared names, per
semaphore distinct increasing values); it never has more than `max_ops` ops.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from model.scenario.types import (
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


@dataclass(frozen=True, slots=True)
class Shape:
    """The scenario's frame: how many queues, semaphores and host actors, and settings."""

    queues: int = 1
    semaphores: int = 1
    actors: int = 1
    initial: tuple[int, ...] = ()  # initial value per semaphore (missing: 0)
    settings: Settings = field(default_factory=Settings)


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


@dataclass(frozen=True, slots=True)
class HostOpSpec:
    """A host op that is not a graph node: "wait", "query", "fail" or "sleep"."""

    kind: str = "wait"
    targets: tuple[int, ...] = (0,)  # wait: signal indices; query/fail: semaphore index
    mode: WaitMode = WaitMode.ALL
    timeout_us: float | None = None
    code: str = "ABORTED"
    us: float = 10.0
    actor: int = 0
    key: int = 0


Item = NodeSpec | HostOpSpec


@dataclass(slots=True)
class _Node:
    waits: dict[str, int]
    signals: dict[str, int]
    ancestors: int  # bit set of ancestor node indices


@dataclass(slots=True)
class _Builder:
    """Mutable state of one `build_scenario` call."""

    shape: Shape
    names: list[str]
    nodes: list[_Node] = field(default_factory=list)
    signalling: list[int] = field(default_factory=list)  # nodes with at least one signal
    producer: dict[str, int] = field(default_factory=dict)  # semaphore -> last producer
    value: dict[str, int] = field(default_factory=dict)  # semaphore -> last value
    sites: list[tuple[str, int]] = field(default_factory=list)  # every (sem, value) signal

    def add_node(self, spec: NodeSpec) -> _Node:
        parents = self._parents(spec.parents)
        ancestors = 0
        waits: dict[str, int] = {}
        for p in parents:
            ancestors |= 1 << p | self.nodes[p].ancestors
            waits.update(self.nodes[p].signals)
        node = _Node(waits, self._signals(spec, ancestors), ancestors)
        index = len(self.nodes)
        self.nodes.append(node)
        for s, v in node.signals.items():
            self.producer[s], self.value[s] = index, v
            self.sites.append((s, v))
        if node.signals:
            self.signalling.append(index)
        return node

    def _parents(self, offsets: tuple[int, ...]) -> list[int]:
        n = len(self.signalling)
        if not n:
            return []
        picked = [self.signalling[-1 - k % n] for k in offsets]
        return sorted(set(picked))

    def _signals(self, spec: NodeSpec, ancestors: int) -> dict[str, int]:
        candidates = [s for s in self.names
                      if s not in self.producer or ancestors >> self.producer[s] & 1]
        if not candidates:
            return {}
        chosen = [candidates[spec.sem % len(candidates)]]
        if spec.extra and len(candidates) > 1:
            other = candidates[(spec.sem + spec.extra) % len(candidates)]
            if other != chosen[0]:
                chosen.append(other)
        return {s: self.value.get(s, self.initial(s)) + 1 for s in chosen}

    def initial(self, s: str) -> int:
        i = self.names.index(s)
        return self.shape.initial[i] if i < len(self.shape.initial) else 0


def _host_op(b: _Builder, spec: HostOpSpec, ident: str) -> Op | None:
    names = b.names
    if spec.kind == "query":
        return Query(ident, names[spec.targets[0] % len(names)])
    if spec.kind == "fail":
        return Fail(ident, names[spec.targets[0] % len(names)], spec.code, "injected")
    if spec.kind == "sleep":
        return Sleep(ident, spec.us)
    return Wait(ident, _wait_targets(b, spec.targets), spec.mode, spec.timeout_us)


def _wait_targets(b: _Builder, targets: tuple[int, ...]) -> dict[str, int]:
    """Signals picked by index; an index past the last signal names a value never signalled."""
    out: dict[str, int] = {}
    span = len(b.sites) + 1
    for t in targets or (0,):
        k = t % span
        if k < len(b.sites):
            s, v = b.sites[len(b.sites) - 1 - k]
        else:
            s = b.names[t % len(b.names)]
            v = b.value.get(s, b.initial(s)) + 1
        out[s] = max(v, out.get(s, 0))
    return out


# --------------------------------------------------------------------------- codes
# A strategy draws one integer per item (a Hypothesis draw costs tens of microseconds,
# so one draw per item instead of ten keeps generation fast). Hypothesis favours small
# integers, so only the low bits of a draw are uniform; `mix` (a bijection with
# mix(0) = 0) spreads every drawn bit over every field. Code 0 is every field's first
# table entry (the default), which is where shrinking ends.

ITEM_BITS = 36
_KIND_TABLE = ("execute",) * 8 + ("signal",) * 3 + ("wait",) * 2 + ("fail", "query", "sleep")
DURATIONS_US = (10.0, 50.0, 0.0, 200.0, 1.0, 50.0, 100.0, 10.0)
TIMEOUTS_US: tuple[float | None, ...] = (None, 0.0, 20.0, 200.0, 5000.0, None, 1.0, 50.0)
SLEEPS_US = (10.0, 1.0, 50.0, 200.0, 10.0, 1.0, 5.0, 100.0)
FAIL_CODES = ("ABORTED", "CANCELLED", "DATA_LOSS", "UNKNOWN")
_EXTRA_TABLE = (0, 0, 0, 0, 0, 1, 2, 0)


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
    """The item an integer code stands for (fields: kind 4, parents 2+3x3, sem 3,
    extra 3, queue 2, actor 2, duration/timeout 3, key 6 bits)."""
    b = _Bits(mix(code, ITEM_BITS))
    kind = _KIND_TABLE[b.take(4)]
    count = b.take(2)
    offsets = tuple(b.take(3) for _ in range(3))[:count]
    sem, extra, queue, actor, timing, key = (b.take(n) for n in (3, 3, 2, 2, 3, 6))
    if kind in ("execute", "signal"):
        host = kind == "signal"
        return NodeSpec(offsets, sem, 0 if host else _EXTRA_TABLE[extra], queue, actor,
                        DURATIONS_US[timing], key, host)
    mode = WaitMode.ANY if extra & 1 else WaitMode.ALL
    return HostOpSpec(kind, (offsets or (0,)) if kind == "wait" else (sem,), mode,
                      TIMEOUTS_US[timing], FAIL_CODES[extra & 3], SLEEPS_US[timing],
                      actor, key)


_Placed = tuple[int, int, int, Op]  # (key, item position, sub-position, op)


def _realize(b: _Builder, items: list[Item]) -> dict[int, list[_Placed]]:
    """Ops per actor index, unsorted; host ops are resolved after every node exists."""
    per_actor: dict[int, list[_Placed]] = {}

    def place(actor: int, key: int, pos: int, sub: int, op: Op) -> None:
        per_actor.setdefault(actor % b.shape.actors, []).append((key, pos, sub, op))

    pending_host: list[tuple[int, HostOpSpec]] = []
    for pos, item in enumerate(items):
        if isinstance(item, HostOpSpec):
            pending_host.append((pos, item))
            continue
        node = b.add_node(item)
        ident = f"n{pos}"
        if not item.host:
            queue = f"q{item.queue % b.shape.queues}"
            place(item.actor, item.key, pos, 0,
                  Execute(ident, queue, node.waits, node.signals, item.duration_us))
        elif node.signals:
            if node.waits:
                place(item.actor, item.key, pos, 0, Wait(f"{ident}w", node.waits,
                                                        WaitMode.ALL, None))
            (s, v), = list(node.signals.items())[:1]
            place(item.actor, item.key, pos, 1, Signal(ident, s, v))
    for pos, spec in pending_host:
        op = _host_op(b, spec, f"n{pos}")
        if op is not None:
            place(spec.actor, spec.key, pos, 0, op)
    return per_actor


def _host_signal_spec(item: NodeSpec) -> NodeSpec:
    """A host signal signals exactly one semaphore."""
    return item if item.extra == 0 else dataclasses.replace(item, extra=0)


def _budget(items: list[Item], max_ops: int) -> list[Item]:
    """The longest prefix whose ops fit in `max_ops` (a host signal may need 2 ops)."""
    out: list[Item] = []
    used = 0
    for item in items:
        cost = 2 if isinstance(item, NodeSpec) and item.host and item.parents else 1
        if used + cost > max_ops:
            break
        out.append(_host_signal_spec(item) if isinstance(item, NodeSpec) and item.host
                   else item)
        used += cost
    return out


_PREFIX = {"execute": "x", "signal": "s", "wait": "w", "query": "q", "fail": "f",
           "sleep": "z"}


def _renamed(ops: list[Op], names: dict[str, str]) -> list[Op]:
    """Give ops short ids numbered by kind in item order (x0, x1, s0, w0, ...)."""
    return [dataclasses.replace(op, id=names[op.id]) for op in ops]


def _id_table(per_actor: dict[int, list[_Placed]]) -> dict[str, str]:
    placed = sorted((pos, sub, op) for ops in per_actor.values() for _, pos, sub, op in ops)
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
    names = list(SEMAPHORE_NAMES[: max(1, min(shape.semaphores, len(SEMAPHORE_NAMES)))])
    b = _Builder(shape, names)
    per_actor = _realize(b, _budget(items, max_ops))
    table = _id_table(per_actor)
    actors: dict[str, list[Op]] = {}
    for index in sorted(per_actor):
        ops = [op for *_, op in sorted(per_actor[index], key=lambda p: p[:3])]
        actors[f"h{index}"] = _renamed(ops, table)
    return Scenario(
        name=name,
        semaphores={s: b.initial(s) for s in names},
        queues=[f"q{i}" for i in range(max(1, shape.queues))],
        actors=actors or {"h0": []},
        settings=shape.settings,
    )


def scenario_size(scenario: Scenario) -> int:
    """The size of a counterexample: its number of ops (every actor, every kind)."""
    return sum(len(ops) for ops in scenario.actors.values())


__all__ = [
    "ITEM_BITS",
    "SEMAPHORE_NAMES",
    "HostOpSpec",
    "Item",
    "NodeSpec",
    "Shape",
    "build_scenario",
    "decode_item",
    "mix",
    "scenario_size",
]
