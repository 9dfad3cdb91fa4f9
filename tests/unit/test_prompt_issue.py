"""`prompt-issue`: a core that notices a ready action late (here: a published producer
signal does not wake the consumer waiting for exactly its value, so the consumer is only
released when the producer retires on the host) passes every ordering and safety rule,
and is caught because the platform saw the consumer's worker asleep while it was ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model.core.context import CoreContext
from model.core.pools import PooledEvent
from model.core.semaphore import Frontier, Semaphore
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.sim.runner import run_sim

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class _LateWake(Semaphore):
    """The mutant: a publication wakes only the parked waits strictly below its value
    (`<` where the core has `<=`)."""

    publishing = False

    def publish_signal(self, value: int, event: PooledEvent,
                       frontier: Frontier | None = None) -> None:
        self.publishing = True
        try:
            super().publish_signal(value, event, frontier)
        finally:
            self.publishing = False

    def _pop_reached(self, index: list[Any], value: int, out: list[Any]) -> list[Any]:
        return super()._pop_reached(index, value - 1 if self.publishing else value, out)


class _LateWakeContext(CoreContext):
    def create_semaphore(self, name: str, initial: int = 0) -> Semaphore:
        sem = _LateWake(self, name, initial)
        self.semaphores[name] = sem
        return sem


def test_a_core_that_wakes_consumers_late_is_caught() -> None:
    scenario = load_scenario(EXAMPLES / "fan-out-fan-in.json")
    assert check(scenario, run_sim(scenario, 0)) == []
    found = check(scenario, run_sim(scenario, 0, context_factory=_LateWakeContext))
    assert {v.property for v in found} == {"prompt-issue"}
    assert "worker stayed parked waiting for work" in found[0].message


def test_the_worker_parked_intervals_are_recorded() -> None:
    scenario = load_scenario(EXAMPLES / "fan-out-fan-in.json")
    record = run_sim(scenario, 0)
    assert set(record.worker_parked) == set(scenario.queues)
    for intervals in record.worker_parked.values():
        assert intervals and all(a <= b for a, b in intervals)
