"""Invalid scenario documents: what the parser must reject, with the field it must name.

`invalid_documents()` draws an `InvalidDocument`: a decoded JSON value that is a valid
scenario (from `scenarios()`, through `scenario_to_json`) with exactly one defect
injected, plus the field path the parser's `ScenarioError` must name and the kind of
defect. Defects (`KINDS`):

  non-increasing   a signal value at or below the semaphore's initial value, or equal to
                   another signal of the same semaphore
  unknown-name     an op names a semaphore or queue that is not declared
  malformed-op     an op with an unknown "op", a missing required field, an unknown
                   field, a negative duration or a string where a number belongs
  bad-top-level    a wrong "format", a missing "actors", an unknown top-level field

Shrinks toward the first kind applied to the first op of a small valid scenario.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from model.scenario.parse import scenario_to_json
from model.scenario.types import Query, Scenario
from model.strategies.scenarios import scenarios

KINDS = ("non-increasing", "unknown-name", "malformed-op", "bad-top-level")


@dataclass(frozen=True, slots=True)
class InvalidDocument:
    """A document the parser must reject; `path` is the field its error must name."""

    document: dict[str, Any]
    kind: str
    path: str


def _ops(doc: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    return [(a, i, op) for a, ops in doc["actors"].items() for i, op in enumerate(ops)]


def _path(actor: str, index: int, field: str = "") -> str:
    base = f"actors.{actor}[{index}]"
    return f"{base}.{field}" if field else base


def _signal_sites(doc: dict[str, Any]) -> list[tuple[str, int, str]]:
    out = []
    for actor, index, op in _ops(doc):
        if op["op"] == "signal":
            out.append((actor, index, "value"))
        elif op["op"] == "execute":
            out += [(actor, index, f"signal.{s}") for s in op["signal"]]
    return out


def _non_increasing(doc: dict[str, Any], pick: int) -> str:
    sites = _signal_sites(doc)
    if not sites:  # add a host signal at the initial value of the first semaphore
        sem, initial = next(iter(doc["semaphores"].items()))
        actor = next(iter(doc["actors"]))
        doc["actors"][actor].append({"op": "signal", "id": "bad", "semaphore": sem,
                                     "value": initial})
        return _path(actor, len(doc["actors"][actor]) - 1, "value")
    actor, index, field = sites[pick % len(sites)]
    op = doc["actors"][actor][index]
    if field == "value":
        op["value"] = doc["semaphores"][op["semaphore"]]
    else:
        sem = field.split(".", 1)[1]
        op["signal"][sem] = doc["semaphores"][sem]
    return _path(actor, index, field)


def _unknown_name(doc: dict[str, Any], pick: int) -> str:
    actor, index, op = _ops(doc)[pick % len(_ops(doc))]
    if op["op"] == "execute":
        op["queue"] = "no-such-queue"
        return _path(actor, index, "queue")
    if op["op"] == "wait":
        op["semaphores"] = {"no-such-semaphore": 1}
        return _path(actor, index, "semaphores.no-such-semaphore")
    if op["op"] == "sleep":
        op["us"] = "soon"
        return _path(actor, index, "us")
    op["semaphore"] = "no-such-semaphore"
    return _path(actor, index, "semaphore")


_MALFORMED = ("unknown-op", "missing-field", "unknown-field", "negative", "wrong-type")
_REQUIRED = {"execute": "queue", "query": "semaphore", "signal": "semaphore",
             "wait": "semaphores", "sleep": "us", "fail": "semaphore"}


def _malformed(doc: dict[str, Any], pick: int, how: str) -> str:
    actor, index, op = _ops(doc)[pick % len(_ops(doc))]
    if how == "unknown-op":
        op["op"] = "launch"
        return _path(actor, index, "op")
    if how == "missing-field":
        field = _REQUIRED[op["op"]]
        del op[field]
        return _path(actor, index, field)
    if how == "unknown-field":
        op["colour"] = "blue"
        return _path(actor, index)
    doc["actors"][actor][index] = op = {"op": "sleep", "id": op["id"], "us": 1}
    op["us"] = -1 if how == "negative" else "1"
    return _path(actor, index, "us")


def _bad_top_level(doc: dict[str, Any], pick: int) -> str:
    choice = pick % 3
    if choice == 0:
        doc["format"] = "hipsem/scenario-0"
        return "format"
    if choice == 1:
        del doc["actors"]
        return "actors"
    doc["extra"] = True
    return ""


def _inject(scenario: Scenario, kind: str, pick: int, how: str) -> InvalidDocument:
    doc = copy.deepcopy(scenario_to_json(scenario))
    if kind == "non-increasing":
        path = _non_increasing(doc, pick)
    elif kind == "unknown-name":
        path = _unknown_name(doc, pick)
    elif kind == "malformed-op":
        path = _malformed(doc, pick, how)
    else:
        path = _bad_top_level(doc, pick)
    return InvalidDocument(doc, kind, path)


def invalid_documents(max_ops: int = 8) -> st.SearchStrategy[InvalidDocument]:
    """A scenario document with exactly one injected defect (see the module docstring).

    Shrinks toward a non-increasing signal in the first op of a one-op scenario."""
    base = scenarios(max_ops=max_ops, max_queues=2, max_semaphores=2, max_actors=2)
    nonempty = base.map(_ensure_op)
    return st.builds(_inject, nonempty, st.sampled_from(KINDS), st.integers(0, 63),
                     st.sampled_from(_MALFORMED))


def _ensure_op(scenario: Scenario) -> Scenario:
    """Give an op-less scenario one query, so every kind has an op to break."""
    if any(scenario.actors.values()):
        return scenario
    first = next(iter(scenario.semaphores))
    return Scenario(scenario.name, scenario.semaphores, scenario.queues,
                    {"h0": [Query("q0", first)]}, scenario.settings)


__all__ = ["KINDS", "InvalidDocument", "invalid_documents"]
