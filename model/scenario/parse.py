"""Scenario files (`hipsem/scenario-1`): JSON text <-> `Scenario`.

`load_scenario(path)` reads a file, `parse_scenario(obj)` validates an already-decoded JSON
value, and `scenario_to_json(scenario)` writes the canonical JSON form (every field
explicit, defaults filled in). The format is documented in docs/scenarios.md and described
by model/scenario/schema.json.

Invariants:
  * Validation is by hand, in document order, and stops at the first problem: the
    `ScenarioError` names the source, the JSON field path (`actors.main[0].wait.W`), the
    offending value and what was expected.
  * Everything `types.py` promises holds for a parsed scenario: unique op ids, declared
    names only, timeline values that are ints (never bools) in [0, MAX_VALUE], and per
    semaphore, signal values that are distinct and above its initial value.
  * `parse_scenario(scenario_to_json(s)) == s` for every parsed `s`, and
    `scenario_to_json` is a fixpoint: applying it to its own parse changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from model.core.defects import Defect
from model.core.status import InvalidArgumentError, StatusCode
from model.faults import (
    CALL_ERRORS,
    DEFAULT_LOST_ERROR,
    DEFAULT_WORK_ERROR,
    INJECTABLE_CALLS,
    LOST_ERRORS,
    CallFault,
    DeviceLost,
    FaultPlan,
    WorkFault,
)
from model.fielderrors import FieldError
from model.fielderrors import index_path as _index
from model.fielderrors import key_path as _key
from model.fielderrors import show as _show
from model.nesting import MAX_DEPTH, nesting_depth, too_deep_problem
from model.scenario.types import (
    FORMAT,
    MAX_VALUE,
    Completion,
    Execute,
    Fail,
    Op,
    Query,
    Replay,
    Scenario,
    Settings,
    Signal,
    Sleep,
    Wait,
    WaitMode,
)
from model.sim.timing import Timing

__all__ = ["ScenarioError", "load_scenario", "parse_scenario", "scenario_to_json"]

_INT32_MAX = 2**31 - 1


class ScenarioError(FieldError):
    """A scenario file (or object) is not a valid `hipsem/scenario-1` scenario.

    `source` is the file name (or `<memory>`), `path` the JSON field path ("" for the
    document itself). `code` is INVALID_ARGUMENT, or OUT_OF_RANGE for a value outside its
    range or a non-increasing signal, or NOT_FOUND for a file that cannot be read.
    """


# --------------------------------------------------------------------------- JSON decoding


class _DupDict(dict[str, Any]):
    """A decoded JSON object that had a repeated key (reported with its field path)."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    dups: list[str] = []
    for k, v in pairs:
        if k in seen:
            dups.append(k)
        else:
            seen[k] = v
    if not dups:
        return seen
    out = _DupDict(seen)
    out.duplicates = dups
    return out


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _decode(text: str, source: str) -> Any:
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant)
    except RecursionError:
        raise ScenarioError(source, "", too_deep_problem()) from None
    except json.JSONDecodeError as e:
        raise ScenarioError(
            source, "", f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None
    except ValueError as e:
        raise ScenarioError(source, "", f"invalid JSON: {e}") from None
    if nesting_depth(doc) > MAX_DEPTH:
        raise ScenarioError(source, "", too_deep_problem())
    return doc


# --------------------------------------------------------------------------- validation


class _Ctx:
    """The source name, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str, code: StatusCode | None = None) -> NoReturn:
        raise ScenarioError(self.source, path, problem, code)

    def expect(self, path: str, value: Any, expected: str) -> NoReturn:
        self.fail(path, f"got {_show(value)}; expected {expected}")

    def obj(
        self, value: Any, path: str, required: Iterable[str], optional: Iterable[str]
    ) -> dict[str, Any]:
        """Check `value` is an object with exactly the allowed keys; return it."""
        what = "an object" if path else "a JSON object at the top level"
        if not isinstance(value, dict):
            self.expect(path, value, what)
        self.no_duplicates(value, path)
        req, opt = list(required), list(optional)
        unknown = [k for k in value if k not in req and k not in opt]
        if unknown:
            allowed = ", ".join(req + opt)
            names = ", ".join(json.dumps(k) for k in unknown)
            self.fail(path, f"unknown field(s) {names}; allowed fields are {allowed}")
        missing = [k for k in req if k not in value]
        if missing:
            self.fail(_key(path, missing[0]), "missing required field")
        return value

    def mapping(self, value: Any, path: str, what: str) -> dict[str, Any]:
        """An object used as a map (arbitrary keys)."""
        if not isinstance(value, dict):
            self.expect(path, value, f"an object mapping {what}")
        self.no_duplicates(value, path)
        for k in value:
            if not k:
                self.fail(path, "empty name; expected a non-empty string key")
        return value

    def no_duplicates(self, value: dict[str, Any], path: str) -> None:
        dups = getattr(value, "duplicates", None)
        if dups:
            self.fail(_key(path, dups[0]), f"duplicate key {dups[0]!r} in the same object")

    def array(self, value: Any, path: str, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.expect(path, value, f"an array of {what}")
        return value

    def string(self, value: Any, path: str, nonempty: bool = True) -> str:
        if not isinstance(value, str) or (nonempty and not value):
            self.expect(path, value, "a non-empty string" if nonempty else "a string")
        return value

    def integer(self, value: Any, path: str, hi: int, what: str = "an integer") -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.expect(path, value, f"{what} in [0, {hi}]")
        self.in_range(value, path, hi)
        return value

    def in_range(self, value: int | float, path: str, hi: float | None) -> None:
        if value < 0:
            self.fail(path, f"value {value} is below the minimum 0", StatusCode.OUT_OF_RANGE)
        if hi is not None and value > hi:
            self.fail(path, f"value {value} is above the maximum {hi}", StatusCode.OUT_OF_RANGE)

    def timeline(self, value: Any, path: str) -> int:
        return self.integer(value, path, MAX_VALUE, "a timeline value (integer)")

    def micros(self, value: Any, path: str) -> float:
        """A duration in microseconds: a finite number >= 0, returned as float."""
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            self.expect(path, value, "a finite number of microseconds >= 0")
        self.in_range(value, path, None)
        return float(value)

    def choice(self, value: Any, path: str, choices: Iterable[str]) -> str:
        names = list(choices)
        if not isinstance(value, str) or value not in names:
            self.expect(path, value, "one of " + ", ".join(json.dumps(n) for n in names))
        return value


# --------------------------------------------------------------------------- ops

_COMMON = ("op", "id")
_OP_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # op: (required fields, optional fields) besides "op" and "id"
    "execute": (("queue",), ("wait", "signal", "duration_us")),
    "query": (("semaphore",), ()),
    "signal": (("semaphore", "value"), ()),
    "wait": (("semaphores",), ("mode", "timeout_us")),
    "sleep": (("us",), ()),
    "fail": (("semaphore", "code"), ("message",)),
}
_FAIL_CODES = [c.name for c in StatusCode if c is not StatusCode.OK]


class _OpParser:
    """Parses the ops of one scenario, given its declared semaphores and queues."""

    def __init__(self, ctx: _Ctx, semaphores: dict[str, int], queues: list[str]) -> None:
        self.ctx = ctx
        self.semaphores = semaphores
        self.queues = queues
        self.table: dict[str, Callable[[dict[str, Any], str, str], Op]] = {
            "execute": self.execute,
            "query": self.query,
            "signal": self.signal,
            "wait": self.wait,
            "sleep": self.sleep,
            "fail": self.fail,
        }

    def parse(self, value: Any, path: str, default_id: str) -> Op:
        ctx = self.ctx
        if not isinstance(value, dict):
            ctx.expect(path, value, 'an op object with an "op" field')
        if "op" not in value:
            ctx.fail(_key(path, "op"), "missing required field")
        kind = ctx.choice(value["op"], _key(path, "op"), _OP_FIELDS)
        req, opt = _OP_FIELDS[kind]
        ctx.obj(value, path, ("op", *req), ("id", *opt))
        op_id = ctx.string(value["id"], _key(path, "id")) if "id" in value else default_id
        return self.table[kind](value, path, op_id)

    def semaphore(self, value: Any, path: str) -> str:
        name = self.ctx.string(value, path)
        if name not in self.semaphores:
            self.ctx.expect(path, value, 'a semaphore declared in "semaphores"')
        return name

    def values(self, value: Any, path: str) -> dict[str, int]:
        """A map semaphore -> timeline value (a wait or signal list; may be empty)."""
        m = self.ctx.mapping(value, path, "semaphore names to timeline values")
        for name, v in m.items():
            if name not in self.semaphores:
                self.ctx.fail(
                    _key(path, name), f'semaphore {name!r} is not declared in "semaphores"'
                )
            self.ctx.timeline(v, _key(path, name))
        return dict(m)

    def execute(self, v: dict[str, Any], path: str, op_id: str) -> Op:
        queue = self.ctx.string(v["queue"], _key(path, "queue"))
        if queue not in self.queues:
            self.ctx.expect(_key(path, "queue"), queue, 'a queue declared in "queues"')
        return Execute(
            id=op_id,
            queue=queue,
            wait=self.values(v.get("wait", {}), _key(path, "wait")),
            signal=self.values(v.get("signal", {}), _key(path, "signal")),
            duration_us=self.ctx.micros(v.get("duration_us", 0), _key(path, "duration_us")),
        )

    def query(self, v: dict[str, Any], path: str, op_id: str) -> Op:
        return Query(id=op_id, semaphore=self.semaphore(v["semaphore"], _key(path, "semaphore")))

    def signal(self, v: dict[str, Any], path: str, op_id: str) -> Op:
        return Signal(
            id=op_id,
            semaphore=self.semaphore(v["semaphore"], _key(path, "semaphore")),
            value=self.ctx.timeline(v["value"], _key(path, "value")),
        )

    def wait(self, v: dict[str, Any], path: str, op_id: str) -> Op:
        mode = self.ctx.choice(
            v.get("mode", "all"), _key(path, "mode"), [m.value for m in WaitMode]
        )
        timeout = v.get("timeout_us")
        return Wait(
            id=op_id,
            semaphores=self.values(v["semaphores"], _key(path, "semaphores")),
            mode=WaitMode(mode),
            timeout_us=None
            if timeout is None
            else self.ctx.micros(timeout, _key(path, "timeout_us")),
        )

    def sleep(self, v: dict[str, Any], path: str, op_id: str) -> Op:
        return Sleep(id=op_id, us=self.ctx.micros(v["us"], _key(path, "us")))

    def fail(self, v: dict[str, Any], path: str, op_id: str) -> Op:
        return Fail(
            id=op_id,
            semaphore=self.semaphore(v["semaphore"], _key(path, "semaphore")),
            code=self.ctx.choice(v["code"], _key(path, "code"), _FAIL_CODES),
            message=self.ctx.string(v.get("message", ""), _key(path, "message"), nonempty=False),
        )


# --------------------------------------------------------------------------- document

_TOP_REQUIRED = ("format", "name", "semaphores", "queues", "actors")
_TOP_OPTIONAL = ("description", "settings", "replay", "faults")
_SEED_MAX = 2**64 - 1
_SETTINGS_INTS = ("event_pool_capacity", "timepoint_pool_capacity", "max_wait_events")


def _settings(ctx: _Ctx, value: Any) -> Settings:
    s = ctx.obj(value, "settings", (), (*_SETTINGS_INTS, "completion"))
    ints = {k: ctx.integer(s[k], _key("settings", k), _INT32_MAX) for k in _SETTINGS_INTS if k in s}
    completion = Settings().completion
    if "completion" in s:
        name = ctx.choice(s["completion"], "settings.completion", [c.value for c in Completion])
        completion = Completion(name)
    return Settings(**ints, completion=completion)


def _replay(ctx: _Ctx, value: Any) -> Replay:
    r = ctx.obj(value, "replay", (), ("seed", "defects", "timing"))
    seed = ctx.integer(r["seed"], "replay.seed", _SEED_MAX) if "seed" in r else 0
    names = ctx.array(r.get("defects", []), "replay.defects", "defect names")
    choices = [d.value for d in Defect]
    defects = [ctx.choice(d, _index("replay.defects", i), choices) for i, d in enumerate(names)]
    timing = _replay_timing(ctx, r.get("timing", {}))
    return Replay(seed=seed, defects=tuple(defects), timing=timing)


def _replay_timing(ctx: _Ctx, value: Any) -> dict[str, float]:
    """Overrides of `Timing` fields; the whole model is validated by `Timing` itself."""
    fields = [f.name for f in dataclasses.fields(Timing)]
    table = ctx.mapping(value, "replay.timing", "Timing field names to numbers")
    timing = {}
    for name, number in table.items():
        path = _key("replay.timing", name)
        ctx.choice(name, path, fields)
        timing[name] = ctx.micros(number, path)
    try:
        Timing(**timing)
    except InvalidArgumentError as error:
        ctx.fail("replay.timing", str(error))
    return timing


def _faults(ctx: _Ctx, value: Any, executes: set[str]) -> FaultPlan:
    """The optional `faults` section (docs/faults.md)."""
    f = ctx.obj(value, "faults", (), ("calls", "work", "device_lost"))
    calls = tuple(_call_fault(ctx, item, _index("faults.calls", i))
                  for i, item in enumerate(ctx.array(f.get("calls", []), "faults.calls",
                                                     "call faults")))
    work = []
    for i, item in enumerate(ctx.array(f.get("work", []), "faults.work", "work faults")):
        path = _index("faults.work", i)
        w = ctx.obj(item, path, ("execute",), ("error",))
        name = ctx.string(w["execute"], _key(path, "execute"))
        if name not in executes:
            ctx.expect(_key(path, "execute"), name, "the id of an execute op of the scenario")
        error = ctx.choice(w.get("error", DEFAULT_WORK_ERROR), _key(path, "error"), CALL_ERRORS)
        work.append(WorkFault(name, error))
    lost = None
    if "device_lost" in f:
        d = ctx.obj(f["device_lost"], "faults.device_lost", ("at_us",), ("error",))
        at = ctx.micros(d["at_us"], "faults.device_lost.at_us")
        error = ctx.choice(d.get("error", DEFAULT_LOST_ERROR), "faults.device_lost.error",
                           LOST_ERRORS)
        lost = DeviceLost(at, error)
    return FaultPlan(calls, tuple(work), lost)


def _call_fault(ctx: _Ctx, value: Any, path: str) -> CallFault:
    c = ctx.obj(value, path, ("call", "error"), ("at", "probability"))
    call = ctx.choice(c["call"], _key(path, "call"), INJECTABLE_CALLS)
    error = ctx.choice(c["error"], _key(path, "error"), CALL_ERRORS)
    if ("at" in c) == ("probability" in c):
        ctx.fail(path, 'expected exactly one of "at" (an occurrence) and "probability"')
    if "at" in c:
        at = ctx.integer(c["at"], _key(path, "at"), _INT32_MAX, "an occurrence number (integer)")
        if at < 1:
            ctx.fail(_key(path, "at"), "value 0 is below the minimum 1 (occurrences count from 1)",
                     StatusCode.OUT_OF_RANGE)
        return CallFault(call, error, at=at)
    p = c["probability"]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p):
        ctx.expect(_key(path, "probability"), p, "a probability (number) in [0, 1]")
    ctx.in_range(p, _key(path, "probability"), 1)
    return CallFault(call, error, probability=float(p))


def _semaphores(ctx: _Ctx, value: Any) -> dict[str, int]:
    m = ctx.mapping(value, "semaphores", "semaphore names to initial values")
    return {name: ctx.timeline(v, _key("semaphores", name)) for name, v in m.items()}


def _queues(ctx: _Ctx, value: Any) -> list[str]:
    items = ctx.array(value, "queues", "queue names")
    names = [ctx.string(q, _index("queues", i)) for i, q in enumerate(items)]
    for i, q in enumerate(names):
        if q in names[:i]:
            ctx.fail(_index("queues", i), f"queue {q!r} is declared twice")
    return names


def _actors(ctx: _Ctx, value: Any, ops: _OpParser) -> dict[str, list[Op]]:
    m = ctx.mapping(value, "actors", "actor names to arrays of ops")
    if not m:
        ctx.fail("actors", "empty; expected at least one actor")
    actors: dict[str, list[Op]] = {}
    for name, items in m.items():
        path = _key("actors", name)
        ctx.array(items, path, "ops")
        actors[name] = [ops.parse(op, _index(path, i), f"{name}#{i}") for i, op in enumerate(items)]
    return actors


def _op_paths(scenario: Scenario) -> Iterable[tuple[str, Op]]:
    for actor, index, op in scenario.ops():
        yield _index(_key("actors", actor), index), op


def _check_ids(ctx: _Ctx, scenario: Scenario) -> None:
    first: dict[str, str] = {}
    for path, op in _op_paths(scenario):
        if op.id in first:
            ctx.fail(_key(path, "id"), f"duplicate op id {op.id!r} (first used at {first[op.id]})")
        first[op.id] = path


def _signal_sites(scenario: Scenario) -> Iterable[tuple[str, str, int]]:
    """(semaphore, field path, value) for every host signal and execute signal."""
    for path, op in _op_paths(scenario):
        if isinstance(op, Signal):
            yield op.semaphore, _key(path, "value"), op.value
        elif isinstance(op, Execute):
            for s, v in op.signal.items():
                yield s, _key(_key(path, "signal"), s), v


def _check_signals(ctx: _Ctx, scenario: Scenario) -> None:
    seen: dict[tuple[str, int], str] = {}
    for sem, path, value in _signal_sites(scenario):
        initial = scenario.semaphores[sem]
        if value <= initial:
            ctx.fail(
                path,
                f"non-increasing signal: value {value} of semaphore {sem!r} is not greater "
                f"than its initial value {initial}",
                StatusCode.OUT_OF_RANGE,
            )
        if (sem, value) in seen:
            ctx.fail(
                path,
                f"non-increasing signal: value {value} of semaphore {sem!r} is also "
                f"signalled at {seen[sem, value]}; signal values must be distinct",
                StatusCode.OUT_OF_RANGE,
            )
        seen[sem, value] = path


def parse_scenario(obj: Any, source: str = "<memory>") -> Scenario:
    """Validate a decoded JSON value and build the `Scenario`; raises `ScenarioError`."""
    ctx = _Ctx(source)
    if isinstance(obj, dict) and "format" in obj and obj["format"] != FORMAT:
        ctx.expect("format", obj["format"], json.dumps(FORMAT))  # wrong file kind: say so first
    top = ctx.obj(obj, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    if top["format"] != FORMAT:
        ctx.expect("format", top["format"], json.dumps(FORMAT))
    semaphores = _semaphores(ctx, top["semaphores"])
    queues = _queues(ctx, top["queues"])
    scenario = Scenario(
        name=ctx.string(top["name"], "name"),
        description=ctx.string(top.get("description", ""), "description", nonempty=False),
        semaphores=semaphores,
        queues=queues,
        settings=_settings(ctx, top["settings"]) if "settings" in top else Settings(),
        actors=_actors(ctx, top["actors"], _OpParser(ctx, semaphores, queues)),
        replay=_replay(ctx, top["replay"]) if "replay" in top else Replay(),
    )
    if "faults" in top:
        executes = {op.id for _, _, op in scenario.ops() if isinstance(op, Execute)}
        scenario = dataclasses.replace(scenario, faults=_faults(ctx, top["faults"], executes))
    _check_ids(ctx, scenario)
    _check_signals(ctx, scenario)
    return scenario


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and parse a scenario file; raises `ScenarioError` naming the file."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(
            source, "", f"cannot read the file: {e}", StatusCode.NOT_FOUND
        ) from None
    return parse_scenario(_decode(text, source), source)


# --------------------------------------------------------------------------- writing


def _num(x: float) -> int | float:
    """Write integral floats as JSON integers (10.0 -> 10)."""
    return int(x) if float(x).is_integer() else x


def _op_to_json(op: Op) -> dict[str, Any]:
    head: dict[str, Any] = {"op": op.op, "id": op.id}
    if isinstance(op, Execute):
        return head | {
            "queue": op.queue,
            "wait": dict(op.wait),
            "signal": dict(op.signal),
            "duration_us": _num(op.duration_us),
        }
    if isinstance(op, Query):
        return head | {"semaphore": op.semaphore}
    if isinstance(op, Signal):
        return head | {"semaphore": op.semaphore, "value": op.value}
    if isinstance(op, Wait):
        timeout = None if op.timeout_us is None else _num(op.timeout_us)
        return head | {
            "semaphores": dict(op.semaphores),
            "mode": op.mode.value,
            "timeout_us": timeout,
        }
    if isinstance(op, Sleep):
        return head | {"us": _num(op.us)}
    return head | {"semaphore": op.semaphore, "code": op.code, "message": op.message}


def faults_to_json(plan: FaultPlan) -> dict[str, Any]:
    """The `faults` section of `plan` (every field explicit)."""
    doc: dict[str, Any] = {}
    if plan.calls:
        doc["calls"] = [{"call": c.call, "error": c.error} | (
            {"at": c.at} if c.at is not None else {"probability": c.probability})
            for c in plan.calls]
    if plan.work:
        doc["work"] = [{"execute": w.execute, "error": w.error} for w in plan.work]
    if plan.device_lost is not None:
        doc["device_lost"] = {"at_us": _num(plan.device_lost.at_us),
                              "error": plan.device_lost.error}
    return doc


def scenario_to_json(scenario: Scenario) -> dict[str, Any]:
    """The canonical JSON form: every field explicit, defaults filled in, file order kept.

    `replay` is written only when it differs from the default (seed 0, no defects),
    `faults` only when the plan has a fault.
    """
    s = scenario.settings
    doc: dict[str, Any] = {
        "format": FORMAT,
        "name": scenario.name,
        "description": scenario.description,
        "semaphores": dict(scenario.semaphores),
        "queues": list(scenario.queues),
        "settings": {
            "event_pool_capacity": s.event_pool_capacity,
            "timepoint_pool_capacity": s.timepoint_pool_capacity,
            "max_wait_events": s.max_wait_events,
            "completion": s.completion.value,
        },
        "actors": {a: [_op_to_json(op) for op in ops] for a, ops in scenario.actors.items()},
    }
    if scenario.faults:
        doc["faults"] = faults_to_json(scenario.faults)
    if scenario.replay != Replay():
        replay = scenario.replay
        doc["replay"] = {"seed": replay.seed, "defects": list(replay.defects)}
        if replay.timing:
            doc["replay"]["timing"] = dict(replay.timing)
    return doc
