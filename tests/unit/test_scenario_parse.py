"""Scenario files: parsing, defaults, round trips, precise errors, the JSON schema."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from model.core.defects import Defect
from model.core.status import InvalidArgumentError, StatusCode
from model.scenario.parse import ScenarioError, load_scenario, parse_scenario, scenario_to_json
from model.scenario.types import (
    FORMAT,
    MAX_VALUE,
    Completion,
    Execute,
    Fail,
    Query,
    Replay,
    Settings,
    Signal,
    Sleep,
    Wait,
    WaitMode,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "model" / "scenario" / "schema.json"

EXAMPLE: dict[str, Any] = {
    "format": "hipsem/scenario-1",
    "name": "submit-with-wait",
    "description": "optional",
    "semaphores": {"W": 0, "S": 100},
    "queues": ["q0"],
    "settings": {
        "event_pool_capacity": 32,
        "timepoint_pool_capacity": 32,
        "max_wait_events": 32,
        "completion": "callback",
    },
    "actors": {
        "main": [
            {"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1},
             "signal": {"S": 101}, "duration_us": 10},
            {"op": "query", "id": "q", "semaphore": "S"},
            {"op": "signal", "semaphore": "W", "value": 1},
            {"op": "wait", "id": "w", "semaphores": {"S": 101}, "mode": "all",
             "timeout_us": None},
        ],
        "helper": [
            {"op": "sleep", "us": 100},
            {"op": "fail", "semaphore": "W", "code": "CANCELLED", "message": "why"},
        ],
    },
}  # fmt: skip


def minimal(actors: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "name": "m",
        "semaphores": {"W": 0, "S": 5},
        "queues": ["q0"],
        "actors": actors,
    }
    doc.update(top)
    return doc


def error_of(doc: Any, source: str = "f.json") -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(doc, source)
    return info.value


def with_change(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


# --------------------------------------------------------------------------- parsing


def test_example_parses_to_the_expected_objects() -> None:
    sc = parse_scenario(EXAMPLE)
    assert sc.name == "submit-with-wait" and sc.description == "optional"
    assert sc.semaphores == {"W": 0, "S": 100} and sc.queues == ["q0"]
    assert sc.settings == Settings()
    main, helper = sc.actors["main"], sc.actors["helper"]
    assert main[0] == Execute("x", "q0", {"W": 1}, {"S": 101}, 10.0)
    assert main[1] == Query("q", "S")
    assert main[2] == Signal("main#2", "W", 1)
    assert main[3] == Wait("w", {"S": 101}, WaitMode.ALL, None)
    assert helper == [Sleep("helper#0", 100.0), Fail("helper#1", "W", "CANCELLED", "why")]


def test_defaults() -> None:
    sc = parse_scenario(
        minimal(
            {
                "a": [
                    {"op": "execute", "queue": "q0"},
                    {"op": "wait", "semaphores": {"S": 1}},
                    {"op": "fail", "semaphore": "W", "code": "ABORTED"},
                ]
            }
        )
    )
    x, w, f = sc.actors["a"]
    assert x == Execute("a#0", "q0", {}, {}, 0.0)
    assert w == Wait("a#1", {"S": 1}, WaitMode.ALL, None)
    assert f == Fail("a#2", "W", "ABORTED", "")
    assert sc.settings == Settings() and sc.description == ""


def test_settings_partial_and_thread_completion() -> None:
    doc = minimal({"a": []}, settings={"event_pool_capacity": 0, "completion": "thread"})
    s = parse_scenario(doc).settings
    assert s == Settings(event_pool_capacity=0, completion=Completion.THREAD)


def test_timeouts_and_modes() -> None:
    doc = minimal(
        {
            "a": [
                {"op": "wait", "id": "p", "semaphores": {"S": 1}, "timeout_us": 0},
                {"op": "wait", "id": "t", "semaphores": {"S": 1, "W": 1}, "mode": "any",
                 "timeout_us": 2.5},
            ]
        }
    )  # fmt: skip
    p, t = parse_scenario(doc).actors["a"]
    assert isinstance(p, Wait) and p.timeout_us == 0.0
    assert isinstance(t, Wait) and t.timeout_us == 2.5 and t.mode is WaitMode.ANY


def test_empty_waits_are_valid_in_both_modes_with_any_timeout() -> None:
    """IREE CTS `EmptyWait`: an ALL or ANY wait on an empty list succeeds at once."""
    doc = minimal(
        {
            "a": [
                {"op": "wait", "id": "e0", "semaphores": {}},
                {"op": "wait", "id": "e1", "semaphores": {}, "mode": "any", "timeout_us": 0},
                {"op": "wait", "id": "e2", "semaphores": {}, "mode": "all", "timeout_us": 50},
                {"op": "wait", "id": "e3", "semaphores": {}, "mode": "any", "timeout_us": None},
            ]
        }
    )  # fmt: skip
    sc = parse_scenario(doc)
    waits = sc.actors["a"]
    assert [w.semaphores for w in waits if isinstance(w, Wait)] == [{}, {}, {}, {}]
    assert [w.mode for w in waits if isinstance(w, Wait)] == [
        WaitMode.ALL, WaitMode.ANY, WaitMode.ALL, WaitMode.ANY]
    canon = scenario_to_json(sc)
    assert canon["actors"]["a"][1] == {"op": "wait", "id": "e1", "semaphores": {},
                                       "mode": "any", "timeout_us": 0}
    assert parse_scenario(canon) == sc
    assert scenario_to_json(parse_scenario(canon)) == canon
    mini = _Mini(_schema())
    assert mini.ok(mini.root, doc) and mini.ok(mini.root, canon)


def test_round_trip_is_exact() -> None:
    sc = parse_scenario(EXAMPLE)
    canon = scenario_to_json(sc)
    assert parse_scenario(canon) == sc
    assert scenario_to_json(parse_scenario(canon)) == canon
    assert json.loads(json.dumps(canon)) == canon
    # the example already spells out everything except the default ids and mode
    assert canon["actors"]["main"][2] == {
        "op": "signal", "id": "main#2", "semaphore": "W", "value": 1,
    }  # fmt: skip
    assert canon["actors"]["main"][0]["duration_us"] == 10  # integral floats stay ints


def test_round_trip_fractional_times() -> None:
    doc = minimal({"a": [{"op": "sleep", "us": 0.125}]})
    canon = scenario_to_json(parse_scenario(doc))
    assert canon["actors"]["a"][0]["us"] == 0.125


def test_replay() -> None:
    doc = minimal({"a": []}, replay={"seed": 7, "defects": ["lifo-ready", "lost-wakeup"]})
    sc = parse_scenario(doc)
    assert sc.replay == Replay(seed=7, defects=("lifo-ready", "lost-wakeup"))
    canon = scenario_to_json(sc)
    assert canon["replay"] == {"seed": 7, "defects": ["lifo-ready", "lost-wakeup"]}
    assert parse_scenario(canon) == sc
    assert "replay" not in scenario_to_json(parse_scenario(minimal({"a": []})))
    assert parse_scenario(minimal({"a": []}, replay={})).replay == Replay()


def test_max_value_is_accepted() -> None:
    doc = minimal({"a": [{"op": "signal", "semaphore": "W", "value": MAX_VALUE}]})
    assert parse_scenario(doc).actors["a"][0] == Signal("a#0", "W", MAX_VALUE)


# --------------------------------------------------------------------------- errors

ERRORS: list[tuple[list[Any], Any, str, str]] = [
    # (path in EXAMPLE, new value, expected field path, expected text)
    (["actors", "main", 0, "wait", "W"], 2**31 - 1, "actors.main[0].wait.W",
     "value 2147483647 is above the maximum 2147483646"),
    (["actors", "main", 0, "wait", "W"], True, "actors.main[0].wait.W",
     "got true (boolean); expected a timeline value (integer) in [0, 2147483646]"),
    (["actors", "main", 0, "wait", "W"], 1.5, "actors.main[0].wait.W", "got 1.5 (number)"),
    (["actors", "main", 0, "wait", "W"], -1, "actors.main[0].wait.W",
     "value -1 is below the minimum 0"),
    (["actors", "main", 0, "signal"], {"Z": 1}, "actors.main[0].signal.Z",
     "semaphore 'Z' is not declared"),
    (["actors", "main", 0, "queue"], "q9", "actors.main[0].queue",
     'got "q9" (string); expected a queue declared in "queues"'),
    (["actors", "main", 1, "semaphore"], "Z", "actors.main[1].semaphore",
     "expected a semaphore declared"),
    (["actors", "main", 0, "bogus"], 1, "actors.main[0]", 'unknown field(s) "bogus"'),
    (["actors", "main", 1, "op"], "nope", "actors.main[1].op",
     'got "nope" (string); expected one of "execute"'),
    (["actors", "main", 1, "id"], "x", "actors.main[1].id", "duplicate op id 'x'"),
    (["actors", "main", 1, "id"], "", "actors.main[1].id", "expected a non-empty string"),
    (["actors", "main", 0, "duration_us"], -1, "actors.main[0].duration_us",
     "value -1 is below the minimum 0"),
    (["actors", "main", 0, "duration_us"], "10", "actors.main[0].duration_us",
     "expected a finite number of microseconds"),
    (["actors", "main", 3, "mode"], "some", "actors.main[3].mode", 'expected one of "all", "any"'),
    (["actors", "main", 3, "timeout_us"], False, "actors.main[3].timeout_us", "got false"),
    (["actors", "main", 3, "semaphores"], [], "actors.main[3].semaphores",
     "expected an object mapping semaphore names"),
    (["actors", "helper", 1, "code"], "OK", "actors.helper[1].code", 'expected one of "CANCELLED"'),
    (["actors", "helper", 1, "message"], 3, "actors.helper[1].message", "expected a string"),
    (["actors", "main", 2, "value"], 0, "actors.main[2].value",
     "non-increasing signal: value 0 of semaphore 'W' is not greater than its initial value 0"),
    (["actors", "main", 2, "semaphore"], "S", "actors.main[2].value",
     "non-increasing signal: value 1 of semaphore 'S' is not greater than its initial value 100"),
    (["actors", "helper", 0], {"op": "signal", "semaphore": "S", "value": 101},
     "actors.helper[0].value", "also signalled at actors.main[0].signal.S"),
    (["actors", "main", 0, "signal", "S"], 100, "actors.main[0].signal.S", "non-increasing"),
    (["actors", "main", 2], {"op": "signal", "semaphore": "W"}, "actors.main[2].value",
     "missing required field"),
    (["actors", "main", 2], {"semaphore": "W", "value": 1}, "actors.main[2].op",
     "missing required field"),
    (["actors", "main", 2], "signal", "actors.main[2]", "expected an op object"),
    (["actors", "main"], {}, "actors.main", "expected an array of ops"),
    (["actors"], {}, "actors", "empty; expected at least one actor"),
    (["actors"], [], "actors", "expected an object mapping actor names"),
    (["semaphores", "W"], "0", "semaphores.W", 'got "0" (string)'),
    (["semaphores"], ["W"], "semaphores", "expected an object mapping semaphore names"),
    (["queues"], ["q0", "q0"], "queues[1]", "queue 'q0' is declared twice"),
    (["queues"], "q0", "queues", "expected an array of queue names"),
    (["settings", "completion"], "poll", "settings.completion", 'expected one of "callback"'),
    (["settings", "max_wait_events"], -1, "settings.max_wait_events", "below the minimum 0"),
    (["settings", "event_pool_capacity"], 2.0, "settings.event_pool_capacity", "got 2.0"),
    (["settings", "turbo"], True, "settings", 'unknown field(s) "turbo"'),
    (["format"], "hipsem/scenario-2", "format", 'expected "hipsem/scenario-1"'),
    (["name"], "", "name", "expected a non-empty string"),
    (["extra"], 1, "", 'unknown field(s) "extra"'),
    (["replay"], {"seed": -1}, "replay.seed", "below the minimum 0"),
    (["replay"], {"defects": ["nope"]}, "replay.defects[0]", 'expected one of "fresh-event-wait"'),
    (["replay"], {"defects": "lifo-ready"}, "replay.defects", "expected an array of defect"),
    (["replay"], {"seeds": 1}, "replay", 'unknown field(s) "seeds"'),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "where", "text"), ERRORS)
def test_error_names_file_field_value_and_expectation(
    path: list[Any], value: Any, where: str, text: str
) -> None:
    err = error_of(with_change(path, value))
    assert err.source == "f.json" and err.path == where
    assert str(err).startswith(f"f.json: {where}: " if where else "f.json: ")
    assert text in str(err)
    assert isinstance(err, InvalidArgumentError)


def test_out_of_range_errors_carry_out_of_range_code() -> None:
    err = error_of(with_change(["actors", "main", 0, "wait", "W"], 2**31 - 1))
    assert err.code is StatusCode.OUT_OF_RANGE
    err = error_of(with_change(["actors", "main", 2, "value"], 0))
    assert err.code is StatusCode.OUT_OF_RANGE
    err = error_of(with_change(["format"], "x"))
    assert err.code is StatusCode.INVALID_ARGUMENT


def test_missing_top_level_field() -> None:
    doc = copy.deepcopy(EXAMPLE)
    del doc["queues"]
    assert error_of(doc).path == "queues"


@pytest.mark.parametrize("top", [[], "x", None, 3])
def test_top_level_must_be_an_object(top: Any) -> None:
    assert "expected a JSON object at the top level" in str(error_of(top))


def test_odd_keys_are_quoted_in_paths() -> None:
    doc = with_change(["actors", "main", 0, "wait"], {"a.b": 1})
    assert error_of(doc).path == 'actors.main[0].wait["a.b"]'


def test_non_finite_numbers_are_rejected() -> None:
    doc = with_change(["actors", "helper", 0, "us"], math.inf)
    assert "expected a finite number" in str(error_of(doc))


# --------------------------------------------------------------------------- files


def test_load_scenario(tmp_path: Path) -> None:
    p = tmp_path / "ok.json"
    p.write_text(json.dumps(EXAMPLE))
    assert load_scenario(p) == parse_scenario(EXAMPLE)
    assert load_scenario(str(p)) == parse_scenario(EXAMPLE)


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"format": "hipsem/scenario-1",\n  "name": }\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value).startswith(f"{p}: invalid JSON at line 2, column 11")


def test_nan_literal_is_invalid_json(tmp_path: Path) -> None:
    p = tmp_path / "nan.json"
    p.write_text(json.dumps(EXAMPLE).replace('"us": 100', '"us": NaN'))
    with pytest.raises(ScenarioError, match="NaN is not valid JSON"):
        load_scenario(p)


def test_duplicate_keys_are_rejected_with_their_path(tmp_path: Path) -> None:
    p = tmp_path / "dup.json"
    p.write_text(
        json.dumps(EXAMPLE).replace('"semaphores": {"W": 0,', '"semaphores": {"W": 0, "W": 1,')
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert info.value.path == "semaphores.W" and "duplicate key 'W'" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.json")
    assert info.value.code is StatusCode.NOT_FOUND and "nope.json" in str(info.value)


# --------------------------------------------------------------------------- schema


def _schema() -> dict[str, Any]:
    data = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class _Mini:
    """schema.json through jsonschema's Draft 2020-12 validator."""

    def __init__(self, root: dict[str, Any]) -> None:
        jsonschema.Draft202012Validator.check_schema(root)
        self.root = root
        self._validator = jsonschema.Draft202012Validator(root)

    def ok(self, schema: dict[str, Any], value: Any) -> bool:
        assert schema is self.root
        return bool(self._validator.is_valid(value))


