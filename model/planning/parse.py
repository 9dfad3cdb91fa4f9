"""Workload files (`hipsem/workload-1`, TOML or JSON) -> `Workload`.

`load_workload(path)` reads a file: `.toml` is TOML, anything else JSON; a JSON document
that is a Chrome/Perfetto trace (an object with `traceEvents`, or an array of trace
events) is imported with `model.planning.trace`. `parse_workload(doc, source, base)`
validates a decoded document; `base` resolves relative `replay.trace` paths.

The format is documented in docs/planning.md and described by workload.schema.json.

Invariants: validation is by hand in document order and stops at the first problem with a
`WorkloadError` naming file, field path, value and expectation; the returned `Workload`
satisfies every invariant stated in `model.planning.workload`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from model.core.status import InvalidArgumentError, StatusCode
from model.fielderrors import key_path
from model.nesting import MAX_DEPTH, nesting_depth, too_deep_problem
from model.planning.validate import Checker, WorkloadError
from model.planning.workload import (
    ArrivalKind,
    Arrivals,
    Completion,
    Duration,
    DurationKind,
    Graph,
    Node,
    PlanDefaults,
    Process,
    Replay,
    WhatIf,
    Workload,
)
from model.sim.timing import Timing

FORMAT = "hipsem/workload-1"
MAX_QUEUES = 1024
MAX_NODES = 4096

__all__ = ["FORMAT", "WorkloadError", "decode", "load_workload", "parse_workload"]


def decode(path: Path) -> Any:
    """The decoded TOML/JSON document of `path` (WorkloadError if unreadable or malformed)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise WorkloadError(source, "", f"cannot read the file: {e.strerror or e}",
                            StatusCode.NOT_FOUND) from None
    except UnicodeDecodeError as e:
        raise WorkloadError(source, "", f"not UTF-8 text: {e.reason}") from None
    try:
        doc = _toml(text, source) if path.suffix.lower() == ".toml" else _json(text, source)
    except RecursionError:
        raise WorkloadError(source, "", too_deep_problem()) from None
    if nesting_depth(doc) > MAX_DEPTH:
        raise WorkloadError(source, "", too_deep_problem())
    return doc


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as e:
        raise WorkloadError(source, "", f"invalid JSON: {e}") from None


