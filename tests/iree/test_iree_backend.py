"""IREE's HIP driver over the CPU runtime, judged by the checker (docs/iree.md).

The bundled examples and the CTS-inspired scenarios agree with hipsem's contract except
where docs/iree.md records a divergence; each recorded divergence replays; a crash or a
hang of the worker is a finding, not a failure of the test run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ireebackend.diff import diff_iree
from ireebackend.findings import FINDINGS
from ireebackend.runner import run_iree
from ireebackend.session import expressible
from ireebackend.worker import IreeWorker
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from tests.unit.helpers import scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
CTS = sorted((ROOT / "examples" / "iree" / "cts").glob("*.json"))
# CTS-inspired scenarios on which IREE diverges: file -> the finding.
CTS_DIVERGES = {"multi-wait-then-fail.json": "F4"}
FINDING_PROPERTIES = {"F1": {"liveness", "failure-propagation"}, "F2": {"causality"},
                      "F3": {"liveness"}, "F4": {"liveness"}, "F5": {"liveness"}}


def _violations(path: Path) -> list[str]:
    runnable, record = run_iree(load_scenario(path))
    return [f"{v.property} [{v.op}]: {v.message}" for v in check(runnable, record)]


@pytest.mark.parametrize("path", EXAMPLES + CTS, ids=lambda p: p.name)
def test_agrees_with_the_contract(path: Path) -> None:
    if path.name in CTS_DIVERGES:
        assert _violations(path), f"{path.name}: finding {CTS_DIVERGES[path.name]} is gone"
    else:
        assert _violations(path) == []


@pytest.mark.parametrize("finding", [f for f in FINDINGS if f.found_by == "checker"],
                         ids=lambda f: f.id)
def test_each_recorded_divergence_replays(finding) -> None:  # type: ignore[no-untyped-def]
    runnable, record = run_iree(load_scenario(ROOT / finding.example))
    found = {v.property for v in check(runnable, record)}
    assert found & FINDING_PROPERTIES[finding.id], (finding.id, found)


def test_the_diff_shows_released_batches_reversed() -> None:
    (finding,) = [f for f in FINDINGS if f.id == "F6"]
    comparison = diff_iree(load_scenario(ROOT / finding.example), 0, 4)
    verdicts = {row[0]: row[3] for row in comparison.rows}  # type: ignore[attr-defined]
    assert verdicts["stream_order q0"] == "DISAGREE"
    assert verdicts["op first"] == "agree"


def test_fail_codes_become_unknown_and_completion_thread() -> None:
    sc = scenario({"h": [{"op": "fail", "id": "f", "semaphore": "A", "code": "ABORTED"}]},
                  {"A": 0})
    runnable = expressible(sc)
    assert runnable.actors["h"][0].code == "UNKNOWN"  # type: ignore[union-attr]
    assert runnable.settings.completion.value == "thread"


def test_a_dead_worker_is_a_crash_of_the_run() -> None:
    sc = scenario({"h": [{"op": "sleep", "id": "nap", "us": 3_000_000}]}, {"A": 0})
    worker = IreeWorker()
    try:
        worker.run(sc, 0, 10.0)  # warm: the device is open
        proc = worker._proc
        assert proc is not None
        timer = threading.Timer(0.5, os.kill, (proc.pid, signal.SIGKILL))
        timer.start()
        record = worker.run(sc, 0, 10.0)
        timer.join()
    finally:
        worker.close()
    assert record.crash is not None and record.crash.type == "WorkerDied"
    assert "signal 9" in record.crash.message
    assert [v.property for v in check(sc, record)][:1] == ["crash"]


def test_a_run_that_does_not_settle_is_reported_as_a_hang() -> None:
    sc = scenario({"h": [{"op": "sleep", "id": "nap", "us": 2_000_000}]}, {"A": 0})
    worker = IreeWorker()
    try:
        record = worker.run(sc, 0, 0.3)
    finally:
        worker.close()
    assert record.crash is not None and record.crash.type == "Hang"
    assert "did not settle within 0.3 s" in record.crash.message


def test_without_iree_the_backend_exits_2_naming_the_package() -> None:
    code = ("import sys; sys.modules['iree'] = None; sys.modules['iree.runtime'] = None\n"
            "from model.cli import main\n"
            "sys.exit(main(['run', 'examples/submit-with-wait.json', '--backend', 'iree']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "iree-base-runtime" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv", [
    ["run", "examples/submit-with-wait.json", "--backend", "iree", "--defect", "lifo-ready"],
    ["fuzz", "--backend", "iree", "--defect", "lifo-ready", "--examples", "1"],
])
def test_seeded_defects_do_not_apply_to_iree(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "model.cli", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "IREE's own driver" in proc.stderr
