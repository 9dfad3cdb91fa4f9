"""The core is sans-I/O: it imports nothing that blocks, sleeps, reads clocks or spawns."""

from __future__ import annotations

import ast
from pathlib import Path

import model.core

FORBIDDEN = {"simpy", "hip", "rocm", "threading", "time", "asyncio", "socket",
             "multiprocessing", "concurrent", "subprocess", "ctypes", "random"}
CORE = Path(model.core.__file__).parent


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_no_io_or_threading() -> None:
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 7
    offenders = {f.name: sorted(imported_roots(f) & FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_only_itself_and_the_device_protocol() -> None:
    for f in CORE.glob("*.py"):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("model"):
                assert node.module.startswith(("model.core", "model.device")), (f.name, node.module)


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import threading\nfrom simpy import Environment\n")
    assert imported_roots(bad) & FORBIDDEN == {"threading", "simpy"}
