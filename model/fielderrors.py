"""Errors about one field of an input document, and how their messages name things.

Scenario files (`model.scenario.parse`) and workload files (`model.planning`) report bad
input the same way: `<file>: <field path>: <problem>`, where the field path is JSON-like
(`actors.main[0].wait.W`, keys that are not plain names quoted) and a bad value is shown
as short JSON text with its JSON type (`2.5 (number)`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from model.core.status import InvalidArgumentError, StatusCode

PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


class FieldError(InvalidArgumentError):
    """A field of an input document is invalid.

    `source` is the file (or `<memory>`, `<command line>`), `path` the field path ("" for
    the document itself), `problem` what is wrong and what was expected.
    """

    def __init__(self, source: str, path: str, problem: str,
                 code: StatusCode | None = None) -> None:
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {problem}", code)
        self.source = source
        self.path = path
        self.problem = problem


def key_path(path: str, key: str) -> str:
    """`path` extended by an object key (quoted unless it is a plain name)."""
    if not PLAIN_NAME.match(key):
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


def index_path(path: str, i: int) -> str:
    return f"{path}[{i}]"


def show(value: Any) -> str:
    """A short rendering of a bad value with its JSON type."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({json_type(value)})"


_TYPES: list[tuple[type | tuple[type, ...], str]] = [
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
    ((list, tuple), "array"), (dict, "object"), (type(None), "null"),
]


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    return next((n for t, n in _TYPES if isinstance(value, t)), type(value).__name__)
