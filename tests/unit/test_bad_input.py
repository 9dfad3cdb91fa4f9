"""The bad-input corpus: every bad input to `run`, `fuzz`, `plan` and `diff` exits 2 with a
message on stderr naming the problem, and never exits 3 (an internal error).

The corpus covers malformed, empty, binary, deeply nested and huge files, wrong types,
unknown names, bad option values, conflicting or pointless options, and output paths that
cannot be written. Each case names the fragment its message must contain. The commands run
in-process (`model.cli.main`), so the whole corpus takes a few seconds; the
`test_*_entry_point` cases run the installed `hipsem` for the paths that only a real
process shows (recursion limit, Hypothesis' cache folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAIN = str(ROOT / "examples" / "reverse-chain.json")
POISSON = str(ROOT / "examples" / "workloads" / "poisson.toml")
HIPSEM = Path(sys.executable).with_name("hipsem")

SCENARIO = json.loads(Path(CHAIN).read_text())


def _scenario(**changes: object) -> str:
    return json.dumps({**SCENARIO, **changes})


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# file name -> content (bytes or text); written into the test's folder
FILES: dict[str, bytes | str] = {
    "malformed.json": '{"format": "hipsem/scenario-1", "name": ',
    "empty.json": "",
    "binary.json": bytes(range(256)) * 4,
    "nested.json": _deep(5000),
    "nested-shallow.json": _deep(200),
    "huge.json": "[" + ",".join(["0"] * 2_000_000) + "]",
    "huge-number.json": _scenario(semaphores={"H": int("9" * 400)}),
    "array.json": "[]",
    "nan.json": '{"format": NaN}',
    "wrong-type.json": _scenario(queues="q0"),
    "wrong-semaphores.json": _scenario(semaphores=[]),
    "unknown-op.json": _scenario(actors={"main": [{"op": "teleport", "id": "x"}]}),
    "unknown-semaphore.json": _scenario(actors={"main": [
        {"op": "signal", "id": "s", "semaphore": "NOPE", "value": 1}]}),
    "unknown-field.json": _scenario(colour="blue"),
    "unknown-defect.json": _scenario(replay={"seed": 0, "defects": ["no-such-defect"]}),
    "malformed.toml": "format = \n",
    "binary.toml": bytes(range(256)),
    "nested.toml": "a = " + _deep(5000) + "\n",
    "wrong-type.toml": Path(POISSON).read_text().replace("queues = 64", 'queues = "64"'),
    "unknown-kernel.toml": Path(POISSON).read_text().replace('kernel = "k"', 'kernel = "zz"'),
    "a-file": "not a folder",
}


@dataclass(frozen=True)
class Case:
    """One bad command line; `{d}` in an argument is the folder holding FILES."""

    id: str
    argv: tuple[str, ...]
    expect: str  # a fragment of the message (case-insensitive)


def _cases() -> list[Case]:
    files = [
        ("malformed", "malformed.json", "invalid JSON"),
        ("empty", "empty.json", "invalid JSON"),
        ("binary", "binary.json", "utf-8"),
        ("nested", "nested.json", "nested more than"),
        ("nested-shallow", "nested-shallow.json", "nested more than"),
        ("huge", "huge.json", "expected"),
        ("huge-number", "huge-number.json", "semaphores.H"),
        ("array", "array.json", "object"),
        ("nan", "nan.json", "NaN"),
        ("wrong-type", "wrong-type.json", "queues"),
        ("wrong-semaphores", "wrong-semaphores.json", "semaphores"),
        ("unknown-op", "unknown-op.json", "teleport"),
        ("unknown-semaphore", "unknown-semaphore.json", "NOPE"),
        ("unknown-field", "unknown-field.json", "colour"),
        ("unknown-defect", "unknown-defect.json", "no-such-defect"),
        ("missing", "does-not-exist.json", "does-not-exist.json"),
        ("folder", ".", "cannot read"),
    ]
    cases = [Case(f"run-{i}", ("run", f"{{d}}/{f}"), e) for i, f, e in files]
    cases += [Case(f"diff-{i}", ("diff", f"{{d}}/{f}"), e) for i, f, e in files]
    cases += [
        Case("run-trace-into-file", ("run", CHAIN, "--trace", "{d}/a-file/t.json"), "--trace"),
        Case("run-trace-is-folder", ("run", CHAIN, "--trace", "{d}"), "--trace"),
        Case("run-rocm-without-hip", ("run", CHAIN, "--hip-runtime", "rocm"), "--backend hip"),
        Case("run-wall-limit-hip", ("run", CHAIN, "--backend", "hip", "--wall-limit", "1"),
             "--wall-limit"),
        Case("run-limit-hip", ("run", CHAIN, "--backend", "hip", "--limit", "1"), "--limit"),
        Case("run-wall-limit-nan", ("run", CHAIN, "--wall-limit", "nan"), "--wall-limit"),
        Case("run-seed-negative", ("run", CHAIN, "--seed", "-1"), "--seed"),
        Case("run-seed-text", ("run", CHAIN, "--seed", "x"), "--seed"),
        Case("run-unknown-defect", ("run", CHAIN, "--defect", "nope"), "nope"),
        Case("run-unknown-backend", ("run", CHAIN, "--backend", "cuda"), "cuda"),
        Case("run-unknown-option", ("run", CHAIN, "--colour"), "--colour"),
        Case("run-no-file", ("run",), "scenario"),
        Case("unknown-command", ("frobnicate",), "frobnicate"),
        Case("fuzz-save-into-file", ("fuzz", "--save-failures", "{d}/a-file"), "--save-failures"),
        Case("fuzz-save-under-file", ("fuzz", "--save-failures", "{d}/a-file/x"),
             "--save-failures"),
        Case("fuzz-list-with-defect", ("fuzz", "--list-defects", "--defect", "lifo-ready"),
             "--defect"),
        Case("fuzz-list-with-examples", ("fuzz", "--list-defects", "--examples", "5"),
             "--examples"),
        Case("fuzz-shrink-nan", ("fuzz", "--shrink-seconds", "nan"), "--shrink-seconds"),
        Case("fuzz-shrink-negative", ("fuzz", "--shrink-seconds", "-1"), "--shrink-seconds"),
        Case("fuzz-examples-zero", ("fuzz", "--examples", "0"), "--examples"),
        Case("fuzz-unknown-defect", ("fuzz", "--defect", "nope"), "nope"),
        Case("demo-seeds-zero", ("demo", "--seeds", "0"), "--seeds"),
        Case("demo-json-and-plain", ("demo", "--json", "--plain"), "--json"),
        Case("diff-nothing", ("diff",), "--generated"),
        Case("diff-observable-alone", ("diff", "--generated", "1", "--observable"),
             "--observable"),
        Case("diff-generated-negative", ("diff", "--generated", "-2"), "--generated"),
        Case("diff-unknown-runtime", ("diff", CHAIN, "--hip-runtime", "cuda"), "cuda"),
    ]
    plan_files = [
        ("malformed-json", "malformed.json", "invalid JSON"),
        ("empty", "empty.json", "invalid JSON"),
        ("binary", "binary.json", "UTF-8"),
        ("nested", "nested.json", "nested more than"),
        ("huge", "huge.json", "expected"),
        ("malformed-toml", "malformed.toml", "invalid TOML"),
        ("binary-toml", "binary.toml", "UTF-8"),
        ("nested-toml", "nested.toml", "nested more than"),
        ("wrong-type", "wrong-type.toml", "queues"),
        ("unknown-kernel", "unknown-kernel.toml", "zz"),
        ("missing", "does-not-exist.toml", "does-not-exist.toml"),
    ]
    cases += [Case(f"plan-{i}", ("plan", f"{{d}}/{f}"), e) for i, f, e in plan_files]
    cases += [
        Case("plan-out-is-file", ("plan", POISSON, "--out", "{d}/a-file"), "--out"),
        Case("plan-out-under-file", ("plan", POISSON, "--out", "{d}/a-file/plan"), "--out"),
        Case("plan-save-workload-folder", ("plan", POISSON, "--save-workload", "{d}"),
             "--save-workload"),
        Case("plan-no-plots-alone", ("plan", POISSON, "--no-plots"), "--no-plots"),
        Case("plan-capacities-text", ("plan", POISSON, "--capacities", "4,x"), "--capacities"),
        Case("plan-target-above-1", ("plan", POISSON, "--target-miss", "2"), "--target-miss"),
        Case("plan-duration-nan", ("plan", POISSON, "--duration-s", "nan"), "--duration-s"),
        Case("plan-what-if-unknown", ("plan", POISSON, "--what-if", "colour=2"), "colour"),
    ]
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name, content in FILES.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _call(command: Callable[[list[str]], int], argv: list[str]) -> int:
    try:
        return command(argv)
    except SystemExit as stop:  # argparse in a sub-command that does not catch it
        return int(stop.code or 0)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_naming_the_problem(
        case: Case, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace("{d}", str(corpus)) for a in case.argv]
    code = _call(main, argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "internal error" not in err and "Traceback" not in err
    assert case.expect.lower() in err.lower(), err
    created = sorted(p.name for p in corpus.iterdir())
    assert created == sorted(FILES), "a refused command left files behind"


def test_output_paths_are_checked_before_any_work(
        corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --out is reported before the workload is even read: the broken workload's
    own error does not appear, and --save-workload wrote nothing."""
    saved = corpus / "never" / "w.json"
    code = _call(main, ["plan", str(corpus / "malformed.toml"), "--out", str(corpus / "a-file"),
                        "--save-workload", str(saved)])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "invalid TOML" not in err
    assert not saved.exists()


