"""Mutation testing of model/core with cosmic-ray; `hipsem fuzz` (or the test suite) as the test.

    nice -n 10 .venv/bin/python benchmarks/mutation.py [--mode fuzz|pytest]
        [--sample N --seed S] [--workers W] [--timeout SECONDS] [--session DIR] [--fresh]
        [--json FILE] [--report-only] [--list-excluded]

Opt-in (needs the `mutation` extra: `.venv/bin/pip install -e '.[mutation]'`); see
docs/mutation.md for the method, what is excluded and the recorded scores.

1. Mutants: cosmic-ray's core operators over the modules of model/core except
   model/core/defects.py. A session database (cosmic-ray's WorkDB, sqlite) lives in
   `--session` (default out/mutation/<mode>[-sample<N>-seed<S>]); `cr-report` reads it.
2. Filters, applied once at `init`, each mutant marked "skipped" with the reason:
   * `defect-guarded`: the mutant lies in code that runs, or decides something, only
     while a seeded defect is switched on (found from the source, see `defect_regions`);
   * `annotation`: the mutant lies in a type annotation; every core module has
     `from __future__ import annotations`, so annotations are never evaluated;
   * `not in sample`: with `--sample N --seed S`, all but a deterministic random sample
     of N of the remaining mutants (sorted by file, line, column, operator, occurrence).
3. Execution: `--workers` threads, each with its own copy of the working tree under the
   session (tracked and untracked-not-ignored files); a mutant is written into the copy,
   the test runs there with PYTHONPATH at the copy, then the file is restored. Results
   go to the database as they come, so an interrupted run resumes where it stopped (same
   command). A session whose model/core sources changed since `init` is refused (the
   mutant numbering would not match); rerun with `--fresh`.
4. Test commands and verdicts:
   * fuzz (default): `.venv/bin/hipsem fuzz --json --save-failures <tmpdir>` at its
     default budget; fuzz-faults: the same with `--faults` (fault plans drawn, so the
     core's fault paths are exercised). Exit 0 with an empty `failures` list:
     survived; exit 1 with a non-empty `failures` list: killed; anything else (exit 2,
     3, a traceback exit 1 without the JSON summary, ...) is an `error`; past
     `--timeout`: `timeout`.
   * pytest: `.venv/bin/python -m pytest -q -x -p no:cacheprovider tests/unit
     tests/property` (HIPSEM_PROFILE dev unless set; the Hypothesis database of the copy
     is wiped before each mutant). Exit 0 survived, 1 killed, others `error`.
   The unmutated tree is run first; a baseline that does not pass aborts (exit 2).
5. Report: counts (killed / survived / equivalent / timeout / error, and the exclusions),
   the kill rate over the non-equivalent mutants, and each survivor with file:line,
   operator and diff, printed and written as JSON (`<session>/results.json`, and
   `--json FILE`). Survivors matching an entry of benchmarks/mutation_equivalent.json
   (same file, operator, original line and mutated line) are reported as equivalent
   with the reason recorded there.

Exit codes: 0 done, 2 bad arguments, a missing tool or a failing baseline.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import dataclasses
import datetime
import difflib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORE = Path("model/core")
EXCLUDED_MODULES = {"model/core/defects.py"}  # the seeded-defect switchboard itself
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation_equivalent.json"
# Functions that only a seeded defect calls and whose docstring does not say so with a
# leading "Defect `...`" (those are found automatically).
DEFECT_ONLY_FUNCTIONS = {"model/core/pools.py": ("EventPool.flush_in_callback",)}
FUZZ_TIMEOUT, PYTEST_TIMEOUT = 120.0, 300.0
FUZZ_MODES = ("fuzz", "fuzz-faults")  # `hipsem fuzz`, `hipsem fuzz --faults`
MARK = "hipsem-mutation:"
PYTEST_TARGETS = ("tests/unit", "tests/property")


# --------------------------------------------------------------------------- exclusions

Span = tuple[tuple[int, int], tuple[int, int]]  # ((line, col), (end_line, end_col))


def _span(node: ast.AST) -> Span:
    return ((node.lineno, node.col_offset),  # type: ignore[attr-defined]
            (node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]


def _block_span(first: ast.AST, last: ast.AST) -> Span:
    return (_span(first)[0], _span(last)[1])


class _DefectRegions:
    """Finds the code that matters only while a seeded defect is on.

    With every defect off (the configuration `hipsem fuzz` tests), `Defect.X in D` is
    False and `Defect.X not in D` True. The analysis folds those constants through
    `not`, `and`, `or` and local flags (a name whose every assignment in its function is
    such a constant, e.g. `lifo = Defect.LIFO_READY in ...`), and excludes:
      * every constant-folded expression that mentions `Defect` or a flag (the defect
        switch itself, and operands that only matter when it is on);
      * operands of `or`/`and` that fold to False/True (they cannot decide the result);
      * the dead branch of an `if` statement or `x if c else y` with a constant test, and
        the statements after an `if` whose live body always leaves the block;
      * the assignments of flags;
      * functions whose docstring starts with "Defect `" and DEFECT_ONLY_FUNCTIONS.
    """

    def __init__(self, tree: ast.Module, path: str) -> None:
        self.spans: list[tuple[Span, str]] = []
        self.path = path
        self._only = set(DEFECT_ONLY_FUNCTIONS.get(path, ()))
        self.found_only: set[str] = set()
        self._block(tree.body, {}, "")

    # constant folding under "every defect off"
    def _const(self, e: ast.expr, flags: dict[str, bool]) -> bool | None:
        if (isinstance(e, ast.Compare) and len(e.ops) == 1
                and isinstance(e.ops[0], ast.In | ast.NotIn)
                and isinstance(e.left, ast.Attribute) and isinstance(e.left.value, ast.Name)
                and e.left.value.id == "Defect"):
            return isinstance(e.ops[0], ast.NotIn)
        if isinstance(e, ast.Name) and e.id in flags:
            return flags[e.id]
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
            inner = self._const(e.operand, flags)
            return None if inner is None else not inner
        if isinstance(e, ast.BoolOp):
            values = [self._const(v, flags) for v in e.values]
            absorbing = isinstance(e.op, ast.Or)  # True absorbs `or`, False absorbs `and`
            if absorbing in values:
                return absorbing
        return None

    @staticmethod
    def _mentions(e: ast.AST, flags: dict[str, bool]) -> bool:
        return any(isinstance(n, ast.Name) and (n.id == "Defect" or n.id in flags)
                   for n in ast.walk(e))

    def _exclude(self, span: Span, why: str) -> None:
        self.spans.append((span, why))

    def _expr(self, e: ast.AST, flags: dict[str, bool], where: str) -> None:
        """Exclude the defect-only parts of expression `e` (recursively)."""
        if isinstance(e, ast.expr) and self._const(e, flags) is not None \
                and self._mentions(e, flags):
            self._exclude(_span(e), f"{where}: defect switch `{ast.unparse(e)}`")
            return
        if isinstance(e, ast.BoolOp):
            inert = not isinstance(e.op, ast.Or)  # False is inert in `or`, True in `and`
            for v in e.values:
                if self._const(v, flags) is inert and self._mentions(v, flags):
                    self._exclude(_span(v), f"{where}: defect switch `{ast.unparse(v)}`")
                else:
                    self._expr(v, flags, where)
            return
        if isinstance(e, ast.IfExp):
            c = self._const(e.test, flags)
            if c is not None and self._mentions(e.test, flags):
                self._exclude(_span(e.test), f"{where}: defect switch")
                dead = e.orelse if c else e.body
                self._exclude(_span(dead), f"{where}: branch taken only with a defect on")
                self._expr(e.body if c else e.orelse, flags, where)
                return
        for child in ast.iter_child_nodes(e):
            self._expr(child, flags, where)

    def _flags(self, body: list[ast.stmt], outer: dict[str, bool]) -> dict[str, bool]:
        """Local names every assignment of which is a defect constant (one function)."""
        flags = dict(outer)
        assigned: dict[str, list[ast.expr]] = {}
        for node in _walk_function(body):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            value = node.value if target is name else None
                            assigned.setdefault(name.id, []).append(value)  # type: ignore[arg-type]
            elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr) and \
                    isinstance(node.target, ast.Name):
                assigned.setdefault(node.target.id, []).append(None)  # type: ignore[arg-type]
        changed = True
        while changed:
            changed = False
            for name, values in assigned.items():
                if name in flags:
                    continue
                consts = {self._const(v, flags) if v is not None else None for v in values}
                if len(consts) == 1 and None not in consts and all(
                        self._mentions(v, flags) for v in values):
                    flags[name] = consts.pop()  # type: ignore[assignment]
                    changed = True
        return flags

    def _block(self, body: list[ast.stmt], flags: dict[str, bool], where: str) -> None:
        for i, stmt in enumerate(body):
            if self._stmt(stmt, flags, where) and i + 1 < len(body):
                self._exclude(_block_span(body[i + 1], body[-1]),
                              f"{where}: reached only with a defect on")
                return

    def _stmt(self, s: ast.stmt, flags: dict[str, bool], where: str) -> bool:
        """Handle one statement; True if the rest of its block is defect-only."""
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{where}.{s.name}" if where else s.name
            doc = ast.get_docstring(s) or ""
            first = s.decorator_list[0] if s.decorator_list else s
            if name in self._only or (not isinstance(s, ast.ClassDef)
                                      and doc.startswith("Defect `")):
                self.found_only.add(name)
                self._exclude((_span(first)[0], _span(s)[1]), f"{name}: defect-only function")
                return False
            inner = self._flags(s.body, flags) if not isinstance(s, ast.ClassDef) else flags
            for d in s.decorator_list:
                self._expr(d, flags, name)
            self._block(s.body, inner, name)
            return False
        if isinstance(s, ast.If | ast.While):
            c = self._const(s.test, flags)
            if c is None or not self._mentions(s.test, flags):
                self._expr(s.test, flags, where)
                self._block(s.body, flags, where)
                if s.orelse:
                    self._block(s.orelse, flags, where)
                return False
            self._exclude(_span(s.test), f"{where}: defect switch `{ast.unparse(s.test)}`")
            live, dead = (s.body, s.orelse) if c else (s.orelse, s.body)
            if dead:
                self._exclude(_block_span(dead[0], dead[-1]),
                              f"{where}: branch taken only with a defect on")
            if live:
                self._block(live, flags, where)
            return bool(live) and isinstance(s, ast.If) and _leaves(live[-1])
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and \
                isinstance(s.targets[0], ast.Name) and s.targets[0].id in flags:
            self._exclude(_span(s), f"{where}: defect flag `{s.targets[0].id}`")
            return False
        for child in ast.iter_child_nodes(s):
            if isinstance(child, ast.stmt):
                continue
            self._expr(child, flags, where)
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(s, field, None)
            if isinstance(block, list) and block:
                if field == "handlers":
                    for h in block:
                        self._block(h.body, flags, where)
                else:
                    self._block(block, flags, where)
        if isinstance(s, ast.Match):
            for case in s.cases:
                self._block(case.body, flags, where)
        return False


def _leaves(s: ast.stmt) -> bool:
    return isinstance(s, ast.Return | ast.Raise | ast.Break | ast.Continue)


def _walk_function(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions or classes."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                              | ast.Lambda):
                todo.append(child)


def defect_regions(source: str, path: str = "") -> list[tuple[Span, str]]:
    """The spans of `source` that matter only while a seeded defect is on, with why."""
    regions = _DefectRegions(ast.parse(source), path)
    missing = set(DEFECT_ONLY_FUNCTIONS.get(path, ())) - regions.found_only
    if missing:
        print(f"warning: {path}: DEFECT_ONLY_FUNCTIONS not found: {sorted(missing)}",
              file=sys.stderr)
    return regions.spans


def annotation_spans(source: str) -> list[Span]:
    """Type annotations (never evaluated under `from __future__ import annotations`)."""
    tree = ast.parse(source)
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not future:
        return []
    spans: list[Span] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            spans.append(_span(node.annotation))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            spans.append(_span(node.returns))
        elif isinstance(node, ast.AnnAssign):
            spans.append(_span(node.annotation))
    return spans


def _inside(start: tuple[int, int], end: tuple[int, int], span: Span) -> bool:
    return span[0] <= tuple(start) and tuple(end) <= span[1]


def core_modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / CORE).glob("*.py")
                  if str(p.relative_to(ROOT)) not in EXCLUDED_MODULES)


def sources_digest(modules: Iterable[str]) -> str:
    h = hashlib.sha256()
    for m in modules:
        h.update(m.encode() + b"\0" + (ROOT / m).read_bytes() + b"\0")
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- session


@dataclasses.dataclass
class Options:
    mode: str
    sample: int | None
    seed: int
    workers: int
    timeout: float
    session: Path
    nice: int
    pytest_args: list[str]
    modules: list[str] = dataclasses.field(default_factory=list)  # empty: every core module


def _need_cosmic_ray() -> None:
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        raise SystemExit("benchmarks/mutation.py needs cosmic-ray: "
                         ".venv/bin/pip install -e '.[mutation]'") from None


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()


def _write_config(opts: Options, modules: list[str]) -> Path:
    """A cosmic-ray config matching the session (for `cosmic-ray`/`cr-*` tools)."""
    config = opts.session / "cosmic-ray.toml"
    command = " ".join(_test_command(opts, Path("<tmpdir>")))
    config.write_text(
        "# Written by benchmarks/mutation.py; its own executor runs the mutants (parallel,\n"
        "# in private tree copies). `cr-report session.sqlite` reads the results.\n"
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(modules)}\n"
        f"timeout = {opts.timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        "[cosmic-ray.distributor]\nname = \"local\"\n")
    return config


def init_session(opts: Options) -> None:
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    modules = opts.modules or core_modules()
    opts.session.mkdir(parents=True, exist_ok=True)
    _write_config(opts, modules)
    db_path = opts.session / "session.sqlite"
    db_path.unlink(missing_ok=True)
    with _chdir(ROOT), use_db(str(db_path), WorkDB.Mode.create) as db:
        init(modules, db, {})
        items = list(db.work_items)
        reasons: dict[str, str] = {}
        per_module = {m: (defect_regions((ROOT / m).read_text(), m),
                          annotation_spans((ROOT / m).read_text())) for m in modules}
        for item in items:
            m = item.mutations[0]
            regions, annotations = per_module[str(m.module_path)]
            for span, why in regions:
                if _inside(m.start_pos, m.end_pos, span):
                    reasons[item.job_id] = f"excluded: defect-guarded ({why})"
                    break
            else:
                if any(_inside(m.start_pos, m.end_pos, s) for s in annotations):
                    reasons[item.job_id] = "excluded: annotation"
        eligible = sorted((i for i in items if i.job_id not in reasons), key=_order)
        if opts.sample is not None and opts.sample < len(eligible):
            chosen = {i.job_id for i in random.Random(opts.seed).sample(eligible, opts.sample)}
            for i in eligible:
                if i.job_id not in chosen:
                    reasons[i.job_id] = f"not in sample (--sample {opts.sample} --seed {opts.seed})"
        by_reason: dict[str, list[str]] = {}
        for job, why in reasons.items():
            by_reason.setdefault(why, []).append(job)
        for why, jobs in by_reason.items():
            db.set_multiple_results(jobs, WorkResult(output=why,
                                                     worker_outcome=WorkerOutcome.SKIPPED))
    meta = {"mode": opts.mode, "sample": opts.sample, "seed": opts.seed, "modules": modules,
            "sources": sources_digest(modules), "commit": _git("rev-parse", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--", "model")),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mutants": len(items)}
    (opts.session / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _order(item: Any) -> tuple[Any, ...]:
    m = item.mutations[0]
    return (str(m.module_path), tuple(m.start_pos), m.operator_name, m.occurrence)


# --------------------------------------------------------------------------- execution


def _test_command(opts: Options, tmp: Path) -> list[str]:
    python = str(ROOT / ".venv" / "bin" / "python")
    if opts.mode in FUZZ_MODES:
        faults = ["--faults"] if opts.mode == "fuzz-faults" else []
        return [str(ROOT / ".venv" / "bin" / "hipsem"), "fuzz", *faults, "--json",
                "--save-failures", str(tmp)]
    return [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
            *PYTEST_TARGETS, *opts.pytest_args]


def _copy_tree(dest: Path) -> None:
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    if dest.exists():
        shutil.rmtree(dest)
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file() and not f.startswith("out/"):
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)


_RUNNING: set[subprocess.Popen[str]] = set()  # test commands in flight (killed on ^C)
_LOCK = threading.Lock()


def _kill_running() -> None:
    with _LOCK:
        for proc in _RUNNING:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)


@dataclasses.dataclass
class Outcome:
    verdict: str  # killed | survived | timeout | error
    rc: int | None
    seconds: float
    properties: list[str]
    output: str


def run_test(opts: Options, tree: Path) -> Outcome:
    """The test command in copy `tree`; its verdict (see the module docstring)."""
    for cache in (tree / CORE / "__pycache__", tree / ".hypothesis"):
        shutil.rmtree(cache, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="hipsem-mut-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1",
                   HIPSEM_FAILURES=tmp, HIPSEM_DEBUG="1")
        started = time.perf_counter()
        nice = ["nice", "-n", str(opts.nice)] if opts.nice else []
        proc = subprocess.Popen(
            [*nice, *_test_command(opts, Path(tmp))], cwd=tree, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        with _LOCK:
            _RUNNING.add(proc)
        try:
            out, err = proc.communicate(timeout=opts.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return Outcome("timeout", None, time.perf_counter() - started, ["timeout"],
                           (out + err)[-2000:])
        finally:
            with _LOCK:
                _RUNNING.discard(proc)
        seconds = time.perf_counter() - started
    rc = proc.returncode
    if rc < 0:  # killed by a signal (^C of the benchmark): not a verdict
        raise KeyboardInterrupt
    tail = (out + err)[-4000:]
    if opts.mode == "pytest":
        verdict = {0: "survived", 1: "killed"}.get(rc, "error")
        return Outcome(verdict, rc, seconds, [], tail)
    try:
        summary = json.loads(out)
        failures = summary["failures"]
    except (ValueError, KeyError, TypeError):
        # The campaign catches a crash as property "crash" but replaying the saved
        # counterexample (model/fuzz/replay.py save_failure) does not: exit 3 (issue 15).
        # (HIPSEM_DEBUG=1 lets the traceback through: exit 1 without the JSON summary.)
        kind = "crash-in-replay" if "in save_failure" in err else \
            "invalid-input" if rc == 2 else "crash"
        return Outcome("error", rc, seconds, [kind], tail)
    properties = sorted({f.get("property", "?") for f in failures})
    if rc == 0 and not failures:
        return Outcome("survived", rc, seconds, [], tail)
    if rc == 1 and failures:
        return Outcome("killed", rc, seconds, properties, tail)
    return Outcome("error", rc, seconds, properties, tail)


def _mutate(tree: Path, mutation: Any) -> tuple[Path, str, str] | None:
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    path = tree / mutation.module_path
    original = path.read_text(encoding="utf-8")
    operator = cosmic_ray.plugins.get_operator(mutation.operator_name)(
        **(mutation.operator_args or {}))
    mutated = mutate_code(original, operator, mutation.occurrence)
    if mutated is None:
        return None
    path.write_text(mutated, encoding="utf-8")
    return path, original, mutated


def _diff(module: str, original: str, mutated: str) -> str:
    return "\n".join(difflib.unified_diff(original.split("\n"), mutated.split("\n"),
                                          f"a/{module}", f"b/{module}", lineterm="", n=1))


def execute(opts: Options) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    db_path = opts.session / "session.sqlite"
    with use_db(str(db_path), WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=_order)
    if not pending:
        return
    trees = [opts.session / "trees" / f"w{k}" for k in range(max(1, opts.workers))]
    for tree in trees:
        _copy_tree(tree)
    baseline = run_test(dataclasses.replace(opts, timeout=opts.timeout * 2), trees[0])
    if baseline.verdict != "survived":
        print(f"baseline (unmutated tree) did not pass: {baseline.verdict}, rc {baseline.rc}"
              f"\n{baseline.output}", file=sys.stderr)
        raise SystemExit(2)
    signal.signal(signal.SIGTERM, lambda *_: _raise_interrupt())
    print(f"baseline passes in {baseline.seconds:.1f} s; {len(pending)} mutant(s) to run "
          f"on {len(trees)} worker(s)", file=sys.stderr)
    free = list(trees)
    lock = threading.Lock()

    def one(item: Any) -> WorkResult:
        with lock:
            tree = free.pop()
        try:
            mutation = item.mutations[0]
            applied = _mutate(tree, mutation)
            if applied is None:
                return WorkResult(worker_outcome=WorkerOutcome.NO_TEST)
            path, original, mutated = applied
            try:
                outcome = run_test(opts, tree)
            finally:
                path.write_text(original, encoding="utf-8")
            test = {"survived": TestOutcome.SURVIVED, "killed": TestOutcome.KILLED,
                    "timeout": TestOutcome.KILLED}.get(outcome.verdict, TestOutcome.INCOMPETENT)
            head = json.dumps({"verdict": outcome.verdict, "rc": outcome.rc,
                               "seconds": round(outcome.seconds, 2),
                               "properties": outcome.properties})
            return WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=test,
                              output=f"{MARK} {head}\n{outcome.output}",
                              diff=_diff(str(mutation.module_path), original, mutated))
        finally:
            with lock:
                free.append(tree)

    done = 0
    with concurrent.futures.ThreadPoolExecutor(len(trees)) as pool, \
            use_db(str(db_path), WorkDB.Mode.open) as db:
        futures = {pool.submit(one, item): item for item in pending}
        try:
            for future in concurrent.futures.as_completed(futures):
                item = futures[future]
                result = future.result()
                db.set_result(item.job_id, result)
                done += 1
                verdict = _parse_head(result.output).get("verdict", result.worker_outcome)
                m = item.mutations[0]
                print(f"[{done}/{len(pending)}] {verdict:8} {m.module_path}:{m.start_pos[0]} "
                      f"{m.operator_name.removeprefix('core/')}", file=sys.stderr, flush=True)
        except BaseException:
            for f in futures:
                f.cancel()
            _kill_running()  # their jobs stay pending and rerun on resume
            raise


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _parse_head(output: str | None) -> dict[str, Any]:
    if output and output.startswith(MARK):
        with contextlib.suppress(ValueError):
            return json.loads(output.splitlines()[0].removeprefix(MARK))  # type: ignore[no-any-return]
    return {}


# --------------------------------------------------------------------------- report


def _changed_lines(diff: str) -> tuple[str, str]:
    minus = [ln[1:].strip() for ln in diff.splitlines()
             if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:].strip() for ln in diff.splitlines()
            if ln.startswith("+") and not ln.startswith("+++")]
    return " / ".join(minus), " / ".join(plus)


def load_equivalents() -> list[dict[str, str]]:
    if not EQUIVALENT_FILE.exists():
        return []
    return json.loads(EQUIVALENT_FILE.read_text())["equivalent"]  # type: ignore[no-any-return]


def report(opts: Options) -> dict[str, Any]:
    from cosmic_ray.work_db import WorkDB, use_db

    meta = json.loads((opts.session / "meta.json").read_text())
    equivalents = load_equivalents()
    counts = {k: 0 for k in ("killed", "survived", "equivalent", "timeout", "error",
                             "pending", "no-test")}
    excluded: dict[str, int] = {"defect-guarded": 0, "annotation": 0, "not in sample": 0}
    survivors, others, seconds = [], [], []
    killed_by: dict[str, int] = {}
    error_kinds: dict[str, int] = {}
    with use_db(str(opts.session / "session.sqlite"), WorkDB.Mode.open) as db:
        results = dict(db.results)
        items = sorted(db.work_items, key=_order)
    for item in items:
        m = item.mutations[0]
        result = results.get(item.job_id)
        if result is None:
            counts["pending"] += 1
            continue
        if result.worker_outcome == "skipped":
            key = next((k for k in excluded if k in (result.output or "")), None)
            if key is not None:
                excluded[key] += 1
            continue
        if result.worker_outcome == "no-test":
            counts["no-test"] += 1
            continue
        head = _parse_head(result.output)
        verdict = head.get("verdict", "error")
        if "seconds" in head:
            seconds.append(head["seconds"])
        entry = {"file": str(m.module_path), "line": m.start_pos[0],
                 "operator": m.operator_name.removeprefix("core/"),
                 "occurrence": m.occurrence, "function": m.definition_name,
                 "diff": result.diff or ""}
        if verdict == "killed":
            for p in head.get("properties", []):
                killed_by[p] = killed_by.get(p, 0) + 1
        if verdict == "survived":
            before, after = _changed_lines(entry["diff"])
            match = next((e for e in equivalents if e["file"] == entry["file"]
                          and e["operator"] == entry["operator"] and e["before"] == before
                          and e["after"] == after), None)
            if match is not None:
                verdict = "equivalent"
                entry["reason"] = match["reason"]
            survivors.append({**entry, "verdict": verdict})
        elif verdict in ("timeout", "error"):
            kind = (head.get("properties") or ["timeout"])[0] if verdict == "error" \
                else "timeout"
            error_kinds[kind] = error_kinds.get(kind, 0) + 1
            others.append({**entry, "verdict": verdict, "rc": head.get("rc"), "kind": kind,
                           "output": (result.output or "")[-1500:]})
        counts[verdict] += 1
    ran = counts["killed"] + counts["survived"] + counts["equivalent"] + counts["timeout"] \
        + counts["error"]
    scored = ran - counts["equivalent"]
    out = {
        "tool": "cosmic-ray", "mode": opts.mode, "session": str(opts.session),
        "test_command": " ".join(_test_command(opts, Path("<tmpdir>"))),
        "meta": meta, "counts": counts, "excluded": excluded, "ran": ran,
        "kill_rate_non_equivalent": round(counts["killed"] / scored, 4) if scored else None,
        "kill_rate_counting_crash_in_replay": round(
            (counts["killed"] + error_kinds.get("crash-in-replay", 0)) / scored, 4)
        if scored else None,
        "error_kinds": dict(sorted(error_kinds.items())),
        "killed_by_property": dict(sorted(killed_by.items())),
        "seconds_per_mutant_mean": round(sum(seconds) / len(seconds), 2) if seconds else None,
        "seconds_total": round(sum(seconds), 1),
        "survivors": survivors, "timeouts_and_errors": others,
        "reported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return out


def print_report(r: dict[str, Any]) -> None:
    c, x = r["counts"], r["excluded"]
    print(f"cosmic-ray over {', '.join(r['meta']['modules'])}")
    print(f"test: {r['test_command']}   (commit {r['meta']['commit'][:10]}"
          f"{', dirty model/' if r['meta']['dirty'] else ''})")
    print(f"mutants: {r['meta']['mutants']} generated; excluded {x['defect-guarded']} "
          f"defect-guarded, {x['annotation']} annotation; {x['not in sample']} not in sample; "
          f"{r['ran']} run")
    print(f"killed {c['killed']}  survived {c['survived']}  equivalent {c['equivalent']}  "
          f"timeout {c['timeout']}  error {c['error']}  pending {c['pending']}"
          f"  no-test {c['no-test']}")
    rate = r["kill_rate_non_equivalent"]
    print(f"kill rate over non-equivalent mutants: "
          f"{'n/a' if rate is None else f'{100 * rate:.1f}%'}; mean "
          f"{r['seconds_per_mutant_mean']} s per mutant (test command only)")
    if r["error_kinds"]:
        crash = r["kill_rate_counting_crash_in_replay"]
        kinds = ", ".join(f"{k} {n}" for k, n in r["error_kinds"].items())
        print(f"timeouts and errors by kind: {kinds}"
              + f"; kill rate if crash-in-replay counted as killed: {100 * crash:.1f}%")
    if r["killed_by_property"]:
        print("killed by (first failure's properties): " + ", ".join(
            f"{p} {n}" for p, n in r["killed_by_property"].items()))
    for s in r["survivors"]:
        tag = f"EQUIVALENT: {s['reason']}" if s["verdict"] == "equivalent" else "SURVIVED"
        print(f"\n{s['file']}:{s['line']} {s['operator']} (in {s['function']}) — {tag}")
        print("\n".join(s["diff"].splitlines()[2:]))
    for s in r["timeouts_and_errors"]:
        print(f"\n{s['file']}:{s['line']} {s['operator']} — {s['verdict'].upper()} "
              f"{s['kind']} (rc {s['rc']})")
        print("\n".join(s["diff"].splitlines()[2:]))


# --------------------------------------------------------------------------- main


def list_excluded() -> None:
    for m in core_modules():
        for span, why in defect_regions((ROOT / m).read_text(), m):
            (l1, c1), (l2, c2) = span
            print(f"{m}:{l1}:{c1}-{l2}:{c2}  {why}")


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Options]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=(*FUZZ_MODES, "pytest"), default="fuzz",
                   help="test command: `hipsem fuzz` at its default budget, `hipsem fuzz "
                        "--faults` (fuzz-faults), or the test suite")
    p.add_argument("--module", action="append", default=None, metavar="PATH",
                   help="only the mutants of this core module (repeatable; default: all "
                        "of model/core but the defect switches)")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="run a deterministic random sample of N mutants")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    p.add_argument("--timeout", type=float, default=None,
                   help=f"per-mutant timeout in seconds (default {FUZZ_TIMEOUT:g} for fuzz, "
                        f"{PYTEST_TIMEOUT:g} for pytest)")
    p.add_argument("--session", type=Path, default=None,
                   help="session directory (default out/mutation/<mode>[-sample<N>-seed<S>])")
    p.add_argument("--fresh", action="store_true", help="discard the session and start over")
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    p.add_argument("--report-only", action="store_true", help="report the session, run nothing")
    p.add_argument("--list-excluded", action="store_true",
                   help="print the defect-guarded regions of model/core and exit")
    p.add_argument("--nice", type=int, default=10, help="niceness of test commands (default 10)")
    p.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                   help="extra pytest argument in pytest mode (repeatable), e.g. --deselect=ID")
    args = p.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        p.error("--sample must be >= 1")
    modules = sorted(set(args.module)) if args.module else core_modules()
    unknown = [m for m in modules if m not in core_modules()]
    if unknown:
        p.error(f"--module {unknown[0]}: expected one of {', '.join(core_modules())}")
    name = args.mode + (f"-sample{args.sample}-seed{args.seed}" if args.sample else "") + (
        "".join(f"-{Path(m).stem}" for m in modules) if args.module else "")
    session = args.session or ROOT / "out" / "mutation" / name
    timeout = args.timeout or (FUZZ_TIMEOUT if args.mode in FUZZ_MODES else PYTEST_TIMEOUT)
    return args, Options(args.mode, args.sample, args.seed, args.workers, timeout,
                         session.resolve(), args.nice, args.pytest_arg, modules)


def main(argv: list[str] | None = None) -> int:
    args, opts = parse_args(argv)
    if args.list_excluded:
        list_excluded()
        return 0
    try:
        _need_cosmic_ray()
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    meta_file = opts.session / "meta.json"
    if args.fresh and opts.session.exists():
        shutil.rmtree(opts.session)
    if not args.report_only:
        if meta_file.exists():
            meta = json.loads(meta_file.read_text())
            modules = opts.modules or core_modules()
            if meta["sources"] != sources_digest(modules) or meta["modules"] != modules:
                print(f"{opts.session}: model/core changed since this session was made "
                      f"(commit {meta['commit'][:10]}); rerun with --fresh", file=sys.stderr)
                return 2
            if (meta["mode"], meta["sample"], meta["seed"]) != (opts.mode, opts.sample,
                                                                 opts.seed):
                print(f"{opts.session}: made for mode {meta['mode']}, sample "
                      f"{meta['sample']}, seed {meta['seed']}; use another --session",
                      file=sys.stderr)
                return 2
        else:
            init_session(opts)
        try:
            execute(opts)
        except SystemExit as error:
            return int(error.code or 2)
        except KeyboardInterrupt:
            print("interrupted; rerun the same command to resume", file=sys.stderr)
            return 130
    elif not meta_file.exists():
        print(f"{opts.session}: no session", file=sys.stderr)
        return 2
    result = report(opts)
    print_report(result)
    text = json.dumps(result, indent=2) + "\n"
    (opts.session / "results.json").write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
