"""Why a run is blocked: the wait-for graph of what never finished, from ground truth.

A run is *blocked* when, once it settled, a host wait without a timeout never returned
or an accepted execute never ran and was still parked (cancelled at teardown). That is
not a fault of the core when nothing it waits for was ever signalled: the scenario's
own program deadlocked. `explain_blocked(scenario, record)` says what is blocked on
what, so that a reader need not reconstruct it from a list of PENDING ops.

Nodes are the blocked *actors* (a host thread stuck in a wait) and the blocked
*executes* (parked actions). A node waits for pairs `S >= v` that ground truth never
reached: no host signal of S to >= v returned OK and no device work that signals S to
>= v ran (the initial value is below v). Each such pair is signalled only by the ops of
the scenario that signal S to >= v; each of those is held up by a node (a host op not
reached because its actor is blocked at an earlier op, an execute not yet submitted for
the same reason, or a parked execute), or is dead (its call failed, its submission was
rejected, its action failed). Edges go from a node to the nodes holding up its pairs.
The explanation names every cycle ("w waits for B >= 1, which only x signals; x waits
for A >= 1, which only w signals") and every unsatisfiable wait (nothing signals that
value), then, one line each, the nodes that are blocked only behind those.

Only ground truth is used (host call results and times, device work that ran, the
scenario); the core's claims (its value log, semaphore values) are not. A pair that
ground truth reached while its node is still blocked is reported as "signalled ... but
not released" (that is the checker's `liveness` property failing, not the scenario).

Invariants: deterministic (nodes in scenario order); `None` when nothing is blocked.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from model.scenario.record import PENDING, RunRecord
from model.scenario.types import Execute, Op, Scenario, Signal, Wait, WaitMode

__all__ = ["explain_blocked"]

Pair = tuple[str, int]


@dataclass(frozen=True, slots=True)
class _Node:
    key: str  # "actor:<name>" or "execute:<id>"
    label: str  # "w" (an actor) or "execute x"
    op: str  # the op it is stuck at
    pairs: tuple[Pair, ...]  # what it waits for, unsatisfied on ground truth
    any_of: bool  # an "any" wait: all pairs must stay unreached for it to block


@dataclass(slots=True)
class _Hold:
    """Who holds up one signaller of a pair: a node key, or a dead reason."""

    node: str | None
    why: str


def _reached(scenario: Scenario, record: RunRecord) -> dict[str, tuple[int, float | None]]:
    """Per semaphore, the highest value ground truth reached and when (None: initial)."""
    best: dict[str, tuple[int, float | None]] = {s: (v, None)
                                                 for s, v in scenario.semaphores.items()}
    for _, _, op in scenario.ops():
        r = record.ops.get(op.id)
        if r is None or r.end_us is None:
            continue
        if isinstance(op, Signal) and r.status == "OK":
            pairs = {op.semaphore: op.value}
        elif isinstance(op, Execute) and r.start_us is not None:
            pairs = op.signal
        else:
            continue
        for s, v in pairs.items():
            if v > best[s][0]:
                best[s] = (v, r.end_us)
    return best


class _Graph:
    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.scenario, self.record = scenario, record
        self.reached = _reached(scenario, record)
        self.stuck_at: dict[str, str] = {}  # actor -> the op it never returned from
        self.nodes: dict[str, _Node] = {}
        self.position: dict[str, tuple[str, int]] = {}  # op id -> (actor, index)
        self.order: dict[str, int] = {}  # op id -> position in scenario order
        signals: dict[str, list[tuple[int, int, Op]]] = {s: [] for s in scenario.semaphores}
        for n, (actor, i, op) in enumerate(scenario.ops()):
            self.position[op.id] = (actor, i)
            self.order[op.id] = n
            if isinstance(op, Signal):
                signals[op.semaphore].append((op.value, n, op))
            elif isinstance(op, Execute):
                for sem, value in op.signal.items():
                    signals[sem].append((value, n, op))
        self.by_value: dict[str, tuple[list[int], list[Op]]] = {}
        for sem, entries in signals.items():
            entries.sort(key=lambda e: (e[0], e[1]))
            self.by_value[sem] = ([v for v, _, _ in entries], [op for _, _, op in entries])
        self._find_nodes()

    def _unreached(self, waits: dict[str, int]) -> tuple[Pair, ...]:
        return tuple((s, v) for s, v in waits.items() if self.reached[s][0] < v)

    def _find_nodes(self) -> None:
        record = self.record
        for actor, ops in self.scenario.actors.items():
            for op in ops:
                r = record.ops.get(op.id)
                if r is not None and r.start_us is not None and r.end_us is None:
                    self.stuck_at[actor] = op.id
                    if isinstance(op, Wait) and r.status == PENDING:
                        self.nodes[f"actor:{actor}"] = _Node(
                            f"actor:{actor}", actor, op.id, tuple(op.semaphores.items()),
                            op.mode is WaitMode.ANY)
                    break
        cancelled = set(record.cancelled_at_teardown) | set(record.teardown.statuses)
        for _, _, op in self.scenario.ops():
            if not isinstance(op, Execute):
                continue
            r = record.ops.get(op.id)
            if r is None or r.submit_us is None or r.submit_status is not None:
                continue
            if r.start_us is None and (r.status == PENDING or op.id in cancelled):
                self.nodes[f"execute:{op.id}"] = _Node(
                    f"execute:{op.id}", f"execute {op.id}", op.id, tuple(op.wait.items()),
                    False)

    def hold(self, op: Op) -> _Hold:
        """Who holds up signaller `op` (an op that would signal a blocked pair)."""
        r = self.record.ops.get(op.id)
        actor, index = self.position[op.id]
        not_reached = r is None or (r.start_us is None and r.submit_start_us is None)
        if not_reached:
            stuck = self.stuck_at.get(actor)
            if stuck is not None and self.position[stuck][1] < index:
                return _Hold(f"actor:{actor}", f"{op.op} {op.id} comes after {stuck}")
            return _Hold(None, f"{op.op} {op.id} never started")
        assert r is not None
        if isinstance(op, Execute):
            if r.submit_status is not None:
                return _Hold(None, f"execute {op.id} was rejected with {r.submit_status}")
            if f"execute:{op.id}" in self.nodes:
                return _Hold(f"execute:{op.id}", f"execute {op.id} is parked")
            return _Hold(None, f"execute {op.id} ended {r.status} without running")
        return _Hold(None, f"{op.op} {op.id} returned {r.status}")

    def signallers(self, s: str, v: int) -> list[Op]:
        """The ops that signal `s` to a value >= v, in scenario order."""
        values, ops = self.by_value[s]
        found = ops[bisect.bisect_left(values, v):]
        return sorted(found, key=lambda op: self.order[op.id])

    def top(self, s: str) -> int:
        """The highest value anything (the initial value included) gives `s`."""
        values = self.by_value[s][0]
        return max(self.scenario.semaphores[s], values[-1] if values else 0)


def _pairs_text(node: _Node) -> str:
    text = ", ".join(f"{s} >= {v}" for s, v in node.pairs)
    return f"any of {text}" if node.any_of and len(node.pairs) > 1 else text


def _names(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


class _Explainer:
    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.g = _Graph(scenario, record)
        self.edges: dict[str, list[str]] = {}  # node -> nodes that hold up its pairs
        self.waits: list[dict[str, Any]] = []
        self.step: dict[tuple[str, str], str] = {}  # (node, next node) -> step text
        self.dead: dict[str, str] = {}  # node -> its unsatisfiable step
        self.released: dict[str, str] = {}  # node -> "signalled but not released"
        self.node_order = {key: i for i, key in enumerate(self.g.nodes)}
        for node in self.g.nodes.values():
            self._explain(node)

    def _explain(self, node: _Node) -> None:
        g = self.g
        targets: list[str] = []
        who = f"{node.label} waits for"
        unreached = [(s, v) for s, v in node.pairs if g.reached[s][0] < v]
        reached = [(s, v) for s, v in node.pairs if g.reached[s][0] >= v]
        if not node.pairs:
            self.released[node.key] = f"{node.label} waits for nothing, but it never ran"
            return
        if (node.any_of and reached) or not unreached:
            s, v = reached[0]
            t = g.reached[s][1]
            at = "initially" if t is None else f"at {t:.3f} us"
            self.released[node.key] = (f"{who} {s} >= {v}, which was reached {at}, but it "
                                       "was not released")
            self.waits.append({"who": node.label, "op": node.op, "semaphore": s, "value": v,
                               "reached": g.reached[s][0], "signalled_by": [],
                               "why": self.released[node.key]})
            return
        pairs = unreached if not node.any_of else list(node.pairs)
        for s, v in pairs:
            holds = [(op, g.hold(op)) for op in g.signallers(s, v)]
            live = sorted({h.node for _, h in holds if h.node is not None},
                          key=self._order)
            labels = [g.nodes[n].label if n in g.nodes else n.split(":", 1)[1] for n in live]
            dead = [h.why for _, h in holds if h.node is None]
            if not holds:
                clause = f"which nothing signals (no op signals {s} above {g.top(s)})"
            elif not live:
                clause = "which nothing can signal any more (" + "; ".join(dead) + ")"
            else:
                clause = f"which only {_names(labels)} signal{'s' if len(labels) == 1 else ''}"
            text = f"{who} {s} >= {v}, {clause}"
            if node.any_of and len(pairs) > 1:
                text = f"{who} {_pairs_text(node)} (one would do); {s} >= {v}: {clause[6:]}"
            self.waits.append({"who": node.label, "op": node.op, "semaphore": s, "value": v,
                               "reached": g.reached[s][0], "signalled_by": labels,
                               "why": text})
            if not live and node.key not in self.dead and not node.any_of:
                self.dead[node.key] = text
            for n in live:
                targets.append(n)
                self.step.setdefault((node.key, n), text)
        if node.any_of and not targets:
            signalled = any(g.signallers(s, v) for s, v in pairs)
            clause = "which nothing can signal any more" if signalled else "which nothing signals"
            self.dead[node.key] = f"{who} {_pairs_text(node)}, {clause}"
        self.edges[node.key] = list(dict.fromkeys(targets))

    def _order(self, key: str) -> int:
        return self.node_order.get(key, len(self.node_order))

    def cycles(self) -> list[list[str]]:
        """One elementary cycle per strongly connected component that has one."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on: set[str] = set()
        stack: list[str] = []
        comps: list[list[str]] = []
        for root in self.g.nodes:  # Tarjan, iterative (chains can be long)
            if root in index:
                continue
            work = [(root, 0)]
            while work:
                v, i = work.pop()
                if i == 0:
                    index[v] = low[v] = len(index)
                    stack.append(v)
                    on.add(v)
                edges = self.edges.get(v, [])
                if i > 0:  # back from edges[i - 1]
                    low[v] = min(low[v], low[edges[i - 1]])
                while i < len(edges) and edges[i] in index:
                    if edges[i] in on:
                        low[v] = min(low[v], index[edges[i]])
                    i += 1
                if i < len(edges):
                    work.append((v, i + 1))
                    work.append((edges[i], 0))
                    continue
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    comps.append(comp)
        out = []
        for comp in comps:
            members = set(comp)
            start = min(comp, key=self._order)
            if len(comp) == 1 and start not in self.edges.get(start, []):
                continue
            out.append(self._cycle_from(start, members))
        return sorted(out, key=lambda c: self._order(c[0]))

    def _cycle_from(self, start: str, members: set[str]) -> list[str]:
        """A shortest cycle through `start` inside its strongly connected component
        `members` (breadth-first from `start` back to it; a greedy walk can dead-end)."""
        parent: dict[str, str] = {}
        frontier = [start]
        while frontier:
            following: list[str] = []
            for v in frontier:
                for w in self.edges.get(v, []):
                    if w == start:
                        path = [v]
                        while path[-1] != start:
                            path.append(parent[path[-1]])
                        return path[::-1]
                    if w in members and w not in parent:
                        parent[w] = v
                        following.append(w)
            frontier = following
        raise AssertionError(f"{start} is on no cycle of its component")  # Tarjan says so

    def explain(self) -> dict[str, Any] | None:
        nodes = self.g.nodes
        if not nodes:
            return None
        lines: list[str] = []
        covered: set[str] = set()
        cycles = self.cycles()
        for cycle in cycles:
            steps = [self.step[(a, cycle[(i + 1) % len(cycle)])] for i, a in enumerate(cycle)]
            lines.append("; ".join(steps))
            covered.update(cycle)
        for key in nodes:
            if key in self.dead:
                lines.append(self.dead[key])
                covered.add(key)
            elif key in self.released:
                lines.append(self.released[key])
                covered.add(key)
        for key in nodes:  # blocked only behind the nodes above
            first = next((self.step[(key, n)] for n in self.edges.get(key, [])
                          if (key, n) in self.step), None)
            if key not in covered and first is not None:
                lines.append(first)
        return {
            "explanation": lines,
            "cycles": [[nodes[k].label for k in cycle] for cycle in cycles],
            "waits": self.waits,
        }


def explain_blocked(scenario: Scenario, record: RunRecord) -> dict[str, Any] | None:
    """What is blocked on what once the run settled (module docstring), or None.

    Returns `{"explanation": [line, ...], "cycles": [[who, ...], ...], "waits": [{who, op,
    semaphore, value, reached, signalled_by, why}, ...]}`: one line per cycle of waits and
    per unsatisfiable wait, then the names blocked only behind them."""
    if record.crash is not None:
        return None  # a crashed run stopped early: its PENDING ops are not a deadlock
    return _Explainer(scenario, record).explain()
