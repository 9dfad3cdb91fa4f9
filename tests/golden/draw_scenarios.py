"""Draw the generated scenarios of the golden-output test (run once; kept in git).

The golden test (tests/unit/test_equivalence.py) runs fixed scenario FILES, so that its
inputs do not depend on the Hypothesis version: this script drew them once from the
public strategies (`model.strategies.cases`, up to 40 ops, a drawn seed and timing) and
wrote them, replay seed and timing included, to tests/golden/scenarios/. It also writes
a few large synthetic scenarios (long chains, many actions parked on one semaphore, many
host waits, a failure over parked actions) that exercise the semaphores' indexes.

Redrawing changes the test's inputs, not what it proves; it is never needed to refresh
the goldens (that is tests/golden/regenerate.py).

    .venv/bin/python -m tests.golden.draw_scenarios [--count 40] [--seed 20261201]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from model.scenario.parse import scenario_to_json
from model.scenario.types import Replay, Scenario

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"


def _timing_overrides(timing: Any) -> dict[str, float]:
    from model.sim.timing import Timing

    default = Timing()
    return {f.name: float(getattr(timing, f.name)) for f in dataclasses.fields(timing)
            if getattr(timing, f.name) != getattr(default, f.name)}


def drawn(count: int, seed: int) -> list[Scenario]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from model.strategies import FuzzCase, cases

    pool: list[FuzzCase] = []
    seen: set[str] = set()

    # Hypothesis starts with its simplest examples; draw many, keep distinct ones spread
    # over the whole campaign.
    @hypothesis_seed(seed)
    @settings(max_examples=count * 10, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=False), cases(max_ops=40))
    def collect(_: Any, case: FuzzCase) -> None:
        key = json.dumps(scenario_to_json(case.scenario), sort_keys=True)
        if key not in seen:
            seen.add(key)
            pool.append(case)

    collect()
    step = max(1, len(pool) // count)
    out: list[Scenario] = []
    for case in pool[::step][:count]:
        replay = Replay(seed=case.seeds[0], timing=_timing_overrides(case.timing))
        out.append(dataclasses.replace(case.scenario, name=f"gen-{len(out):02d}",
                                       replay=replay))
    return out


def _chain(n: int, queues: int) -> dict[str, Any]:
    """`n` executes, each waiting on the previous one, submitted in reverse."""
    ops = []
    for i in reversed(range(n)):
        wait = {"S": i} if i else {}
        ops.append({"op": "execute", "id": f"x{i}", "queue": f"q{i % queues}",
                    "wait": wait, "signal": {"S": i + 1}, "duration_us": 3})
    ops.append({"op": "wait", "id": "w", "semaphores": {"S": n}})
    return {"format": "hipsem/scenario-1", "name": f"chain-{n}-{queues}",
            "queues": [f"q{q}" for q in range(queues)], "semaphores": {"S": 0},
            "actors": {"main": ops}}


def _parked(n: int, fail: bool) -> dict[str, Any]:
    """`n` actions on 4 queues parked on one semaphore at mixed values, host waits on
    it from two actors, then a host signal (or a failure) that releases them."""
    ops = [{"op": "execute", "id": f"x{i}", "queue": f"q{i % 4}",
            "wait": {"G": 1 + (i * 7) % 5}, "signal": {f"S{i % 4}": i // 4 + 1},
            "duration_us": 2} for i in range(n)]
    waiter = [{"op": "wait", "id": f"w{i}", "semaphores": {"G": 1 + i % 5},
               "timeout_us": None if i % 3 else 400} for i in range(8)]
    ops.append({"op": "sleep", "id": "z0", "us": 50})
    if fail:
        ops.append({"op": "signal", "id": "s0", "semaphore": "G", "value": 2})
        ops.append({"op": "fail", "id": "f0", "semaphore": "G", "code": "ABORTED",
                    "message": "golden"})
    else:
        for v in range(1, 6):
            ops.append({"op": "signal", "id": f"s{v}", "semaphore": "G", "value": v})
    return {"format": "hipsem/scenario-1", "name": f"parked-{n}-{'fail' if fail else 'ok'}",
            "queues": [f"q{q}" for q in range(4)],
            "semaphores": {"G": 0, "S0": 0, "S1": 0, "S2": 0, "S3": 0},
            "actors": {"main": ops, "waiter": waiter}}


def synthetic() -> list[dict[str, Any]]:
    return [_chain(120, 1), _chain(120, 4), _parked(100, False), _parked(60, True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    SCENARIOS.mkdir(parents=True, exist_ok=True)
    for scenario in drawn(args.count, args.seed):
        path = SCENARIOS / f"{scenario.name}.json"
        path.write_text(json.dumps(scenario_to_json(scenario), indent=2) + "\n")
    for doc in synthetic():
        (SCENARIOS / f"{doc['name']}.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