def _entry(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd / "home")}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    env.pop("XDG_CACHE_HOME", None)
    return subprocess.run([str(HIPSEM), *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_deep_nesting_exits_2_in_a_real_process(corpus: Path, tmp_path: Path) -> None:
    for argv in (["run", str(corpus / "nested.json")], ["diff", str(corpus / "nested.json")],
                 ["plan", str(corpus / "nested.json")]):
        done = _entry(argv, tmp_path)
        assert done.returncode == 2, done.stderr
        assert "nested more than" in done.stderr


def test_fuzz_leaves_no_hypothesis_folder_in_the_cwd_entry_point(tmp_path: Path) -> None:
    done = _entry(["fuzz", "--examples", "20"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".hypothesis").exists()
    assert not (tmp_path / "hipsem-failures").exists()
    # hipsem's searches draw no constants from local source (model/fuzz/campaign.py), so
    # Hypothesis caches nothing for them; whatever it writes goes under the user's cache
    cache = tmp_path / "home" / ".cache" / "hipsem" / "hypothesis"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(cache) for p in written), written


def test_rocm_unavailable_suggests_the_cli_flag(tmp_path: Path) -> None:
    env_root = tmp_path / "no-rocm"
    done = subprocess.run(
        [str(HIPSEM), "run", CHAIN, "--backend", "hip", "--hip-runtime", "rocm"],
        cwd=tmp_path, env={**os.environ, "ROCM_PATH": str(env_root)}, capture_output=True,
        text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "--hip-runtime cpu" in done.stderr and "select_runtime" not in done.stderr
