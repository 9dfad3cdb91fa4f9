"""Property `prompt-issue`: a queue's worker does not sleep while an action of it is ready.

Ground truth: when an execute was certainly ready (the upper bound of its readiness from
the device's call times and the host calls, as in `fifo`: submitted, and every wait
reached by a host signal that had returned or bound to a producer whose completion event
had been recorded), and the platform saw its queue's worker parked waiting for work
across that moment, the worker must have been woken then: an execute the device saw
launched only after such a parked interval ended (more than the scheduling tolerance
after it was ready) was overlooked by the core — it became ready late, e.g. only when
its producer retired on the host instead of when the producer's event was recorded.

Needs the platform's observation `record.worker_parked` (the SimPy backend records it).
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.fifo import Bindable, bound
from model.scenario.checker.views import Ctx, Violation, fmt_time


def check_prompt_issue(c: Ctx) -> Iterator[Violation]:
    if not c.record.worker_parked:
        return
    bindable = Bindable(c)
    by_id = {x.id: x for x in c.ix.executes}
    for q in c.scenario.queues:
        parked = c.record.worker_parked.get(q, [])
        if not parked:
            continue
        for op_id in c.record.issue_order.get(q, []):
            x, launched = by_id.get(op_id), c.record.launched_us.get(op_id)
            if x is None or launched is None:
                continue
            ready = bound(c, bindable, x, upper=True)
            if ready is None:
                continue
            for start, end in parked:
                if start <= ready and end > ready + c.sched_tol and launched >= end:
                    yield Violation(
                        "prompt-issue", x.id,
                        f"execute {x.id} was ready by {fmt_time(ready)} (submitted, every "
                        f"wait reached or bound to a recorded producer event), but queue "
                        f"{q}'s worker stayed parked waiting for work from {fmt_time(start)} "
                        f"to {fmt_time(end)}; the device saw {x.id} launched at "
                        f"{fmt_time(launched)}",
                    )
                    break
