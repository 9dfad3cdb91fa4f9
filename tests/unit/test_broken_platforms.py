"""The checker judges the platform and the device too: deliberately broken ones, under the
clean core on the SimPy backend, are caught from ground truth; the intact ones pass the
same scenarios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from model.core.effects import Deadline, Flag
from model.core.semaphore import Semaphore
from model.core.status import StatusCode
from model.scenario.checker import Violation, check
from model.scenario.parse import load_scenario, parse_scenario
from model.scenario.types import FORMAT, Scenario
from model.sim.platform import SimGen, SimPlatform
from model.sim.runner import SimRun

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def properties(scenario: Scenario, breaks: Callable[[SimRun], None] | None,
               seeds: range = range(4)) -> set[str]:
    found: set[str] = set()
    for seed in seeds:
        run = SimRun(scenario, seed)
        if breaks is not None:
            breaks(run)
        found |= {v.property for v in check(scenario, run.run())}
    return found


def violations(scenario: Scenario, breaks: Callable[[SimRun], None]) -> Iterator[Violation]:
    run = SimRun(scenario, 0)
    breaks(run)
    yield from check(scenario, run.run())


# --------------------------------------------------------------------------- device


def drop_stream_waits(run: SimRun) -> None:
    run.device.stream_wait_event = lambda stream, event: None  # type: ignore[method-assign]


def early_host_functions(run: SimRun) -> None:
    def launch(stream: Any, fn: Callable[[], None]) -> None:
        fn()  # at once, from the calling thread: before the stream's earlier work

    run.device.launch_host_func = launch  # type: ignore[method-assign]


def test_a_device_that_drops_stream_waits_is_caught() -> None:
    scenario = load_scenario(EXAMPLES / "fan-out-fan-in.json")
    assert properties(scenario, None) == set()
    assert "happens-before" in properties(scenario, drop_stream_waits)


def test_a_device_that_runs_host_functions_early_is_caught() -> None:
    scenario = load_scenario(EXAMPLES / "reverse-chain.json")
    assert properties(scenario, None) == set()
    found = list(violations(scenario, early_host_functions))
    assert any(v.property == "provenance" and "before execute" in v.message for v in found)


# --------------------------------------------------------------------------- platform

TIMED = parse_scenario({
    "format": FORMAT, "name": "timed", "semaphores": {"W": 0, "Z": 0}, "queues": ["q0"],
    "actors": {
        "main": [
            {"op": "wait", "id": "w", "semaphores": {"W": 1}, "timeout_us": 50},
            {"op": "wait", "id": "z", "semaphores": {"Z": 1}, "timeout_us": 50},
        ],
        "helper": [
            {"op": "sleep", "id": "s", "us": 200},
            {"op": "signal", "id": "sw", "semaphore": "W", "value": 1},
        ],
    },
})  # fmt: skip


class SlowTimers(SimPlatform):
    """Timed waits last 1000 times their timeout."""

    def _wait(self, flag: Flag, deadline: Deadline | None) -> SimGen[bool]:
        if deadline is not None and deadline.timeout_us is not None \
                and deadline.expires_at is None:
            deadline.expires_at = self.env.now + 1000 * deadline.timeout_us
        return (yield from super()._wait(flag, deadline))


def slow_timers(run: SimRun) -> None:
    run.platform = SlowTimers(run.env, run.device)


def test_a_platform_whose_timeouts_run_long_is_caught() -> None:
    assert properties(TIMED, None) == set()
    found = [v for v in violations(TIMED, slow_timers) if v.property == "deadline"]
    assert [v.op for v in found] == ["w", "z"]
    assert "first held after the deadline" in found[0].message
    assert "after its deadline" in found[1].message


# --------------------------------------------------------------------------- recorder


def lying_log(run: SimRun) -> None:
    honest = run.recorder.value_changed

    def lie(sem: Semaphore, value: int, code: StatusCode) -> None:
        honest(sem, value + 1 if code is StatusCode.OK else value, code)

    run.recorder.value_changed = lie  # type: ignore[method-assign]


def test_a_value_log_that_lies_is_caught() -> None:
    scenario = load_scenario(EXAMPLES / "submit-with-wait.json")
    assert properties(scenario, None) == set()
    found = [v for v in violations(scenario, lying_log) if v.property == "provenance"]
    assert found and "but nothing signalled" in found[0].message
