"""Rewrite the golden outputs (tests/golden/expected/) from the code as it is now.

    .venv/bin/python -m tests.golden.regenerate

When this is legitimate: ONLY when a change is MEANT to change what a run reports or
traces — a new or renamed report field, a new trace track, a checker message reworded, a
new property, a deliberate change of the model's interleavings — and the diff of the
goldens (`git diff --stat tests/golden/expected`, then the files) shows exactly that
change and nothing else. Never to make a speed change pass: a speed change must leave
every golden byte-identical (tests/unit/test_equivalence.py); if it cannot, its commit
says exactly which interleaving changed and why. Commit the regenerated files with the
change that explains them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tests.golden.cases import EXPECTED, ROOT, cases, outputs


def main() -> int:
    os.chdir(ROOT)
    EXPECTED.mkdir(parents=True, exist_ok=True)
    wanted = cases()
    keep = {c.report_file for c in wanted} | {c.trace_file for c in wanted}
    changed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in wanted:
            report, trace = outputs(case, Path(tmp) / "trace.json")
            for path, data in ((case.report_file, report.encode()), (case.trace_file, trace)):
                if not path.exists() or path.read_bytes() != data:
                    path.write_bytes(data)
                    changed += 1
    stale = [p for p in EXPECTED.iterdir() if p not in keep]
    for path in stale:
        path.unlink()
    print(f"{len(wanted)} cases: {changed} files written, {len(stale)} stale files removed "
          f"({EXPECTED.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
