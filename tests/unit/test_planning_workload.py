"""Workload files: the examples parse, every invalid input names file, field and value.

The format is `hipsem/workload-1` (docs/planning.md); the JSON Schema next to the parser
must describe the same fields the parser accepts.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from model.planning import parse as parse_module
from model.planning.dump import workload_document
from model.planning.parse import load_workload, parse_what_if_text, parse_workload
from model.planning.validate import WorkloadError
from model.planning.variants import apply
from model.planning.workload import (
    ArrivalKind,
    Completion,
    DurationKind,
    WhatIf,
)
from model.sim.timing import Timing

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples" / "workloads").iterdir()
                  if p.suffix in (".toml", ".json"))
SCHEMA = ROOT / "model" / "planning" / "workload.schema.json"

BASE: dict[str, Any] = {
    "format": "hipsem/workload-1",
    "name": "t",
    "queues": 2,
    "kernels": {"k": {"kind": "exponential", "mean_us": 10}},
    "graphs": {"g": {"shape": "fan", "width": 2, "kernel": "k", "spread": True}},
    "processes": [{"graph": "g", "arrivals": {"kind": "poisson", "rate_hz": 100}}],
}


def doc(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    out.update(changes)
    return out


def test_every_example_workload_parses() -> None:
    assert {p.name for p in EXAMPLES} >= {"poisson.toml", "serving.toml", "training.json"}
    for path in EXAMPLES:
        workload = load_workload(path)
        assert workload.processes, path


def test_a_fan_expands_to_root_branches_and_join_on_consecutive_slots() -> None:
    graph = parse_workload(BASE).graphs["g"]
    assert [(n.slot, n.after) for n in graph.nodes] == [(0, ()), (1, (0,)), (2, (0,)),
                                                        (0, (1, 2))]
    assert graph.sinks == (3,)


def test_a_chain_without_spread_stays_on_one_slot() -> None:
    w = parse_workload(doc(graphs={"c": {"shape": "chain", "length": 3, "kernel": "k"}},
                           processes=[{"graph": "c", "arrivals": {"kind": "periodic",
                                                                  "period_us": 100}}]))
    assert [(n.slot, n.after) for n in w.graphs["c"].nodes] == [(0, ()), (0, (0,)), (0, (1,))]


def test_lognormal_accepts_median_sigma_or_mean_cv() -> None:
    w = parse_workload(doc(kernels={
        "a": {"kind": "lognormal", "median_us": 100, "sigma": 0.5},
        "b": {"kind": "lognormal", "mean_us": 100, "cv": 0.5},
    }, graphs={"g": {"shape": "single", "kernel": "a"}}))
    assert math.exp(w.kernels["a"].a) == pytest.approx(100)
    assert w.kernels["b"].mean_us == pytest.approx(100)


def test_inline_kernels_get_a_name_from_their_path() -> None:
    w = parse_workload(doc(graphs={"g": {"shape": "single",
                                         "kernel": {"kind": "fixed", "us": 5}}}))
    (node,) = w.graphs["g"].nodes
    assert w.kernels[node.kernel].mean_us == 5


# Each case: a change to the valid document, the field path the error must name, and a
# fragment of the problem it must state.
INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("format", {"format": "hipsem/workload-0"}, "format", "expected \"hipsem/workload-1\""),
    ("unknown top field", {"queue": 2}, "queue", "unknown field"),
    ("queues zero", {"queues": 0}, "queues", "below the minimum 1"),
    ("queue names twice", {"queues": ["a", "a"]}, "queues", "appears twice"),
    ("bad kernel kind", {"kernels": {"k": {"kind": "gamma"}}}, "kernels.k.kind",
     "expected one of"),
    ("negative mean", {"kernels": {"k": {"kind": "exponential", "mean_us": -1}}},
     "kernels.k.mean_us", "must be > 0"),
    ("lognormal both", {"kernels": {"k": {"kind": "lognormal", "median_us": 1, "mean_us": 2,
                                          "sigma": 1}}}, "kernels.k", "exactly one"),
    ("empty samples", {"kernels": {"k": {"kind": "empirical", "samples_us": []}}},
     "kernels.k.samples_us", "non-empty array"),
    ("uniform reversed", {"kernels": {"k": {"kind": "uniform", "min_us": 5, "max_us": 1}}},
     "kernels.k.max_us", "below the minimum 5"),
    ("unknown kernel", {"graphs": {"g": {"shape": "single", "kernel": "nope"}}},
     "graphs.g.kernel", "unknown kernel 'nope'"),
    ("bad shape", {"graphs": {"g": {"shape": "star", "kernel": "k"}}}, "graphs.g.shape",
     "expected one of"),
    ("forward dependency", {"graphs": {"g": {"shape": "nodes", "nodes": [
        {"kernel": "k"}, {"kernel": "k", "after": [1]}]}}}, "graphs.g.nodes[1].after[0]",
     "node 1 waits on itself: a dependency cycle"),
    ("cycle through a later node", {"graphs": {"g": {"shape": "nodes", "nodes": [
        {"kernel": "k"}, {"kernel": "k", "after": [2]}, {"kernel": "k", "after": [1]}]}}},
     "graphs.g.nodes[1].after[0]", "node 1 waits on node 2, which comes after it: a "
     "dependency cycle"),
    ("name with a tab", {"processes": [{"name": "p\t", "graph": "g", "arrivals": {
        "kind": "poisson", "rate_hz": 1}}]}, "processes[0].name", "printable characters"),
    ("unknown graph", {"processes": [{"graph": "h", "arrivals": {"kind": "poisson",
                                                                 "rate_hz": 1}}]},
     "processes[0].graph", "unknown graph 'h'"),
    ("zero rate", {"processes": [{"graph": "g", "arrivals": {"kind": "poisson",
                                                             "rate_hz": 0}}]},
     "processes[0].arrivals.rate_hz", "must be > 0"),
    ("rate as text", {"processes": [{"graph": "g", "arrivals": {"kind": "poisson",
                                                                "rate_hz": "fast"}}]},
     "processes[0].arrivals.rate_hz", "got \"fast\" (string); expected a finite number"),
    ("burst needs one clock", {"processes": [{"graph": "g", "arrivals": {
        "kind": "burst", "size": 4}}]}, "processes[0].arrivals", "exactly one of rate_hz"),
    ("missing arrivals", {"processes": [{"graph": "g"}]}, "processes[0].arrivals",
     "missing required field"),
    ("bad offset", {"processes": [{"graph": "g", "queue_offset": "random", "arrivals": {
        "kind": "poisson", "rate_hz": 1}}]}, "processes[0].queue_offset", "round-robin"),
    ("duplicate process", {"processes": [
        {"name": "a", "graph": "g", "arrivals": {"kind": "poisson", "rate_hz": 1}},
        {"name": "a", "graph": "g", "arrivals": {"kind": "poisson", "rate_hz": 1}}]},
     "processes[1].name", "used twice"),
    ("unsorted replay", {"processes": [{"replay": {"submissions": [[5, 0, 1], [1, 0, 1]]}}]},
     "processes[0].replay.submissions", "sorted by time"),
    ("replay triple", {"processes": [{"replay": {"submissions": [[5, 0]]}}]},
     "processes[0].replay.submissions[0]", "[time_us, queue slot, duration_us]"),
    ("timing field", {"timing": {"callback_latency": 5}}, "timing.callback_latency",
     "unknown field"),
    ("timing range", {"timing": {"jitter": 2}}, "timing", "jitter must be at most 1"),
    ("capacities", {"plan": {"capacities": [8, -1]}}, "plan.capacities[1]",
     "below the minimum 0"),
    ("target", {"plan": {"target_miss": 0}}, "plan.target_miss", "must be > 0"),
    ("what-if empty", {"what_if": [{"name": "x"}]}, "what_if[0]", "changes nothing"),
    ("what-if mode", {"what_if": [{"completion": "polling"}]}, "what_if[0].completion",
     "expected one of \"callback\", \"thread\""),
]


@pytest.mark.parametrize(("case", "change", "path", "fragment"), INVALID,
                         ids=[c[0] for c in INVALID])
def test_invalid_documents_name_the_field_and_the_problem(
        case: str, change: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(WorkloadError) as info:
        parse_workload(doc(**change), "w.json")
    assert info.value.path == path
    assert fragment in info.value.problem
    assert str(info.value).startswith(f"w.json: {path}: ")


def test_malformed_files_are_reported_with_the_file_name(tmp_path: Path) -> None:
    bad_toml = tmp_path / "w.toml"
    bad_toml.write_text("format = \"hipsem/workload-1\"\nqueues = [\n")
    bad_json = tmp_path / "w.json"
    bad_json.write_text("{\"format\": NaN}")
    for path, fragment in ((bad_toml, "invalid TOML"), (bad_json, "invalid JSON"),
                           (tmp_path / "missing.json", "cannot read the file")):
        with pytest.raises(WorkloadError, match=fragment) as info:
            load_workload(path)
        assert info.value.source == str(path)


def test_a_replay_trace_path_is_resolved_next_to_the_workload(tmp_path: Path) -> None:
    (tmp_path / "w.json").write_text(json.dumps(doc(processes=[
        {"replay": {"trace": "nowhere.json"}}])))
    with pytest.raises(WorkloadError, match="cannot read") as info:
        load_workload(tmp_path / "w.json")
    assert info.value.source == str(tmp_path / "nowhere.json")


@pytest.mark.parametrize(("text", "expected"), [
    ("rate=2", WhatIf("rate=2", rate=2.0)),
    ("duration=0.5,queues=8", WhatIf("duration=0.5,queues=8", duration=0.5, queues=8)),
    ("completion=thread,burst=2", WhatIf("completion=thread,burst=2",
                                         completion=Completion.THREAD, burst=2.0)),
])
def test_what_if_options_parse(text: str, expected: WhatIf) -> None:
    assert parse_what_if_text(text, 0) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("rate", "KEY=VALUE"), ("speed=2", "unknown field"), ("rate=-1", "must be > 0"),
    ("queues=1.5", "an integer"), ("completion=poll", "expected one of"),
])
def test_bad_what_if_options_name_the_option(text: str, fragment: str) -> None:
    with pytest.raises(WorkloadError, match=fragment) as info:
        parse_what_if_text(text, 3)
    assert info.value.source == "<command line>"
    assert info.value.path.startswith("--what-if[3]")


def test_what_ifs_scale_rates_durations_bursts_latency_and_set_queues_and_mode() -> None:
    w = parse_workload(doc(processes=[
        {"graph": "g", "arrivals": {"kind": "burst", "size": 4, "period_us": 1000}}]))
    v = apply(w, WhatIf("v", rate=2, duration=3, queues=5, burst=2,
                        completion=Completion.THREAD, latency=0.5))
    arrivals = v.processes[0].arrivals
    assert arrivals is not None and arrivals.kind is ArrivalKind.BURST
    assert (arrivals.period_us, arrivals.size) == (500, 8)
    assert v.kernels["k"].mean_us == pytest.approx(30)
    assert v.queues == ("q0", "q1", "q2", "q3", "q4")
    assert v.completion is Completion.THREAD
    assert v.timing.callback_latency_us == pytest.approx(w.timing.callback_latency_us / 2)
    assert w.kernels["k"].mean_us == 10  # the input is unchanged


def test_the_canonical_document_parses_back_to_the_same_workload() -> None:
    for path in EXAMPLES:
        w = load_workload(path)
        again = parse_workload(json.loads(json.dumps(workload_document(w))), "<dump>")
        assert again.processes == w.processes, path
        assert again.graphs == {k: g for k, g in w.graphs.items()
                                if any(p.graph == k for p in w.processes)}
        for name, dist in w.kernels.items():
            assert again.kernels[name].kind is dist.kind
            assert again.kernels[name].mean_us == pytest.approx(dist.mean_us)
        assert (again.timing, again.plan, again.what_ifs) == (w.timing, w.plan, w.what_ifs)


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())  # type: ignore[no-any-return]


def test_the_json_schema_lists_exactly_the_fields_the_parser_accepts() -> None:
    schema = _schema()
    top = set(parse_module._TOP_REQUIRED) | set(parse_module._TOP_OPTIONAL)
    assert set(schema["properties"]) == top
    assert set(schema["required"]) == set(parse_module._TOP_REQUIRED)
    defs = schema["$defs"]
    assert set(defs["timing"]["properties"]) == {f.name for f in fields(Timing)}
    assert set(defs["what_if"]["properties"]) - {"name"} == set(parse_module._WHAT_IF_KEYS)
    kinds = {o["properties"]["kind"]["const"] for o in defs["duration"]["oneOf"]}
    assert kinds == {k.value for k in DurationKind}
    shapes = {o["properties"]["shape"]["const"] for o in defs["graph"]["oneOf"]}
    assert shapes == set(parse_module._SHAPES)
    arrivals = {o["properties"]["kind"]["const"] for o in defs["arrivals"]["oneOf"]}
    assert arrivals == {k.value for k in ArrivalKind}


def test_the_examples_validate_against_the_json_schema() -> None:
    import jsonschema
    import tomllib

    schema = _schema()
    for path in EXAMPLES:
        text = path.read_text()
        document = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        jsonschema.validate(document, schema)


def test_names_in_any_script_are_accepted_and_shown_as_written() -> None:
    w = parse_workload(doc(name="рабочая", queues=["очередь", "キュー"],
                           kernels={"ядро": {"kind": "fixed", "us": 5}},
                           graphs={"граф": {"shape": "single", "kernel": "ядро"}},
                           processes=[{"name": "процесс", "graph": "граф", "arrivals": {
                               "kind": "poisson", "rate_hz": 100}}]), "w.json")
    assert w.queues == ("очередь", "キュー") and w.processes[0].name == "процесс"
    with pytest.raises(WorkloadError) as info:
        parse_workload(doc(processes=[{"name": "процесс", "graph": "нет",
                                       "arrivals": {"kind": "poisson", "rate_hz": 1}}]),
                       "w.json")
    assert "нет" in str(info.value) and "\\u" not in str(info.value)


def test_an_empty_trace_array_is_a_trace_without_kernel_slices(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("[]")
    with pytest.raises(WorkloadError) as info:
        load_workload(path)
    assert "trace events" in info.value.problem
    assert "expected an object" not in info.value.problem
