"""benchmarks/mutation.py: which core code counts as defect-guarded (no cosmic-ray needed)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("hipsem_mutation_bench",
                                               ROOT / "benchmarks" / "mutation.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench
_spec.loader.exec_module(bench)


def _inside(node: ast.AST, regions: list) -> bool:
    s, e = bench._span(node)
    return any(span[0] <= s and e <= span[1] for span, _ in regions)


def test_every_defect_reference_in_the_core_is_excluded() -> None:
    for module in bench.core_modules():
        source = (ROOT / module).read_text()
        regions = bench.defect_regions(source, module)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "Defect":
                assert _inside(node, regions), f"{module}:{node.lineno} not excluded"


def test_defects_module_is_not_mutated() -> None:
    assert "model/core/defects.py" not in bench.core_modules()
    assert "model/core/queue.py" in bench.core_modules()


SNIPPET = '''
def f(self, x):
    lifo = Defect.A in self.d
    if x > 0 or Defect.B in self.d:
        keep_1()
    if Defect.C not in self.d:
        return keep_2()
    dead_1()

def g(self, y):
    if y and Defect.D in self.d:
        dead_2()
    else:
        keep_3()
    z = dead_3() if lifo_free() and Defect.E in self.d else keep_4()
    return keep_5(y > 1)

def h():
    """Defect `x`: only a defect calls this."""
    dead_4()
'''


def test_folding_on_a_snippet() -> None:
    regions = bench.defect_regions(SNIPPET)
    calls = {n.func.id: n for n in ast.walk(ast.parse(SNIPPET))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for name, node in calls.items():
        expected = name.startswith(("dead", "lifo"))
        assert _inside(node, regions) is expected, name
    compare = next(n for n in ast.walk(ast.parse(SNIPPET)) if isinstance(n, ast.Compare)
                   and isinstance(n.left, ast.Name) and n.left.id == "x")
    assert not _inside(compare, regions)  # `x > 0` still decides the `or`


def test_annotations_are_found() -> None:
    source = "from __future__ import annotations\ndef f(a: int | None) -> str | None:\n" \
             "    b: int | None = a\n    return a | 1\n"
    spans = bench.annotation_spans(source)
    assert len(spans) == 3
    assert bench.annotation_spans("def f(a: int | None): pass\n") == []


def test_every_equivalent_mutant_still_matches_the_code() -> None:
    """An entry whose original line is gone no longer labels anything: drop or redo it."""
    stale = []
    for entry in bench.load_equivalents():
        lines = {ln.strip() for ln in (ROOT / entry["file"]).read_text().splitlines()}
        before = [part.strip() for part in entry["before"].split(" / ") if part.strip()]
        if not before or not all(part in lines for part in before):
            stale.append(f"{entry['file']}: {entry['before']}")
    assert stale == []
