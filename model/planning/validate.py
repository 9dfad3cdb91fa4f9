"""Field-path validation helpers for planning input files (workloads, traces, options).

`Checker` validates an already-decoded TOML/JSON value by hand and raises `WorkloadError`
naming the file, the field path (`processes[1].arrivals.rate_hz`), the offending value and
what was expected. It stops at the first problem.

Invariant: every method either returns a value of the promised type and range or raises
`WorkloadError`; none returns a partially checked value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, NoReturn

from model.core.status import StatusCode
from model.fielderrors import FieldError, key_path, show

NAME_RULE = ("a name: a non-empty string of printable characters (any script) without "
             "leading or trailing spaces")


def is_name(value: Any) -> bool:
    """A workload name (queue, kernel, graph, process): like scenario names, any script."""
    return (isinstance(value, str) and bool(value) and value.isprintable()
            and value == value.strip())


class WorkloadError(FieldError):
    """A workload file, trace or planning option is invalid.

    `source` is the file (or `<memory>`, `<command line>`), `path` the field path ("" for
    the document), `problem` what is wrong and what was expected.
    """


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Checker:
    """Validation of one document (see the module docstring)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str, code: StatusCode | None = None) -> NoReturn:
        raise WorkloadError(self.source, path, problem, code)

    def expect(self, path: str, value: Any, expected: str) -> NoReturn:
        self.fail(path, f"got {show(value)}; expected {expected}")

    def obj(self, value: Any, path: str, required: Iterable[str] = (),
            optional: Iterable[str] = ()) -> dict[str, Any]:
        """An object with exactly the allowed keys."""
        if not isinstance(value, dict):
            self.expect(path, value, "an object (table)")
        req, opt = list(required), list(optional)
        unknown = [k for k in value if k not in req and k not in opt]
        if unknown:
            self.fail(key_path(path, str(unknown[0])),
                      f"unknown field; allowed fields here are {', '.join(req + opt)}")
        missing = [k for k in req if k not in value]
        if missing:
            self.fail(key_path(path, missing[0]), "missing required field")
        return value

    def mapping(self, value: Any, path: str, what: str) -> dict[str, Any]:
        """An object used as a name -> value map with plain names."""
        if not isinstance(value, dict) or not value:
            self.expect(path, value, f"a non-empty object mapping names to {what}")
        for k in value:
            if not is_name(k):
                self.fail(key_path(path, k), f"got {show(k)}; expected {NAME_RULE}")
        return value

    def array(self, value: Any, path: str, what: str, nonempty: bool = True) -> list[Any]:
        if not isinstance(value, list) or (nonempty and not value):
            self.expect(path, value, f"a {'non-empty ' if nonempty else ''}array of {what}")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            self.expect(path, value, "a non-empty string")
        return value

    def name(self, value: Any, path: str) -> str:
        if not is_name(value):
            self.expect(path, value, NAME_RULE)
        return str(value)

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.expect(path, value, "true or false")
        return value

    def integer(self, value: Any, path: str, lo: int, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.expect(path, value, f"an integer >= {lo}")
        self._range(value, path, lo, hi)
        return value

    def number(self, value: Any, path: str, lo: float = 0.0, hi: float | None = None,
               positive: bool = False) -> float:
        """A finite number in [lo, hi] (or > lo when `positive`)."""
        if not _is_number(value) or not math.isfinite(value):
            self.expect(path, value, "a finite number")
        if positive and value <= lo:
            self.fail(path, f"value {value} must be > {lo}", StatusCode.OUT_OF_RANGE)
        self._range(value, path, lo, hi)
        return float(value)

    def choice(self, value: Any, path: str, choices: Iterable[str]) -> str:
        names = list(choices)
        if not isinstance(value, str) or value not in names:
            self.expect(path, value, "one of " + ", ".join(json.dumps(n) for n in names))
        return value

    def _range(self, value: float, path: str, lo: float, hi: float | None) -> None:
        if value < lo:
            self.fail(path, f"value {value} is below the minimum {lo}", StatusCode.OUT_OF_RANGE)
        if hi is not None and value > hi:
            self.fail(path, f"value {value} is above the maximum {hi}", StatusCode.OUT_OF_RANGE)