def test_schema_is_well_formed_with_documented_top_level() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "format", "name", "description", "semaphores", "queues", "settings", "replay", "actors",
        "faults",
    }  # fmt: skip
    assert schema["required"] == ["format", "name", "semaphores", "queues", "actors"]
    assert schema["properties"]["format"] == {"const": FORMAT}
    for node in json.dumps(schema).split('"$ref": "')[1:]:
        ref = node.split('"')[0]
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_schema_matches_the_parser_tables() -> None:
    defs = _schema()["$defs"]
    assert defs["defect"]["enum"] == [d.value for d in Defect]
    assert defs["status_code"]["enum"] == [c.name for c in StatusCode if c is not StatusCode.OK]
    assert defs["timeline_value"]["maximum"] == MAX_VALUE
    ops = defs["op"]["properties"]["op"]["enum"]
    assert ops == ["execute", "query", "signal", "wait", "sleep", "fail"]
    assert [ref["$ref"].split("/")[-1] for ref in defs["op"]["oneOf"]] == ops
    assert set(defs["settings"]["properties"]) == {
        "event_pool_capacity", "timepoint_pool_capacity", "max_wait_events", "completion",
    }  # fmt: skip


def test_schema_accepts_the_example_and_its_canonical_form() -> None:
    mini = _Mini(_schema())
    assert mini.ok(mini.root, EXAMPLE)
    assert mini.ok(mini.root, scenario_to_json(parse_scenario(EXAMPLE)))


