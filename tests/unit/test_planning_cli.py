"""`hipsem plan` end to end: exit codes, stderr messages, tables, JSON, CSV and plots.

Exit codes: 0 a plan was made; 2 invalid input (file, field path, value, expectation on
stderr, never a traceback).
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from model.planning.cli import demo_plan, plan_main

WORKLOAD: dict[str, Any] = {
    "format": "hipsem/workload-1",
    "name": "cli",
    "queues": 8,
    "kernels": {"k": {"kind": "exponential", "mean_us": 20}},
    "graphs": {"one": {"shape": "single", "kernel": "k"}},
    "processes": [{"graph": "one", "queue_offset": "round-robin",
                   "arrivals": {"kind": "poisson", "rate_hz": 5000}}],
    "plan": {"capacities": [1, 2, 4], "replications": 2, "duration_s": 0.01},
}


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    path = tmp_path / "w.json"
    path.write_text(json.dumps(WORKLOAD))
    return path


def test_a_plan_prints_tables_and_writes_json_csv_and_plots(
        workload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = plan_main([str(workload), "--out", str(out), "--jobs", "1",
                      "--what-if", "rate=2", "--what-if", "completion=thread,queues=2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "device events pool" in printed and "timepoints pool" in printed
    assert "Analytic model: M/G/inf" in printed
    assert "what-if comparison" in printed
    doc = json.loads((out / "plan.json").read_text())
    assert doc["format"] == "hipsem/plan-1"
    assert [p["variant"]["name"] for p in doc["plans"]] == [
        "baseline", "rate=2", "completion=thread,queues=2"]
    assert doc["plans"][2]["variant"]["changes"] == {"queues": 2, "completion": "thread"}
    event = doc["plans"][0]["pools"]["event"]
    assert [p["capacity"] for p in event["points"]] == [1, 2, 4]
    assert set(event["points"][0]["occupancy"]) == {"p50", "p99", "p99.9", "max"}
    rows = list(csv.DictReader(io.StringIO((out / "plan.csv").read_text())))
    assert len(rows) == 3 * 2 * 3  # variants x pools x capacities
    assert rows[0]["analytic_model"] == doc["plans"][0]["analytic"]["model"] == "M/G/inf"
    for png in ("miss_vs_capacity.png", "occupancy_ccdf.png", "whatif_miss.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_json_output_goes_to_stdout_and_options_override_the_workload(
        workload: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = plan_main([str(workload), "--json", "--capacities", "3,1", "--replications", "1",
                      "--duration-s", "0.005", "--target-miss", "0.5", "--jobs", "1"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["capacities"] == [1, 3]
    assert doc["settings"]["replications"] == 1
    assert doc["settings"]["target_miss"] == 0.5
    assert doc["plans"][0]["analytic"]["applies"] is True
    analytic = doc["plans"][0]["analytic"]
    assert analytic["model"] == "M/G/inf" and analytic["assumptions"]
    assert [q["queue"] for q in analytic["queues"]] == [f"q{i}" for i in range(8)]


def test_parallel_and_sequential_sweeps_give_the_same_plan(
        workload: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = []
    for jobs in ("1", "2"):
        assert plan_main([str(workload), "--json", "--jobs", jobs]) == 0
        doc = json.loads(capsys.readouterr().out)
        for plan in doc["plans"]:
            plan["totals"].pop("run_wall_s")
        docs.append(doc["plans"])
    assert docs[0] == docs[1]


@pytest.mark.parametrize(("argv", "message"), [
    (["--capacities", "8,x"], "<command line>: --capacities: got \"x\" (string); expected a "
                              "number"),
    (["--capacities", "8,-2"], "<command line>: --capacities[1]: value -2 is below the "
                               "minimum 0"),
    (["--target-miss", "2"], "<command line>: --target-miss: value 2.0 is above the maximum"),
    (["--replications", "0"], "<command line>: --replications: value 0 is below the minimum"),
    (["--duration-s", "0.1", "--warmup-s", "0.2"], "--warmup-s: warm-up 0.2 s must be shorter"),
    (["--what-if", "rate=fast"], "--what-if[0].rate: got \"fast\" (string); expected a finite "
                                 "number"),
])
def test_invalid_options_exit_2_naming_the_option(
        workload: Path, argv: list[str], message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main([str(workload), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(("change", "message"), [
    ({"queues": -1}, "w.json: queues: value -1 is below the minimum 1"),
    ({"graphs": {"one": {"shape": "single", "kernel": "missing"}}},
     "w.json: graphs.one.kernel: unknown kernel 'missing'; declared kernels: k"),
    ({"processes": [{"graph": "one", "arrivals": {"kind": "poisson", "rate_hz": -5}}]},
     "w.json: processes[0].arrivals.rate_hz: value -5 must be > 0"),
])
def test_invalid_workload_files_exit_2_naming_file_field_value_and_expectation(
        tmp_path: Path, change: dict[str, Any], message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({**WORKLOAD, **change}))
    assert plan_main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hipsem plan: error: ") and message in err
    assert "Traceback" not in err


def test_unreadable_and_malformed_files_exit_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main([str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml: cannot read the file" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("format = \n")
    assert plan_main([str(bad)]) == 2
    assert "bad.toml: invalid TOML" in capsys.readouterr().err


def test_usage_errors_exit_2_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main([]) == 2
    assert "usage: hipsem plan" in capsys.readouterr().err
    assert plan_main(["--help"]) == 0
    assert "--what-if" in capsys.readouterr().out


def test_save_workload_writes_an_imported_trace_as_a_workload_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = Path(__file__).parent / "data" / "planning" / "kineto_small.json"
    saved = tmp_path / "replay.json"
    code = plan_main([str(trace), "--save-workload", str(saved), "--capacities", "4",
                      "--replications", "1", "--duration-s", "0.002", "--jobs", "1"])
    # In callback mode the trace's launch rate overloads every run: no plan, exit 1, and
    # the report says so (the imported workload is saved all the same).
    assert code == 1
    captured = capsys.readouterr()
    assert "overloaded: every run (1/1)" in captured.out and "no plan" in captured.err
    doc = json.loads(saved.read_text())
    assert doc["format"] == "hipsem/workload-1"
    assert len(doc["processes"][0]["replay"]["submissions"]) == 39
    doc["completion"] = "thread"
    saved.write_text(json.dumps(doc))
    assert plan_main([str(saved), "--capacities", "4", "--replications", "1",
                      "--duration-s", "0.002", "--jobs", "1"]) == 0


def test_the_demo_plan_is_quick_and_prints_a_recommendation() -> None:
    console = Console(file=io.StringIO(), width=140)
    started = time.perf_counter()
    plans = demo_plan(console)
    assert time.perf_counter() - started < 10
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Capacity plan" in text and "recommended capacity" in text
    assert plans[0].pools["event"].points
