"""Property `teardown`: shutting down ends every action defined and fails what it must.

After the run settled, the runner shuts the queues down and closes the pools; the record
keeps what happened then (`record.teardown`: statuses of actions finished during
teardown, host-visible changes, each semaphore's state afterwards). Rules:

  * every execute whose submission the actor saw accepted (the call returned without a
    status) ends completed, failed or cancelled — at the latest at teardown. One still
    PENDING after teardown was dropped;
  * an action cancelled or failed (before or during teardown) leaves each semaphore it
    signals failed after teardown;
  * every semaphore that failed during teardown has a cause there: an execute signalling
    it that teardown cancelled or failed.

`not_run(scenario, record)` gives, for every execute whose work never ran, the reason
the record shows (reported by `hipsem run`).
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.analysis import OK
from model.scenario.checker.views import Ctx, Violation, failed
from model.scenario.record import PENDING, RunRecord
from model.scenario.types import Execute, Scenario


def final_status(record: RunRecord, op_id: str) -> str:
    """An op's status after teardown."""
    if op_id in record.teardown.statuses:
        return record.teardown.statuses[op_id]
    r = record.ops.get(op_id)
    return r.status if r is not None else PENDING


def _accepted(record: RunRecord, op_id: str) -> bool:
    r = record.ops.get(op_id)
    return r is not None and r.submit_us is not None and r.submit_status is None


def check_teardown(c: Ctx) -> Iterator[Violation]:
    rec = c.record
    if rec.crash is not None:
        return  # a crashed run's teardown is not the core's
    after = rec.teardown.semaphores
    for x in c.ix.executes:
        status = final_status(rec, x.id)
        if status == PENDING and _accepted(rec, x.id):
            r = rec.ops[x.id]
            yield Violation(
                "teardown", x.id,
                f"execute {x.id} was submitted (call returned at {r.submit_us:.3f} us) but "
                "never completed, failed or was cancelled, not even when its queue was "
                "shut down: the action was dropped",
            )
        if failed(status) and after and x.id in _actions(rec):
            for s in x.signal:
                if s in after and after[s][1] == OK:
                    yield Violation(
                        "teardown", x.id,
                        f"execute {x.id} ended {status} but the semaphore it signals, {s}, "
                        f"was not failed after teardown (value {after[s][0]})",
                    )
    causes = {s for x in c.ix.executes if failed(rec.teardown.statuses.get(x.id, OK))
              for s in x.signal}
    for ch in rec.teardown.value_log:
        if ch.status != OK and ch.semaphore not in causes:
            yield Violation(
                "teardown", None,
                f"semaphore {ch.semaphore} failed with {ch.status} during teardown (seq "
                f"{ch.seq}) although no action signalling it was cancelled or failed there",
            )


def _actions(record: RunRecord) -> set[str]:
    """Executes that became actions: accepted at submit (a rejection never signals)."""
    return {op_id for op_id in record.ops if _accepted(record, op_id)}


def not_run(scenario: Scenario, record: RunRecord) -> dict[str, str]:
    """Per execute whose work never ran: why, as the record shows it."""
    out: dict[str, str] = {}
    blocked: dict[str, str] = {}
    for actor, ops in scenario.actors.items():
        for op in ops:
            r = record.ops.get(op.id)
            if r is not None and r.start_us is not None and r.end_us is None:
                blocked[actor] = op.id
    skipped = {x: h.stream for h in record.faults if h.kind == "skipped" for x in h.victims}
    for actor, _, op in scenario.ops():
        if not isinstance(op, Execute):
            continue
        r = record.ops.get(op.id)
        if r is not None and r.start_us is not None:
            continue
        status = final_status(record, op.id)
        if op.id in skipped:
            out[op.id] = (f"{status}: issued, but stream {skipped[op.id]} was in the error "
                          "state of failed work and skipped it (docs/faults.md)")
            continue
        if r is None or r.submit_us is None:
            where = f" (blocked at {blocked[actor]})" if actor in blocked else ""
            out[op.id] = f"never submitted: actor {actor} did not get there{where}"
        elif not _accepted(record, op.id):
            out[op.id] = f"submission rejected with {r.submit_status}"
        elif op.id in record.teardown.statuses:
            out[op.id] = f"{status} at teardown (still parked when its queue was shut down)"
        elif failed(status):
            out[op.id] = f"failed with {status} before it was issued"
        elif status == OK:
            out[op.id] = "completed without device work being observed"
        else:
            out[op.id] = "dropped: submitted, never finished"
    return out
