"""Property `crash`: the run under test raised (in the core, the device or the platform).

The runner catches the exception and records it (`record.crash`); hipsem's own errors
(checker, recorder, CLI) are not crashes of the run and stay internal errors.
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.views import Ctx, Violation


def check_crash(c: Ctx) -> Iterator[Violation]:
    crash = c.record.crash
    if crash is not None:
        where = f" in {crash.where}" if crash.where else ""
        during = f" while running op {crash.op}" if crash.op else ""
        yield Violation("crash", crash.op,
                        f"the run raised {crash.type}{where}{during}: {crash.message}")