# Rules the schema cannot express (docs/scenarios.md, "Rules beyond the schema").
SEMANTIC = (
    "non-increasing",
    "also signalled",
    "semaphore declared",
    "queue declared",
    "is not declared",
    "duplicate op id",
)
# JSON Schema's "integer" admits 2.0 (a number with a zero fraction); the parser is stricter.
SCHEMA_EXPRESSIBLE = [
    e for e in ERRORS
    if not any(m in e[3] for m in SEMANTIC) and not (isinstance(e[1], float) and e[1].is_integer())
]


@pytest.mark.parametrize(("path", "value", "where", "text"), SCHEMA_EXPRESSIBLE)
def test_schema_rejects_what_the_parser_rejects(
    path: list[Any], value: Any, where: str, text: str
) -> None:
    mini = _Mini(_schema())
    assert not mini.ok(mini.root, with_change(path, value)), (where, text)


# --------------------------------------------------------------------------- examples/


def example_files() -> list[Path]:
    """The scenario examples (examples/workloads holds planning workloads)."""
    return sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_files_parse_and_match_the_schema(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    sc = load_scenario(path)
    canon = scenario_to_json(sc)
    assert parse_scenario(canon) == sc
    mini = _Mini(_schema())
    assert mini.ok(mini.root, doc)
