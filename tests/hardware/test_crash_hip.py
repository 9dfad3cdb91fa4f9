"""Crashes on the HIP backend: a raising core is recorded as `crash`, the run ends without
hanging, and a `RecorderError` (hipsem's own bug) still propagates (docs/checker.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hipbackend.runner import HipRun
from hipbackend.runtime import RuntimeInfo
from model.cli import main
from model.core.defects import Defect
from model.scenario.checker import check
from model.scenario.recorder import Recorder, RecorderError
from tests.mutants import MUTANTS, crash_scenario

MINIMAL = Path(__file__).resolve().parents[1] / "property" / "minimal"
CASES = [(name, mode) for name in MUTANTS for mode in ("callback", "thread")
         if not (name == "host-function" and mode == "thread")]
SECONDS = 15.0  # a crashed run tears down within CRASH_TEARDOWN_S plus joins


@pytest.mark.parametrize(("name", "mode"), CASES)
def test_a_raising_core_is_a_crash_on_the_hip_backend(name: str, mode: str,
                                                      hip_runtime: RuntimeInfo) -> None:
    factory, where, op = MUTANTS[name]
    sc = crash_scenario(completion=mode)
    started = time.monotonic()
    record = HipRun(sc, 0, (), hip_runtime.kind, context_factory=factory).run()
    assert time.monotonic() - started < SECONDS
    assert record.crash is not None
    assert (record.crash.type, record.crash.where, record.crash.op) == ("Boom", where, op)
    violations = check(sc, record)
    assert violations[0].property == "crash" and violations[0].op == op


def test_a_recorder_error_propagates_on_the_hip_backend(hip_runtime: RuntimeInfo,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Recorder) -> int:
        raise ZeroDivisionError("recorder bug")

    monkeypatch.setattr(Recorder, "seq", broken)
    with pytest.raises(RecorderError, match="recorder bug"):
        HipRun(crash_scenario(), 0, (), hip_runtime.kind).run()


def test_hipsem_run_shows_the_defect_crash_with_exit_1(hip_runtime: RuntimeInfo,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = MINIMAL / f"{Defect.REUSE_DESTROYED_EVENT.value}.json"
    code = main(["run", str(path), "--backend", "hip", "--hip-runtime", hip_runtime.kind,
                 "--defect", Defect.REUSE_DESTROYED_EVENT.value, "--json"])
    out, _ = capsys.readouterr()
    assert code == 1
    violations = json.loads(out)["violations"]
    assert violations[0]["property"] == "crash" and "DeviceError" in violations[0]["message"]
