"""Concurrency stress on the HIP backend: several host threads submit, signal and wait.

Four actors, each with its own queue, submit 600 executes each (2400 in all). Every
execute waits on its own timeline and, wait-before-signal, on a value of the next actor's
timeline that may not be submitted yet; every 100th also waits on a gate the actor
signals right after submitting it; every 50th the actor waits on its own timeline. The run
must end with every execute OK, no violation, no leak, within the pytest timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from hipbackend.runner import HipRun
from hipbackend.runtime import RuntimeInfo
from model.scenario.checker import check
from model.scenario.parse import parse_scenario

ACTORS, STEPS, LAG = 4, 600, 5


def actor_ops(i: int) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    nxt = (i + 1) % ACTORS
    for k in range(1, STEPS + 1):
        wait = {f"T{i}": k - 1} if k > 1 else {}
        if k > LAG:
            wait[f"T{nxt}"] = k - LAG
        if k % 100 == 0:
            wait[f"G{i}"] = k // 100
        ops.append({"op": "execute", "id": f"a{i}x{k}", "queue": f"q{i}", "wait": wait,
                    "signal": {f"T{i}": k}, "duration_us": 2})
        if k % 100 == 0:
            ops.append({"op": "signal", "id": f"a{i}g{k}", "semaphore": f"G{i}",
                        "value": k // 100})
        if k % 50 == 0:
            ops.append({"op": "wait", "id": f"a{i}w{k}", "semaphores": {f"T{i}": k - 40}})
    return ops


@pytest.mark.timeout(240)
def test_many_threads_many_executes(hip_runtime: RuntimeInfo) -> None:
    semaphores = {f"T{i}": 0 for i in range(ACTORS)} | {f"G{i}": 0 for i in range(ACTORS)}
    scenario = parse_scenario({
        "format": "hipsem/scenario-1", "name": "stress", "semaphores": semaphores,
        "queues": [f"q{i}" for i in range(ACTORS)],
        "settings": {"event_pool_capacity": 8, "timepoint_pool_capacity": 8},
        "actors": {f"a{i}": actor_ops(i) for i in range(ACTORS)},
    })
    run = HipRun(scenario, runtime=hip_runtime.kind, limit_s=200)
    record = run.run()
    executes = [r for r in record.ops.values() if r.op == "execute"]
    assert len(executes) == ACTORS * STEPS
    assert {r.status for r in record.ops.values()} == {"OK"}
    assert record.conservation_problems == []
    assert all(p.in_use_at_end == 0 for p in record.pools.values())
    assert record.semaphores == {**{f"T{i}": (STEPS, "OK") for i in range(ACTORS)},
                                 **{f"G{i}": (STEPS // 100, "OK") for i in range(ACTORS)}}
    assert check(scenario, record) == []