def _toml(text: str, source: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise WorkloadError(source, "", "TOML workloads need Python 3.11 or later; "
                            "write the workload as JSON instead") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise WorkloadError(source, "", f"invalid TOML: {e}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_workload(path: str | Path, timing_base: Timing | None = None) -> Workload:
    """Read a workload file (or a Chrome/Perfetto trace, imported with defaults).

    `timing_base` (a calibrated timing, `plan --timing FILE`) replaces the defaults under
    the workload's own `timing` overrides."""
    from model.planning.trace import import_trace_document, is_trace

    p = Path(path)
    doc = decode(p)
    if is_trace(doc):
        imported = import_trace_document(doc, str(p))
        return imported if timing_base is None else replace(imported, timing=timing_base)
    return parse_workload(doc, str(p), p.parent, timing_base)


def parse_workload(doc: Any, source: str = "<memory>", base: Path | None = None,
                   timing_base: Timing | None = None) -> Workload:
    """Validate a decoded workload document (see the module docstring)."""
    return _Parser(Checker(source), base or Path.cwd(), timing_base).workload(doc)


_TOP_REQUIRED = ("format", "queues", "processes")
_TOP_OPTIONAL = ("name", "description", "completion", "max_wait_events", "timing", "kernels",
                 "graphs", "plan", "what_if")


class _Parser:
    def __init__(self, check: Checker, base: Path, timing_base: Timing | None = None) -> None:
        self.c = check
        self.base = base
        self.timing_base = timing_base or Timing()
        self.kernels: dict[str, Duration] = {}
        self.graphs: dict[str, Graph] = {}

    # -- document ---------------------------------------------------------------------
    def workload(self, doc: Any) -> Workload:
        c = self.c
        d = c.obj(doc, "", _TOP_REQUIRED, _TOP_OPTIONAL)
        if d["format"] != FORMAT:
            c.expect("format", d["format"], json.dumps(FORMAT))
        queues = self.queues(d["queues"])
        if "kernels" in d:
            for name, spec in c.mapping(d["kernels"], "kernels", "distributions").items():
                self.kernels[name] = self.duration(spec, key_path("kernels", name))
        if "graphs" in d:
            for name, spec in c.mapping(d["graphs"], "graphs", "graph shapes").items():
                self.graphs[name] = self.graph(spec, key_path("graphs", name))
        return Workload(
            name=c.string(d.get("name", Path(c.source).stem or "workload"), "name"),
            description=self.text(d.get("description", ""), "description"),
            queues=queues,
            kernels=self.kernels,
            graphs=self.graphs,
            processes=self.processes(d["processes"], len(queues)),
            completion=Completion(c.choice(d.get("completion", "callback"), "completion",
                                           [m.value for m in Completion])),
            max_wait_events=c.integer(d.get("max_wait_events", 32), "max_wait_events", 0),
            timing=self.timing(d.get("timing", {})),
            plan=self.plan(d.get("plan", {})),
            what_ifs=self.what_ifs(d.get("what_if", [])),
        )

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            self.c.expect(path, value, "a string")
        return value

    def queues(self, value: Any) -> tuple[str, ...]:
        c = self.c
        if isinstance(value, int) and not isinstance(value, bool):
            n = c.integer(value, "queues", 1, MAX_QUEUES)
            return tuple(f"q{i}" for i in range(n))
        names = c.array(value, "queues", "queue names (or a queue count)")
        out = tuple(c.name(v, f"queues[{i}]") for i, v in enumerate(names))
        if len(set(out)) != len(out):
            dup = next(n for n in out if out.count(n) > 1)
            c.fail("queues", f"queue name {dup!r} appears twice; names must be unique")
        return out

    def timing(self, value: Any) -> Timing:
        names = [f.name for f in fields(Timing)]
        d = self.c.obj(value, "timing", (), names)
        checked = {k: self.c.number(v, key_path("timing", k)) for k, v in d.items()}
        try:
            return replace(self.timing_base, **checked)
        except InvalidArgumentError as e:
            self.c.fail("timing", str(e))

    # -- kernels ----------------------------------------------------------------------
    def duration(self, value: Any, path: str) -> Duration:
        c = self.c
        if not isinstance(value, dict):
            c.expect(path, value, "an object with a \"kind\" (fixed, exponential, lognormal, "
                     "uniform, empirical)")
        kind = DurationKind(c.choice(value.get("kind"), key_path(path, "kind"),
                                     [k.value for k in DurationKind]))
        required, optional, build = _DURATIONS[kind]
        d = c.obj(value, path, ("kind", *required), optional)
        return build(self, d, path)

    def _fixed(self, d: dict[str, Any], path: str) -> Duration:
        return Duration(DurationKind.FIXED, self.c.number(d["us"], key_path(path, "us")))

    def _exponential(self, d: dict[str, Any], path: str) -> Duration:
        mean = self.c.number(d["mean_us"], key_path(path, "mean_us"), positive=True)
        return Duration(DurationKind.EXPONENTIAL, mean)

    def _uniform(self, d: dict[str, Any], path: str) -> Duration:
        lo = self.c.number(d["min_us"], key_path(path, "min_us"))
        hi = self.c.number(d["max_us"], key_path(path, "max_us"), lo=lo)
        return Duration(DurationKind.UNIFORM, lo, hi)

    def _empirical(self, d: dict[str, Any], path: str) -> Duration:
        p = key_path(path, "samples_us")
        values = self.c.array(d["samples_us"], p, "durations in µs")
        return Duration(DurationKind.EMPIRICAL,
                        samples=tuple(self.c.number(v, f"{p}[{i}]") for i, v in enumerate(values)))

    def _lognormal(self, d: dict[str, Any], path: str) -> Duration:
        c = self.c
        centers = [k for k in ("median_us", "mean_us") if k in d]
        shapes = [k for k in ("sigma", "cv") if k in d]
        if len(centers) != 1 or len(shapes) != 1:
            c.fail(path, "a lognormal needs exactly one of median_us/mean_us and exactly one "
                   "of sigma/cv")
        center = c.number(d[centers[0]], key_path(path, centers[0]), positive=True)
        shape = c.number(d[shapes[0]], key_path(path, shapes[0]), hi=20.0)
        sigma = shape if shapes[0] == "sigma" else math.sqrt(math.log1p(shape * shape))
        mu = math.log(center) - (sigma * sigma / 2 if centers[0] == "mean_us" else 0.0)
        return Duration(DurationKind.LOGNORMAL, mu, sigma)

    def kernel_ref(self, value: Any, path: str) -> str:
        """A kernel name, or an inline distribution (registered under a name from `path`)."""
        if isinstance(value, dict):
            inline = re.sub(r"[^A-Za-z0-9_\-]+", "_", path).strip("_")
            self.kernels[inline] = self.duration(value, path)
            return inline
        name = self.c.name(value, path)
        if name not in self.kernels:
            known = ", ".join(self.kernels) or "none declared"
            self.c.fail(path, f"unknown kernel {name!r}; declared kernels: {known}")
        return name

    # -- graphs -----------------------------------------------------------------------
    def graph(self, value: Any, path: str) -> Graph:
        c = self.c
        if not isinstance(value, dict):
            c.expect(path, value, "an object with a \"shape\"")
        shape = c.choice(value.get("shape"), key_path(path, "shape"), list(_SHAPES))
        fields_ = ("shape", "host_wait", "gate_us", *_SHAPES[shape][0])
        d = c.obj(value, path, (), fields_)
        nodes = _SHAPES[shape][1](self, d, path)
        if len(nodes) > MAX_NODES:
            c.fail(path, f"{len(nodes)} nodes; at most {MAX_NODES} per step")
        gate = d.get("gate_us")
        return Graph(
            nodes=nodes,
            host_wait=c.boolean(d.get("host_wait", False), key_path(path, "host_wait")),
            gate_us=None if gate is None else c.number(gate, key_path(path, "gate_us")),
        )

    def _kernel_of(self, d: dict[str, Any], path: str, key: str = "kernel") -> str:
        if key not in d:
            if key != "kernel":
                return self._kernel_of(d, path)
            self.c.fail(key_path(path, key), "missing required field")
        return self.kernel_ref(d[key], key_path(path, key))

    def _single(self, d: dict[str, Any], path: str) -> tuple[Node, ...]:
        return (Node(0, self._kernel_of(d, path)),)

    def _spread(self, d: dict[str, Any], path: str) -> bool:
        return self.c.boolean(d.get("spread", False), key_path(path, "spread"))

    def _chain(self, d: dict[str, Any], path: str) -> tuple[Node, ...]:
        n = self.c.integer(d.get("length", 2), key_path(path, "length"), 1, MAX_NODES)
        k, spread = self._kernel_of(d, path), self._spread(d, path)
        return tuple(Node(i if spread else 0, k, (i - 1,) if i else ()) for i in range(n))

    def _fan(self, d: dict[str, Any], path: str) -> tuple[Node, ...]:
        c = self.c
        width = c.integer(d.get("width", 2), key_path(path, "width"), 1, MAX_NODES - 2)
        spread = self._spread(d, path)
        k = self._kernel_of(d, path)
        root = self._kernel_of(d, path, "root_kernel")
        nodes = [Node(0, root)]
        nodes += [Node(j + 1 if spread else 0, k, (0,)) for j in range(width)]
        if c.boolean(d.get("join", True), key_path(path, "join")):
            join = self._kernel_of(d, path, "join_kernel")
            nodes.append(Node(0, join, tuple(range(1, width + 1))))
        return tuple(nodes)

    def _nodes(self, d: dict[str, Any], path: str) -> tuple[Node, ...]:
        c = self.c
        p = key_path(path, "nodes")
        items = c.array(d.get("nodes"), p, "nodes")
        return tuple(self._node(v, f"{p}[{i}]", i) for i, v in enumerate(items))

    def _dep(self, value: Any, path: str, index: int) -> int:
        """An `after` entry: an earlier node's index (a later one or itself would be a
        cycle: node order is a topological order of every graph)."""
        dep = self.c.integer(value, path, 0)
        if dep >= index:
            what = "itself" if dep == index else f"node {dep}, which comes after it"
            earlier = (f"nodes 0..{index - 1}" if index > 1 else "node 0") if index else \
                "none: the first node cannot wait on another node"
            self.c.fail(path, f"node {index} waits on {what}: a dependency cycle. `after` "
                        f"lists earlier nodes only (here: {earlier}); list the nodes in "
                        "dependency order")
        return dep

    def _node(self, value: Any, path: str, index: int) -> Node:
        c = self.c
        d = c.obj(value, path, ("kernel",), ("slot", "after"))
        after = c.array(d.get("after", []), key_path(path, "after"), "earlier node indices",
                        nonempty=False)
        deps = tuple(self._dep(a, f"{key_path(path, 'after')}[{i}]", index)
                     for i, a in enumerate(after))
        return Node(c.integer(d.get("slot", 0), key_path(path, "slot"), 0, MAX_QUEUES),
                    self.kernel_ref(d["kernel"], key_path(path, "kernel")),
                    tuple(sorted(set(deps))))

    # -- processes --------------------------------------------------------------------
    def processes(self, value: Any, queues: int) -> tuple[Process, ...]:
        items = self.c.array(value, "processes", "submission processes")
        out = tuple(self.process(v, f"processes[{i}]", i) for i, v in enumerate(items))
        names = [p.name for p in out]
        for i, n in enumerate(names):
            if names.index(n) != i:
                self.c.fail(f"processes[{i}].name", f"process name {n!r} is used twice")
        return out

    def process(self, value: Any, path: str, index: int) -> Process:
        c = self.c
        d = c.obj(value, path, (), ("name", "graph", "arrivals", "queue_offset", "replay"))
        name = c.name(d.get("name", f"p{index}"), key_path(path, "name"))
        offset = self.offset(d.get("queue_offset", 0), key_path(path, "queue_offset"))
        if "replay" in d:
            if "graph" in d or "arrivals" in d:
                c.fail(path, "a process has either \"replay\" or \"graph\" + \"arrivals\"")
            return Process(name, queue_offset=offset,
                           replay=self.replay(d["replay"], key_path(path, "replay")))
        if "graph" not in d or "arrivals" not in d:
            missing = "graph" if "graph" not in d else "arrivals"
            c.fail(key_path(path, missing), "missing required field (or give \"replay\")")
        graph = c.name(d["graph"], key_path(path, "graph"))
        if graph not in self.graphs:
            known = ", ".join(self.graphs) or "none declared"
            c.fail(key_path(path, "graph"), f"unknown graph {graph!r}; declared graphs: {known}")
        return Process(name, graph, self.arrivals(d["arrivals"], key_path(path, "arrivals")),
                       offset)

    def offset(self, value: Any, path: str) -> int | None:
        if value == "round-robin":
            return None
        if isinstance(value, str):
            self.c.expect(path, value, "an integer >= 0 or \"round-robin\"")
        return self.c.integer(value, path, 0, MAX_QUEUES)

    def arrivals(self, value: Any, path: str) -> Arrivals:
        c = self.c
        if not isinstance(value, dict):
            c.expect(path, value, "an object with a \"kind\" (poisson, periodic, burst, ramp)")
        kind = ArrivalKind(c.choice(value.get("kind"), key_path(path, "kind"),
                                    [k.value for k in ArrivalKind]))
        required, optional = _ARRIVAL_FIELDS[kind]
        d = c.obj(value, path, ("kind", *required), optional)
        pos = {k: c.number(d[k], key_path(path, k), positive=True)
               for k in ("rate_hz", "period_us", "to_hz", "over_s") if k in d}
        if kind is ArrivalKind.BURST and ("rate_hz" in d) == ("period_us" in d):
            c.fail(path, "a burst process needs exactly one of rate_hz (Poisson bursts) and "
                   "period_us (periodic bursts)")
        size = c.integer(d.get("size", 1), key_path(path, "size"), 1, MAX_NODES)
        return Arrivals(kind, size=size, **pos)

    def replay(self, value: Any, path: str) -> Replay:
        c = self.c
        d = c.obj(value, path, (), ("trace", "submissions", "span_us", "loop", "categories"))
        loop = c.boolean(d.get("loop", True), key_path(path, "loop"))
        if ("trace" in d) == ("submissions" in d):
            c.fail(path, "a replay needs exactly one of \"trace\" (a Chrome/Perfetto JSON "
                   "file) and \"submissions\"")
        if "trace" in d:
            return self._trace_replay(d, path, loop)
        p = key_path(path, "submissions")
        subs = tuple(self._submission(v, f"{p}[{i}]")
                     for i, v in enumerate(c.array(d["submissions"], p, "[t_us, slot, dur_us]")))
        if any(b[0] < a[0] for a, b in itertools.pairwise(subs)):
            c.fail(p, "submissions must be sorted by time")
        last = subs[-1][0] + subs[-1][2]
        span = c.number(d.get("span_us", last), key_path(path, "span_us"), lo=0.0,
                        positive=True)
        return Replay(subs, max(span, subs[-1][0]), loop)

    def _submission(self, value: Any, path: str) -> tuple[float, int, float]:
        c = self.c
        if not isinstance(value, list) or len(value) != 3:
            c.expect(path, value, "[time_us, queue slot, duration_us]")
        return (c.number(value[0], f"{path}[0]"), c.integer(value[1], f"{path}[1]", 0,
                MAX_QUEUES), c.number(value[2], f"{path}[2]"))

    def _trace_replay(self, d: dict[str, Any], path: str, loop: bool) -> Replay:
        from model.planning.trace import DEFAULT_CATEGORIES, replay_from_trace_file

        c = self.c
        file = self.base / c.string(d["trace"], key_path(path, "trace"))
        cats = d.get("categories", list(DEFAULT_CATEGORIES))
        p = key_path(path, "categories")
        names = tuple(c.string(v, f"{p}[{i}]") for i, v in enumerate(c.array(cats, p, "names")))
        return replay_from_trace_file(file, names, loop)

    # -- plan defaults and what-ifs ---------------------------------------------------
    def plan(self, value: Any) -> PlanDefaults:
        c = self.c
        d = c.obj(value, "plan", (), [f.name for f in fields(PlanDefaults)])
        base = PlanDefaults()
        caps = d.get("capacities")
        return PlanDefaults(
            capacities=base.capacities if caps is None else parse_capacities(c, caps,
                                                                             "plan.capacities"),
            target_miss=c.number(d.get("target_miss", base.target_miss), "plan.target_miss",
                                 hi=1.0, positive=True),
            replications=c.integer(d.get("replications", base.replications),
                                   "plan.replications", 1, 10_000),
            duration_s=c.number(d.get("duration_s", base.duration_s), "plan.duration_s",
                                positive=True),
            warmup_s=c.number(d.get("warmup_s", base.warmup_s), "plan.warmup_s"),
            seed=c.integer(d.get("seed", base.seed), "plan.seed", 0, 2**63 - 1),
        )

    def what_ifs(self, value: Any) -> tuple[WhatIf, ...]:
        items = self.c.array(value, "what_if", "what-if variants", nonempty=False)
        return tuple(parse_what_if_table(self.c, v, f"what_if[{i}]", f"what-if {i + 1}")
                     for i, v in enumerate(items))


def parse_capacities(c: Checker, value: Any, path: str) -> tuple[int, ...]:
    items = c.array(value, path, "pool capacities")
    caps = [c.integer(v, f"{path}[{i}]", 0, 1_000_000) for i, v in enumerate(items)]
    return tuple(sorted(set(caps)))


_WHAT_IF_KEYS: dict[str, Callable[[Checker, Any, str], Any]] = {
    "rate": lambda c, v, p: c.number(v, p, positive=True),
    "duration": lambda c, v, p: c.number(v, p, positive=True),
    "burst": lambda c, v, p: c.number(v, p, positive=True),
    "latency": lambda c, v, p: c.number(v, p),
    "queues": lambda c, v, p: c.integer(v, p, 1, MAX_QUEUES),
    "completion": lambda c, v, p: Completion(c.choice(v, p, [m.value for m in Completion])),
}


def parse_what_if_table(c: Checker, value: Any, path: str, default_name: str) -> WhatIf:
    """A what-if from an object: a name and one or more of the keys of `_WHAT_IF_KEYS`."""
    d = c.obj(value, path, (), ("name", *_WHAT_IF_KEYS))
    changes = {k: _WHAT_IF_KEYS[k](c, v, key_path(path, k)) for k, v in d.items() if k != "name"}
    if not changes:
        c.fail(path, f"a what-if changes nothing; give one or more of {', '.join(_WHAT_IF_KEYS)}")
    name = c.string(d.get("name", default_name), key_path(path, "name"))
    return WhatIf(name, **changes)


def parse_what_if_text(text: str, index: int) -> WhatIf:
    """A what-if from the command line: `rate=2,duration=0.5` (numbers or a mode)."""
    c = Checker("<command line>")
    path = f"--what-if[{index}]"
    table: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or not key:
            c.expect(path, text, "KEY=VALUE[,KEY=VALUE...] with keys "
                     + ", ".join(_WHAT_IF_KEYS))
        table[key] = _number_or_text(raw.strip())
    return parse_what_if_table(c, table, path, text)


def _number_or_text(raw: str) -> Any:
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            continue
    return raw


_DURATIONS: dict[DurationKind, tuple[tuple[str, ...], tuple[str, ...],
                                     Callable[[_Parser, dict[str, Any], str], Duration]]] = {
    DurationKind.FIXED: (("us",), (), _Parser._fixed),
    DurationKind.EXPONENTIAL: (("mean_us",), (), _Parser._exponential),
    DurationKind.UNIFORM: (("min_us", "max_us"), (), _Parser._uniform),
    DurationKind.EMPIRICAL: (("samples_us",), (), _Parser._empirical),
    DurationKind.LOGNORMAL: ((), ("median_us", "mean_us", "sigma", "cv"), _Parser._lognormal),
}

_SHAPES: dict[str, tuple[tuple[str, ...],
                         Callable[[_Parser, dict[str, Any], str], tuple[Node, ...]]]] = {
    "single": (("kernel",), _Parser._single),
    "chain": (("kernel", "length", "spread"), _Parser._chain),
    "fan": (("kernel", "root_kernel", "join_kernel", "width", "join", "spread"), _Parser._fan),
    "nodes": (("nodes",), _Parser._nodes),
}

_ARRIVAL_FIELDS: dict[ArrivalKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ArrivalKind.POISSON: (("rate_hz",), ()),
    ArrivalKind.PERIODIC: (("period_us",), ()),
    ArrivalKind.BURST: (("size",), ("rate_hz", "period_us")),
    ArrivalKind.RAMP: (("rate_hz", "to_hz", "over_s"), ()),
}
