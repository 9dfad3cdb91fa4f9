"""Classifying IREE-backend violations (no IREE needed): status texts, violation classes,
and which recorded finding explains which class."""

from __future__ import annotations

from ireebackend.campaign import violation_class
from ireebackend.findings import explain
from ireebackend.session import fill_bytes, status_of
from model.core.status import StatusCode
from model.scenario.checker import Violation


def test_status_codes_are_read_from_iree_s_text() -> None:
    assert status_of(RuntimeError("x: c/a.cc:1: UNKNOWN; injected"))[0] is StatusCode.UNKNOWN
    assert status_of(RuntimeError("synchronous fence failure: DEFERRED"))[0] \
        is StatusCode.DEFERRED
    assert status_of(RuntimeError("semaphore.c:598: INVALID_ARGUMENT; semaphore already"))[0] \
        is StatusCode.INVALID_ARGUMENT
    assert status_of(RuntimeError("no code here"))[0] is StatusCode.UNKNOWN


def test_fills_last_the_duration_at_the_bandwidth() -> None:
    assert fill_bytes(0.0) == 4 and fill_bytes(1000.0) == 16000 and fill_bytes(0.3) % 4 == 0


def test_classes_blank_ids_names_and_numbers() -> None:
    v = Violation("liveness", "x12", "execute x12 ended UNKNOWN; allowed: OK")
    w = Violation("liveness", "x3", "execute x3 ended UNKNOWN; allowed: OK")
    assert violation_class(v) == violation_class(w) == \
        "liveness: execute ID ended UNKNOWN; allowed: OK"


def test_a_failure_finding_does_not_explain_a_run_without_failures() -> None:
    cls = "liveness: execute ID ended PENDING; allowed: OK"
    found = explain(cls)
    assert found is not None and found.id == "F1"
    assert explain(cls, with_fail=False) is None  # a drop with no failure: new, triage it
    f3 = explain("liveness: signal ID ended INVALID_ARGUMENT; allowed: OK, OUT_OF_RANGE",
                 with_fail=False)
    assert f3 is not None and f3.id == "F3"
    assert explain("happens-before: execute ID's work started at N us") is None
