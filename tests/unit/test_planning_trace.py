"""Trace import: a Kineto-format Chrome trace becomes a replayable workload.

The trace shipped in tests/unit/data/planning/kineto_small.json (made by the script
beside it) has 3 iterations of one host-to-device copy on stream 20 and 12 kernels on
stream 7, each launched by a runtime call correlated with its kernel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model.planning.cli import plan_main
from model.planning.parse import load_workload
from model.planning.simulate import simulate
from model.planning.trace import import_trace, read_slices
from model.planning.validate import WorkloadError

DATA = Path(__file__).parent / "data" / "planning"
TRACE = DATA / "kineto_small.json"


def _doc() -> dict[str, Any]:
    return json.loads(TRACE.read_text())  # type: ignore[no-any-return]


def test_each_stream_becomes_a_queue_and_each_gpu_slice_a_submission() -> None:
    w = import_trace(TRACE)
    replay = w.processes[0].replay
    assert replay is not None
    assert w.queues == ("stream20", "stream7")  # in order of first launch
    assert len(replay.submissions) == 39
    per_slot = [sum(1 for _, s, _ in replay.submissions if s == slot) for slot in (0, 1)]
    assert per_slot == [3, 36]


def test_submissions_start_at_the_correlated_launch_call_not_at_the_kernel() -> None:
    doc = _doc()
    launches = {e["args"]["correlation"]: e["ts"] for e in doc["traceEvents"]
                if e.get("cat") == "cuda_runtime"}
    kernels = [e for e in doc["traceEvents"] if e.get("cat") in ("kernel", "gpu_memcpy")]
    t0 = min(launches.values())
    expected = sorted(launches[k["args"]["correlation"]] - t0 for k in kernels)
    replay = import_trace(TRACE).processes[0].replay
    assert replay is not None
    assert [t for t, _, _ in replay.submissions] == pytest.approx(expected)
    assert [d for _, _, d in replay.submissions][:2] == [18.0, 42.0]


def test_without_correlation_the_kernel_start_is_the_submission_time() -> None:
    events = [{"ph": "X", "cat": "kernel", "name": "k", "ts": 100 + 10 * i, "dur": 5,
               "pid": 1, "tid": 3} for i in range(4)]
    slices = read_slices(events, "<t>")
    assert [s[0] for s in slices] == [100, 110, 120, 130]
    assert {s[1] for s in slices} == {"1_3"}  # pid_tid when there is no args.stream


def test_a_trace_file_is_recognised_by_load_workload_and_replays_on_the_core() -> None:
    w = load_workload(TRACE)
    result = simulate(w, capacity=8, seed=1, duration_s=0.005)
    iterations = 5000 / w.processes[0].replay.span_us  # type: ignore[union-attr]
    assert result.actions == pytest.approx(39 * iterations, abs=39)
    assert result.event.acquires > 0 and result.timepoint.acquires > 0


@pytest.mark.parametrize(("doc", "path", "fragment"), [
    ({"traceEvents": [{"ph": "X", "cat": "cpu_op", "ts": 1, "dur": 1}]}, "traceEvents",
     "no kernel slices found"),
    ({"traceEvents": [{"ph": "X", "cat": "kernel", "ts": 1, "dur": "long"}]},
     "traceEvents[0].dur", "expected a finite number"),
    ({"traceEvents": [{"ph": "X", "cat": "kernel", "ts": 1, "dur": -3}]},
     "traceEvents[0].dur", "below the minimum 0"),
    ({"traceEvents": "none"}, "traceEvents", "array of trace events"),
])
def test_invalid_traces_name_the_event_and_field(tmp_path: Path, doc: Any, path: str,
                                                  fragment: str) -> None:
    file = tmp_path / "t.json"
    file.write_text(json.dumps(doc))
    with pytest.raises(WorkloadError, match=fragment) as info:
        load_workload(file)
    assert info.value.path == path


def test_hipsem_plan_on_a_bad_trace_exits_2_with_a_clear_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "t.json"
    file.write_text(json.dumps({"traceEvents": [{"ph": "X", "cat": "kernel", "ts": 0}]}))
    assert plan_main([str(file)]) == 2
    err = capsys.readouterr().err
    assert f"{file}: traceEvents[0].dur: got null (null); expected a finite number" in err
    assert "Traceback" not in err
