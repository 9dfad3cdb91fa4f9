"""`hipsem calibrate` on the session's HIP runtime: a valid timing file the model accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipbackend.calibrate import calibrate_main, summarize
from hipbackend.runtime import RuntimeInfo
from model.cli import main
from model.sim.timingfile import load_timing_file

ROOT = Path(__file__).resolve().parents[2]
MEASURED = {"create_stream", "destroy_stream", "create_event", "destroy_event",
            "record_event", "stream_wait_event", "query_event", "synchronize_event",
            "launch_host_func", "launch_work", "callback_latency", "sync_wakeup",
            "host_function_serialization"}


def test_calibrate_writes_a_timing_file_that_run_accepts(
    hip_runtime: RuntimeInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / "timing.toml"
    code = calibrate_main(["--hip-runtime", hip_runtime.kind, "--out", str(out),
                           "--repeats", "20", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    tf = load_timing_file(out)
    assert set(tf.measured) == MEASURED
    assert tf.source["runtime"] == hip_runtime.kind
    assert printed["timing"]["record_event_us"] == pytest.approx(tf.timing.record_event_us)
    for name, m in tf.measured.items():
        assert m.n >= 5 and m.ci_low_us <= m.median_us <= m.ci_high_us
        if m.field:
            assert getattr(tf.timing, m.field) == pytest.approx(m.median_us, abs=1e-5), name
    assert 0 < tf.timing.launch_work_min_us <= tf.timing.launch_work_max_us
    assert tf.timing.callback_latency_us > 0  # a host function starts after its work ends
    assert "0 of" in str(tf.source["host_functions_overlapped"])  # serialized (rule 5)
    assert main(["run", str(ROOT / "examples" / "reverse-chain.json"), "--timing",
                 str(out)]) == 0


def test_calibrate_refuses_bad_options_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert calibrate_main(["--out", str(tmp_path), "--repeats", "20"]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert calibrate_main(["--out", str(tmp_path / "t.toml"), "--repeats", "2"]) == 2
    assert "--repeats must be an integer >= 5" in capsys.readouterr().err
    assert calibrate_main(["--out", str(tmp_path / "t.toml"), "--confidence", "1.5"]) == 2
    assert "--confidence must be in (0, 1)" in capsys.readouterr().err
    assert calibrate_main(["--backend", "sim", "--out", str(tmp_path / "t.toml")]) == 2


def test_the_interval_brackets_the_median_and_narrows_with_more_samples() -> None:
    few = summarize([1.0, 2.0, 3.0, 10.0, 2.5] * 4, "", 0.95, seed=1)
    many = summarize([1.0, 2.0, 3.0, 10.0, 2.5] * 40, "", 0.95, seed=1)
    assert few.ci_low_us <= few.median_us <= few.ci_high_us
    assert many.ci_high_us - many.ci_low_us <= few.ci_high_us - few.ci_low_us
    assert summarize([4.0] * 7, "x", 0.9, seed=0).ci_low_us == 4.0
