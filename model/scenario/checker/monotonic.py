"""Property `monotonic`: host-visible values never decrease.

Judged on the value log (the core's claim) and on what each actor's queries returned
(ground truth: the values the host calls returned).
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.analysis import OK
from model.scenario.checker.views import Ctx, Violation
from model.scenario.record import ValueChange
from model.scenario.types import Query


def _monotonic_log(c: Ctx) -> Iterator[Violation]:
    for s, changes in c.log.by_sem.items():
        last = c.log.initial.get(s, 0)
        failed: ValueChange | None = None
        for ch in changes:
            if ch.status != OK:
                failed = failed or ch
                continue
            if failed is not None:
                yield Violation(
                    "monotonic",
                    None,
                    f"semaphore {s} advanced to {ch.value} (seq {ch.seq}) after it failed "
                    f"with {failed.status} (seq {failed.seq})",
                )
            if ch.value < last:
                yield Violation(
                    "monotonic",
                    None,
                    f"semaphore {s} went from {last} down to {ch.value} (seq {ch.seq})",
                )
            elif ch.value == last:
                yield Violation(
                    "monotonic",
                    None,
                    f"semaphore {s}: the value log records an advance to {ch.value} (seq "
                    f"{ch.seq}), the value it already had (an advance must increase it)",
                )
            last = max(last, ch.value)


def _monotonic_queries(c: Ctx) -> Iterator[Violation]:
    for actor, ops in c.scenario.actors.items():
        seen: dict[str, tuple[int, str]] = {}
        for op in ops:
            r = c.result(op.id)
            if not isinstance(op, Query) or r is None or r.status != OK or r.value is None:
                continue
            s = op.semaphore
            if s in seen and r.value < seen[s][0]:
                yield Violation(
                    "monotonic",
                    op.id,
                    f"actor {actor}: query {op.id} read {s} = {r.value} after query "
                    f"{seen[s][1]} read {seen[s][0]}",
                )
            seen[s] = (max(r.value, seen.get(s, (r.value, ""))[0]), op.id)


def check_monotonic(c: Ctx) -> Iterator[Violation]:
    yield from _monotonic_log(c)
    yield from _monotonic_queries(c)


# =========================================================================== linearizable-wait
