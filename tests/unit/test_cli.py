"""`hipsem run` and the command dispatcher: exit codes, reports, traces, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.cli import main
from model.scenario.trace import trace_problems

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.json"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_passes_and_writes_a_valid_trace(
        path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.json"
    code, out, err = run(capsys, "run", str(path), "--json", "--trace", str(trace))
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["format"] == "hipsem/report-1" and report["ok"] is True
    assert report["backend"] == "sim" and report["violations"] == []
    document = json.loads(trace.read_text())
    assert trace_problems(document) == []
    tracks = {e["args"]["name"] for e in document["traceEvents"] if e.get("ph") == "M"
              and e.get("name") == "thread_name"}
    scenario = json.loads(path.read_text())
    callback = scenario.get("settings", {}).get("completion", "callback") == "callback"
    executes = [op for ops in scenario["actors"].values() for op in ops
                if op["op"] == "execute"]
    ran = {op["queue"] for op in executes if report["ops"][op["id"]]["status"] == "OK"}
    expected = ran | set(scenario["actors"]) | ({"host-function thread"} if callback else set())
    assert expected <= tracks
    counters = {e["name"] for e in document["traceEvents"] if e.get("ph") == "C"}
    assert counters == {f"{s} {kind}" for s in scenario["semaphores"]
                        for kind in ("signalled", "value (claim)")} | {
        "event pool in use", "timepoint pool in use"}
    starts = [e for e in document["traceEvents"] if e.get("ph") == "s"]
    assert starts, "every example has a wait released by a signal: a flow arrow"


def test_human_summary_and_exit_1_on_a_seeded_defect(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "examples" / "reverse-chain.json"
    code, out, _ = run(capsys, "run", str(path), "--defect", "fresh-event-wait")
    assert code == 1
    assert "happens-before" in out


def test_same_seed_same_report_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "examples" / "fan-out-fan-in.json")
    first = run(capsys, "run", path, "--json", "--seed", "9")[1]
    assert first == run(capsys, "run", path, "--json", "--seed", "9")[1]
    assert first != run(capsys, "run", path, "--json", "--seed", "10")[1]


@pytest.mark.parametrize(("document", "expected"), [
    ("{not json", "line 1"),
    (json.dumps({"format": "hipsem/scenario-9"}), "format"),
    (json.dumps({"format": "hipsem/scenario-1", "name": "x", "semaphores": {"S": 0},
                 "queues": ["q0"], "actors": {"a": [{"op": "signal", "semaphore": "T",
                                                     "value": 1}]}}), "actors.a[0].semaphore"),
    (json.dumps({"format": "hipsem/scenario-1", "name": "x", "semaphores": {"S": 5},
                 "queues": ["q0"], "actors": {"a": [{"op": "signal", "semaphore": "S",
                                                     "value": 5}]}}), "5"),
    (json.dumps({"format": "hipsem/scenario-1", "name": "x", "semaphores": {"S": 0},
                 "queues": ["q0"], "actors": {"a": [{"op": "teleport"}]}}), "teleport"),
])
def test_invalid_scenario_files_exit_2_with_a_precise_message(
        document: str, expected: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(document)
    code, out, err = run(capsys, "run", str(bad))
    assert code == 2 and out == ""
    assert str(bad) in err and expected in err
    assert "Traceback" not in err


def test_missing_file_and_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "/nonexistent/scenario.json")
    assert code == 2 and "/nonexistent/scenario.json" in err
    code, _, err = run(capsys, "run", str(EXAMPLES[0]), "--seed", "-3")
    assert code == 2 and "--seed" in err
    code, _, err = run(capsys, "run", str(EXAMPLES[0]), "--defect", "no-such-bug")
    assert code == 2 and "no-such-bug" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "unknown command" in err


def test_replay_section_sets_seed_and_defects(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads((ROOT / "examples" / "reverse-chain.json").read_text())
    document["replay"] = {"seed": 4, "defects": ["fresh-event-wait"]}
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(document))
    code, out, _ = run(capsys, "run", str(saved), "--json")
    report = json.loads(out)
    assert code == 1 and report["seed"] == 4
    assert {v["property"] for v in report["violations"]} >= {"happens-before"}


def test_replay_timing_is_parsed_validated_and_used(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from model.scenario.parse import load_scenario, scenario_to_json

    document = json.loads((ROOT / "examples" / "submit-with-wait.json").read_text())
    document["replay"] = {"seed": 1, "timing": {"callback_latency_us": 5.0, "jitter": 0}}
    saved = tmp_path / "timed.json"
    saved.write_text(json.dumps(document))
    scenario = load_scenario(saved)
    assert scenario.replay.timing == {"callback_latency_us": 5.0, "jitter": 0.0}
    assert scenario_to_json(scenario)["replay"]["timing"] == scenario.replay.timing
    fast = json.loads(run(capsys, "run", str(saved), "--json")[1])["sim_time_us"]
    document["replay"]["timing"]["callback_latency_us"] = 500.0
    saved.write_text(json.dumps(document))
    slow = json.loads(run(capsys, "run", str(saved), "--json")[1])["sim_time_us"]
    assert slow > fast + 400
    for bad, expected in (({"warp_us": 1}, "replay.timing.warp_us"),
                          ({"jitter": 3}, "jitter"),
                          ({"record_event_us": -1}, "record_event_us")):
        document["replay"]["timing"] = bad
        saved.write_text(json.dumps(document))
        code, _, err = run(capsys, "run", str(saved))
        assert code == 2 and expected in err, err


def test_demo_json_is_one_document_and_says_what_failed(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import model.demo

    code, out, err = run(capsys, "demo", "--json", "--quick", "--seeds", "1")
    doc = json.loads(out)
    assert (code, err) == (0, "") and doc["format"] == "hipsem/demo-1" and doc["ok"] is True
    assert {r["file"] for r in doc["examples"]} == {p.name for p in EXAMPLES}
    assert all(r["violations"] == [] and r["seeds"] == 1 for r in doc["examples"])
    assert "fuzz" not in doc and "plan" not in doc  # --quick: examples only
    # A bundled example that the core breaks shows up in the document and the exit code.
    broken = tmp_path / "examples"
    broken.mkdir()
    (broken / "a.json").write_text((ROOT / "examples" / "reverse-chain.json").read_text())
    monkeypatch.setattr(model.demo, "EXAMPLES", broken)
    import model.cli
    from model.core.defects import Defect

    original = model.cli.run_scenario_file
    monkeypatch.setattr(model.cli, "run_scenario_file", lambda path, seed: original(
        path, seed=seed, defects=[Defect.FRESH_EVENT_WAIT]))
    code, out, _ = run(capsys, "demo", "--json", "--quick", "--seeds", "2")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["examples"][0]["violations"] != []
