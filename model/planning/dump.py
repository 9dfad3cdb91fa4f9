"""`Workload` -> canonical `hipsem/workload-1` JSON document (every field explicit).

Used by `hipsem plan --save-workload` (for instance to keep an imported trace as a
workload file). Graphs are written in their expanded `"shape": "nodes"` form.

Invariant: `parse_workload(workload_document(w))` equals `w` up to float rounding of
lognormal parameters (written as median_us = exp(mu) and sigma).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from model.planning.parse import FORMAT
from model.planning.workload import (
    ArrivalKind,
    Arrivals,
    Duration,
    DurationKind,
    Graph,
    Process,
    WhatIf,
    Workload,
)

_DURATION_FIELDS: dict[DurationKind, Callable[[Duration], dict[str, Any]]] = {
    DurationKind.FIXED: lambda d: {"us": d.a},
    DurationKind.EXPONENTIAL: lambda d: {"mean_us": d.a},
    DurationKind.LOGNORMAL: lambda d: {"median_us": math.exp(d.a), "sigma": d.b},
    DurationKind.UNIFORM: lambda d: {"min_us": d.a, "max_us": d.b},
    DurationKind.EMPIRICAL: lambda d: {"samples_us": list(d.samples)},
}

_ARRIVAL_FIELDS: dict[ArrivalKind, tuple[str, ...]] = {
    ArrivalKind.POISSON: ("rate_hz",),
    ArrivalKind.PERIODIC: ("period_us",),
    ArrivalKind.BURST: ("size", "rate_hz", "period_us"),
    ArrivalKind.RAMP: ("rate_hz", "to_hz", "over_s"),
}


def _duration(d: Duration) -> dict[str, Any]:
    return {"kind": d.kind.value, **_DURATION_FIELDS[d.kind](d)}


def _arrivals(a: Arrivals) -> dict[str, Any]:
    values = {k: getattr(a, k) for k in _ARRIVAL_FIELDS[a.kind] if getattr(a, k)}
    return {"kind": a.kind.value, **values}


def _graph(g: Graph) -> dict[str, Any]:
    out: dict[str, Any] = {
        "shape": "nodes",
        "nodes": [{"slot": n.slot, "kernel": n.kernel, "after": list(n.after)} for n in g.nodes],
        "host_wait": g.host_wait,
    }
    if g.gate_us is not None:
        out["gate_us"] = g.gate_us
    return out


def _process(p: Process) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name,
                           "queue_offset": "round-robin" if p.queue_offset is None
                           else p.queue_offset}
    if p.replay is not None:
        out["replay"] = {"submissions": [list(s) for s in p.replay.submissions],
                         "span_us": p.replay.span_us, "loop": p.replay.loop}
    else:
        assert p.arrivals is not None
        out.update(graph=p.graph, arrivals=_arrivals(p.arrivals))
    return out


def _what_if(w: WhatIf) -> dict[str, Any]:
    return {"name": w.name, **{k: getattr(v, "value", v) for k, v in w.changes().items()}}


def workload_document(w: Workload) -> dict[str, Any]:
    """The canonical document of `w` (see the module docstring)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "name": w.name,
        "description": w.description,
        "queues": list(w.queues),
        "completion": w.completion.value,
        "max_wait_events": w.max_wait_events,
        "timing": asdict(w.timing),
        "plan": {**asdict(w.plan), "capacities": list(w.plan.capacities)},
        "processes": [_process(p) for p in w.processes],
        "what_if": [_what_if(x) for x in w.what_ifs],
    }
    if w.kernels:
        doc["kernels"] = {k: _duration(d) for k, d in w.kernels.items()}
    used = {p.graph for p in w.processes if p.replay is None}
    graphs = {k: _graph(g) for k, g in w.graphs.items() if k in used}
    if graphs:
        doc["graphs"] = graphs
    return doc
