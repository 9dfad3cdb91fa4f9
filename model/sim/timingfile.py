"""Timing files (`hipsem/timing-1`, TOML): a calibrated `Timing` and how it was measured.

`hipsem calibrate` writes one (hipbackend.calibrate); `run`, `fuzz`, `diff` and `plan`
read one with `--timing FILE`. The format (docs/calibration.md):

    format = "hipsem/timing-1"          # required, exactly this string

    [timing]                            # required: `model.sim.timing.Timing` fields
    record_event_us = 2.1               #   µs (jitter: a fraction); a field left out
    ...                                 #   keeps DESIGN.md's default

    [source]                            # optional, informational: strings and numbers
    runtime = "cpu"
    ...

    [measured.record_event]             # optional: one table per measured quantity
    field = "record_event_us"           #   the timing field it set ("" if none)
    n = 200                             #   samples (integer >= 1)
    median_us = 2.1                     #   numbers >= 0, ci_low_us <= median_us <= ci_high_us
    mean_us = 2.3
    ci_low_us = 2.0
    ci_high_us = 2.2
    confidence = 0.95                   #   in (0, 1)

Invariant: `load_timing_file` returns only what `Timing` accepts, and rejects anything
else with a `FieldError` (exit code 2 in every command) naming the file, the field, the
value and what was expected. `dump_timing_file` writes what `load_timing_file` reads back
to an equal `TimingFile`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.core.status import InvalidArgumentError
from model.fielderrors import FieldError, key_path, show
from model.sim.timing import Timing

FORMAT = "hipsem/timing-1"
TOP_KEYS = ("format", "timing", "source", "measured")
MEASURED_NUMBERS = ("median_us", "mean_us", "ci_low_us", "ci_high_us")
MEASURED_KEYS = ("field", "n", *MEASURED_NUMBERS, "confidence")
TIMING_FIELDS = tuple(f.name for f in dataclasses.fields(Timing))


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured quantity: its sample count, median and mean, and the confidence
    interval of the median (`ci_low_us`..`ci_high_us` at `confidence`)."""

    field: str  # the Timing field it set, or "" (informational)
    n: int
    median_us: float
    mean_us: float
    ci_low_us: float
    ci_high_us: float
    confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class TimingFile:
    """A decoded timing file: the model's timing plus where its figures came from."""

    timing: Timing
    source: Mapping[str, str | int | float] = field(default_factory=dict)
    measured: Mapping[str, Measurement] = field(default_factory=dict)


def _toml_loads(text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def load_timing(path: str | Path) -> Timing:
    """The `Timing` of a timing file (see `load_timing_file`)."""
    return load_timing_file(path).timing


def load_timing_file(path: str | Path) -> TimingFile:
    """Read and validate a timing file; raises `FieldError` on any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise FieldError(source, "", f"cannot read the timing file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise FieldError(source, "", f"not UTF-8 text: {e.reason}") from None
    try:
        doc = _toml_loads(text)
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        raise FieldError(source, "", f"invalid TOML: {e}") from None
    return parse_timing_document(doc, source)


def parse_timing_document(doc: Mapping[str, Any], source: str = "<memory>") -> TimingFile:
    """Validate a decoded timing document (see the module docstring)."""
    _keys(doc, "", TOP_KEYS, source)
    if "format" not in doc:
        raise FieldError(source, "format", f'missing; expected "{FORMAT}"')
    if doc["format"] != FORMAT:
        raise FieldError(source, "format", f'got {show(doc["format"])}; expected "{FORMAT}"')
    if "timing" not in doc:
        raise FieldError(source, "timing", "missing; expected a table of Timing fields")
    return TimingFile(
        timing=_timing(doc["timing"], source),
        source=_source(doc.get("source", {}), source),
        measured=_measured(doc.get("measured", {}), source),
    )


def _table(value: Any, path: str, source: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FieldError(source, path, f"got {show(value)}; expected a table")
    return value


def _keys(value: Any, path: str, allowed: tuple[str, ...], source: str) -> None:
    for key in _table(value, path, source):
        if key not in allowed:
            raise FieldError(source, key_path(path, key),
                             f"unknown field; expected one of {', '.join(allowed)}")


def _number(value: Any, path: str, source: str, what: str = "a finite number >= 0") -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise FieldError(source, path, f"got {show(value)}; expected {what}")
    return float(value)


def _timing(value: Any, source: str) -> Timing:
    _keys(value, "timing", TIMING_FIELDS, source)
    checked = {k: _number(v, key_path("timing", k), source) for k, v in value.items()}
    try:
        return Timing(**checked)
    except InvalidArgumentError as e:  # a rule across fields (jitter <= 1, min <= max)
        raise FieldError(source, "timing", str(e)) from None


def _source(value: Any, source: str) -> dict[str, str | int | float]:
    out: dict[str, str | int | float] = {}
    for key, v in _table(value, "source", source).items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise FieldError(source, key_path("source", key),
                             f"got {show(v)}; expected a string or a number")
        out[key] = v
    return out


def _measured(value: Any, source: str) -> dict[str, Measurement]:
    return {name: _measurement(m, key_path("measured", name), source)
            for name, m in _table(value, "measured", source).items()}


def _measurement(value: Any, path: str, source: str) -> Measurement:
    _keys(value, path, MEASURED_KEYS, source)
    for key in MEASURED_KEYS[:-1]:
        if key not in value:
            raise FieldError(source, key_path(path, key), "missing")
    name = value["field"]
    if name != "" and name not in TIMING_FIELDS:
        raise FieldError(source, key_path(path, "field"),
                         f'got {show(name)}; expected "" or a timing field name')
    n = value["n"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise FieldError(source, key_path(path, "n"), f"got {show(n)}; expected an integer >= 1")
    nums = {k: _number(value[k], key_path(path, k), source) for k in MEASURED_NUMBERS}
    if not nums["ci_low_us"] <= nums["median_us"] <= nums["ci_high_us"]:
        raise FieldError(source, path, f"ci_low_us {nums['ci_low_us']} <= median_us "
                         f"{nums['median_us']} <= ci_high_us {nums['ci_high_us']} does not hold")
    conf = value.get("confidence", 0.95)
    _number(conf, key_path(path, "confidence"), source, "a number in (0, 1)")
    if not 0 < conf < 1:
        raise FieldError(source, key_path(path, "confidence"),
                         f"got {show(conf)}; expected a number in (0, 1)")
    return Measurement(name, n, confidence=float(conf), **nums)


# ------------------------------------------------------------------------------ writing


def _toml_value(value: str | int | float) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def dump_timing_file(tf: TimingFile, header: str = "") -> str:
    """TOML text of `tf` (every Timing field written); `header` becomes comment lines."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f'format = "{FORMAT}"', "", "[timing]"]
    lines += [f"{k} = {_toml_value(float(getattr(tf.timing, k)))}" for k in TIMING_FIELDS]
    if tf.source:
        lines += ["", "[source]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in tf.source.items()]
    for name, m in tf.measured.items():
        lines += ["", f"[measured.{name}]"]
        lines += [f"{k} = {_toml_value(getattr(m, k))}" for k in MEASURED_KEYS]
    return "\n".join(lines) + "\n"


def write_timing_file(path: Path, tf: TimingFile, header: str = "") -> None:
    """Write `tf` to `path` (parent folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_timing_file(tf, header), encoding="utf-8")


__all__ = [
    "FORMAT",
    "Measurement",
    "TimingFile",
    "dump_timing_file",
    "load_timing",
    "load_timing_file",
    "parse_timing_document",
    "write_timing_file",
]
