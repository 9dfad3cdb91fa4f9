"""Timing files (hipsem/timing-1): what loads, what is refused and how the refusal reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from model.fielderrors import FieldError
from model.sim.timing import Timing
from model.sim.timingfile import (
    Measurement,
    TimingFile,
    dump_timing_file,
    load_timing,
    load_timing_file,
    parse_timing_document,
)

GOOD = """\
format = "hipsem/timing-1"

[timing]
record_event_us = 2.5
callback_latency_us = 80

[source]
runtime = "cpu"
repeats = 200

[measured.record_event]
field = "record_event_us"
n = 200
median_us = 2.5
mean_us = 2.7
ci_low_us = 2.4
ci_high_us = 2.6
confidence = 0.95
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "timing.toml"
    path.write_text(text)
    return path


def test_a_good_file_loads_and_unnamed_fields_keep_the_defaults(tmp_path: Path) -> None:
    tf = load_timing_file(write(tmp_path, GOOD))
    assert tf.timing == dataclasses.replace(Timing(), record_event_us=2.5,
                                            callback_latency_us=80.0)
    assert tf.source == {"runtime": "cpu", "repeats": 200}
    assert tf.measured["record_event"] == Measurement("record_event_us", 200, 2.5, 2.7,
                                                      2.4, 2.6, 0.95)


def test_dump_then_load_gives_the_same_file(tmp_path: Path) -> None:
    tf = TimingFile(dataclasses.replace(Timing(), sync_poll_us=20.25, jitter=0.0),
                    {"runtime": "cuda", "note": 'has "quotes"\nand a newline'},
                    {"sync_wakeup": Measurement("sync_poll_us", 40, 20.25, 21.0, 19.5, 22.0)})
    path = write(tmp_path, dump_timing_file(tf, "a header\nof two lines"))
    assert load_timing_file(path) == tf
    assert path.read_text().startswith("# a header\n# of two lines\n")


BAD = [
    ("", "format", "missing"),
    ('format = "hipsem/timing-2"\n[timing]\n', "format", '"hipsem/timing-1"'),
    ('format = "hipsem/timing-1"\n', "timing", "missing"),
    ('format = "hipsem/timing-1"\ncolour = 1\n[timing]\n', "colour", "unknown field"),
    ('format = "hipsem/timing-1"\n[timing]\nrecord_us = 2\n', "timing.record_us",
     "unknown field"),
    ('format = "hipsem/timing-1"\n[timing]\nrecord_event_us = -1\n',
     "timing.record_event_us", "-1 (integer); expected a finite number >= 0"),
    ('format = "hipsem/timing-1"\n[timing]\nrecord_event_us = "2"\n',
     "timing.record_event_us", '"2" (string)'),
    ('format = "hipsem/timing-1"\n[timing]\nrecord_event_us = true\n',
     "timing.record_event_us", "true (boolean)"),
    ('format = "hipsem/timing-1"\n[timing]\nrecord_event_us = nan\n',
     "timing.record_event_us", "finite"),
    ('format = "hipsem/timing-1"\n[timing]\njitter = 2\n', "timing", "jitter must be at most 1"),
    ('format = "hipsem/timing-1"\n[timing]\nlaunch_work_min_us = 20\nlaunch_work_max_us = 5\n',
     "timing", "exceeds launch_work_max_us"),
    ('format = "hipsem/timing-1"\ntiming = 3\n', "timing", "expected a table"),
    ('format = "hipsem/timing-1"\n[timing]\n[source]\nx = [1]\n', "source.x",
     "a string or a number"),
    ('format = "hipsem/timing-1"\n[timing]\n[measured.a]\nfield = ""\n', "measured.a.n",
     "missing"),
    ('format = "hipsem/timing-1"\n[timing]\n[measured.a]\nfield = "nope"\nn = 1\n'
     'median_us = 1\nmean_us = 1\nci_low_us = 1\nci_high_us = 1\n', "measured.a.field",
     "a timing field name"),
    ('format = "hipsem/timing-1"\n[timing]\n[measured.a]\nfield = ""\nn = 0\n'
     'median_us = 1\nmean_us = 1\nci_low_us = 1\nci_high_us = 1\n', "measured.a.n",
     "an integer >= 1"),
    ('format = "hipsem/timing-1"\n[timing]\n[measured.a]\nfield = ""\nn = 3\n'
     'median_us = 1\nmean_us = 1\nci_low_us = 2\nci_high_us = 3\n', "measured.a",
     "ci_low_us 2.0 <= median_us 1.0"),
    ('format = "hipsem/timing-1"\n[timing]\n[measured.a]\nfield = ""\nn = 3\n'
     'median_us = 1\nmean_us = 1\nci_low_us = 1\nci_high_us = 1\nconfidence = 1\n',
     "measured.a.confidence", "in (0, 1)"),
    ("format = [", "", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "path", "words"), BAD, ids=[b[1] or "toml" for b in BAD])
def test_a_bad_file_names_the_field_the_value_and_the_expectation(
    tmp_path: Path, text: str, path: str, words: str
) -> None:
    file = write(tmp_path, text)
    with pytest.raises(FieldError) as caught:
        load_timing(file)
    assert caught.value.path == path
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{file}: ")


def test_a_missing_file_is_a_field_error(tmp_path: Path) -> None:
    with pytest.raises(FieldError, match="cannot read the timing file"):
        load_timing(tmp_path / "absent.toml")


def test_parse_accepts_a_decoded_document() -> None:
    tf = parse_timing_document({"format": "hipsem/timing-1", "timing": {"jitter": 0}})
    assert tf.timing.jitter == 0
