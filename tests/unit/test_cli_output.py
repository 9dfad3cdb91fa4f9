"""Nothing computed is lost, and output fits pipes: output paths made and checked up front,
results printed before a late write fails, unique counterexample names, plain output
(tab-separated tables, no wrapping, no box drawing), --json listings, --version, the
`diff` summary. Commands run in-process; their stdout is captured, i.e. not a terminal."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

import model.cli
import model.fuzz.cli
from model.cli import main
from model.core.defects import Defect
from model.fuzz.campaign import Failure
from model.fuzz.replay import counterexample, save_failure
from model.output import Output, table_text

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "examples" / "reverse-chain.json"
BOX = set("│┃─━┏┓┗┛┌┐└┘╭╮╰╯┡┩├┤")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_readme_trace_command_works_in_a_fresh_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "run", str(CHAIN), "--seed", "3", "--trace", "out/chain.json")
    assert (code, err) == (0, "")
    assert json.loads((tmp_path / "out" / "chain.json").read_text())["traceEvents"]
    assert "trace: out/chain.json" in out


def test_a_trace_that_cannot_be_written_keeps_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def full_disk(path: object, trace: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model.cli, "write_trace", full_disk)
    code, out, err = run(capsys, "run", str(CHAIN), "--json", "--trace",
                         str(tmp_path / "t.json"))
    assert code == 2
    assert json.loads(out)["ok"] is True, "the report is printed in full"
    assert "--trace" in err and "No space left" in err


def _lifo_failure(capsys: pytest.CaptureFixture[str], folder: Path, seed: int,
                  *extra: str) -> tuple[int, dict[str, object], str]:
    code, out, err = run(capsys, "fuzz", "--defect", "lifo-ready", "--examples", "3000",
                         "--seed", str(seed), "--save-failures", str(folder),
                         "--shrink-seconds", "3", "--shard-size", "3000", *extra)
    summary = json.loads(out) if "--json" in extra else {}
    return code, summary, out + err


def test_a_finding_that_cannot_be_saved_is_printed_in_full(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def read_only(*_: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(model.fuzz.cli, "save_failure", read_only)
    code, summary, _ = _lifo_failure(capsys, tmp_path, 0, "--json")
    assert code == 1
    failure = summary["failures"][0]  # type: ignore[index]
    assert failure["scenario_file"] is None and "Read-only" in failure["save_error"]
    document = failure["scenario"]
    assert document["format"] == "hipsem/scenario-1" and document["replay"]["defects"]

    code, _, text = _lifo_failure(capsys, tmp_path, 0)
    assert code == 1 and "Read-only file system" in text and "--save-failures" in text
    body = text[text.index("{\n"):text.rindex("\n}") + 2]
    assert json.loads(body) == document, "the printed counterexample is the whole file"
    saved = tmp_path / "saved.json"
    saved.write_text(body)
    code, out, _ = run(capsys, "run", str(saved), "--json")
    assert code == 1 and "fifo" in {v["property"] for v in json.loads(out)["violations"]}


@pytest.fixture(scope="module")
def lifo_failure() -> Failure:
    from model.fuzz.campaign import CampaignConfig, run_campaign

    found = run_campaign(CampaignConfig(examples=3000, defects=frozenset({Defect.LIFO_READY}),
                                        shrink_seconds=2.0)).failure
    assert found is not None
    return found


def test_counterexample_names_are_content_hashes(lifo_failure: Failure) -> None:
    found, defects = lifo_failure, frozenset({Defect.LIFO_READY})
    name = counterexample(found, defects).name
    assert name.startswith("lifo-ready-fifo-") and len(name.rsplit("-", 1)[1]) == 12
    assert counterexample(found, defects).name == name, "the same finding keeps its name"
    other = Failure(found.case, found.seed + 1, found.violations)
    assert counterexample(other, defects).name != name
    moved = dataclasses.replace(found.case.scenario, queues=(*found.case.scenario.queues, "qx"))
    bigger = Failure(dataclasses.replace(found.case, scenario=moved), found.seed,
                     found.violations)
    assert counterexample(bigger, defects).name != name


def test_two_findings_saved_in_one_folder_never_overwrite_each_other(lifo_failure: Failure,
                                                   tmp_path: Path) -> None:
    defects = frozenset({Defect.LIFO_READY})
    saved, documents = [], []
    for seed in (lifo_failure.seed, lifo_failure.seed + 1):  # two different findings
        failure = Failure(lifo_failure.case, seed, lifo_failure.violations)
        saved.append(save_failure(failure, defects, tmp_path).scenario_file)
        documents.append(saved[-1].read_text())
    assert documents[0] != documents[1] and saved[0] != saved[1]
    assert [p.read_text() for p in saved] == documents, "neither file was replaced"
    again = save_failure(lifo_failure, defects, tmp_path).scenario_file
    assert again == saved[0] and len(list(tmp_path.glob("*.trace.json"))) == 2


def test_plain_output_has_no_boxes_and_no_wrapped_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", str(CHAIN), "--defect", "fresh-event-wait")
    assert code == 1
    replay = next(line for line in out.splitlines() if "replay:" in line)
    assert replay.strip() == ("replay: hipsem run " + str(CHAIN)
                              + " --seed 0 --defect fresh-event-wait")
    _, _, text = _lifo_failure(capsys, tmp_path, 0)
    assert not BOX & set(text) and "\x1b[" not in text
    header = next(line for line in text.splitlines() if line.startswith("# counterexample"))
    assert "max_wait_events" in header and header.split("max_wait_events ")[1][0].isdigit()
    rows = [line.split("\t") for line in text.splitlines() if line.count("\t") == 2]
    assert rows[0] == ["actor", "op", "what"] and len(rows) > 1
    assert any('{"' in row[2] for row in rows), "op values print as JSON, not Python dicts"
    assert "{'" not in text


def test_plain_tables_and_terminal_tables_never_cut_a_value() -> None:
    table = Table(title="t")
    for name in ("N", "miss P", "model"):
        table.add_column(name, no_wrap=True)
    table.add_row("4", "5.4321e-05", "M/G/inf with a long description")
    assert table_text(table).splitlines() == [
        "# t", "N\tmiss P\tmodel", "4\t5.4321e-05\tM/G/inf with a long description"]
    file = io.StringIO()
    terminal = Output(False, Console(file=file, width=40, force_terminal=True,
                                     color_system=None), Console(stderr=True))
    terminal.table(table)
    text = file.getvalue()
    assert "5.4321e-05" in text and "M/G/inf with a long description" in text
    assert "…" not in text


def test_list_defects_json_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fuzz", "--list-defects", "--json")
    assert code == 0
    listed = json.loads(out)["defects"]
    assert [d["name"] for d in listed] == [d.value for d in Defect]
    assert all(d["description"] for d in listed)
    code, out, _ = run(capsys, "fuzz", "--list-defects")
    assert code == 0 and out.startswith("# seeded defects") and not BOX & set(out)
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("hipsem ") and out.split()[1][0].isdigit()


def test_diff_summary_lists_only_disagreements(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", str(CHAIN), str(ROOT / "examples" / "ping-pong.json"),
                       "--sim-runs", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines[1:3]] == ["reverse-chain", "ping-pong"]
    assert lines[-1] == "2/2 scenarios agree" and "\t" not in out
    code, full, _ = run(capsys, "diff", str(CHAIN), "--sim-runs", "2", "--full")
    assert code == 0 and "item\tsim\thip\tverdict" in full and "op a\tOK\tOK\tagree" in full


def test_a_plan_whose_files_cannot_be_written_still_prints_the_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import model.planning.cli

    def full_disk(*_: object) -> list[Path]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model.planning.cli, "_write_outputs", full_disk)
    poisson = str(ROOT / "examples" / "workloads" / "poisson.toml")
    code, out, err = run(capsys, "plan", poisson, "--capacities", "4", "--replications", "1",
                         "--duration-s", "0.002", "--jobs", "1", "--json",
                         "--out", str(tmp_path / "plan"),
                         "--save-workload", str(tmp_path / "w.json"))
    assert code == 1 and "No space left" in err
    assert json.loads(out)["format"] == "hipsem/plan-1", "the plan is printed in full"
    assert (tmp_path / "plan").is_dir(), "--out was created before the simulation"
    assert not (tmp_path / "w.json").exists()


def test_plan_tables_at_120_columns_cut_no_value() -> None:
    from model.planning.cli import print_plans
    from model.planning.parse import load_workload, parse_what_if_text
    from model.planning.plan import plan_workload
    from model.planning.sweep import SweepSpec

    workload = load_workload(ROOT / "examples" / "workloads" / "poisson.toml")
    plans = plan_workload(workload, [parse_what_if_text("rate=2", 0)],
                          SweepSpec((4, 8), 1, 0.004, seed=0, jobs=1), 1e-3)
    file = io.StringIO()
    print_plans(Output(False, Console(file=file, width=120, force_terminal=True,
                                      color_system=None), Console(stderr=True)), plans)
    terminal = file.getvalue()
    plain = io.StringIO()
    print_plans(Output(True, Console(file=plain, color_system=None, soft_wrap=True),
                       Console(stderr=True)), plans)
    cells = {c for line in plain.getvalue().splitlines() if "\t" in line
             for c in line.split("\t")}
    assert "…" not in terminal
    words = {w for c in cells for w in c.split()}
    assert all(w in terminal for w in words), sorted(w for w in words if w not in terminal)


def _on_a_terminal(*argv: str) -> str:
    """stdout of the installed `hipsem` run on a pseudo-terminal."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    hipsem = Path(sys.executable).with_name("hipsem")
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    with subprocess.Popen([str(hipsem), *argv], stdout=follower, stderr=subprocess.DEVNULL,
                          env=env) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_tables_and_plain_gets_tab_separated_lines() -> None:
    terminal = _on_a_terminal("fuzz", "--list-defects")
    assert BOX & set(terminal) and "lifo-ready" in terminal
    plain = _on_a_terminal("fuzz", "--list-defects", "--plain")
    assert not BOX & set(plain) and "\x1b[" not in plain
    assert "lifo-ready\t" in plain


def test_a_long_line_on_a_terminal_is_not_broken() -> None:
    file = io.StringIO()
    show = Output(False, Console(file=file, width=40, force_terminal=True, color_system=None),
                  Console(stderr=True))
    command = "replay: hipsem run examples/reverse-chain.json --seed 0 --defect fresh-event-wait"
    show.print(command)
    assert file.getvalue() == command + "\n"
