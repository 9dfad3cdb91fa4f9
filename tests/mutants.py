"""Mutants of the core that raise, one per place a run can crash (tests of `crash`).

Each mutant is a `CoreContext` subclass (a `context_factory` for `run_sim`, `SimRun`,
`run_hip`, `HipRun`) whose core raises `Boom` at one point of a run. `MUTANTS` maps a
name to (factory, the `Crash.where` expected, the op expected or None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model.core.context import CoreContext
from model.core.effects import Gen
from model.core.queue import Action, DeferredQueue
from model.core.semaphore import Semaphore
from model.scenario.types import Scenario
from tests.unit.helpers import execute, scenario


class Boom(RuntimeError):
    """What a mutant raises."""


class _RaisingSemaphore(Semaphore):
    def signal(self, value: int) -> None:
        raise Boom(f"signal {self.name} = {value}")


class _SignalRaises(CoreContext):
    def create_semaphore(self, name: str, initial: int = 0) -> Semaphore:
        sem = _RaisingSemaphore(self, name, initial)
        self.semaphores[name] = sem
        return sem


def context_with(queue_class: type[DeferredQueue]) -> type[CoreContext]:
    """A CoreContext whose queues are `queue_class` (a mutant of DeferredQueue)."""
    class Context(CoreContext):
        def create_queue(self, name: str) -> DeferredQueue:
            queue = queue_class(self, name)
            self.queues[name] = queue
            return queue

    return Context


class _IssueRaises(DeferredQueue):
    def _issue(self, action: Action) -> Gen[None]:
        yield from ()
        raise Boom(f"issue {action.id}")


class _HandoffRaises(DeferredQueue):
    def _handoff(self, action: Action) -> None:
        raise Boom(f"handoff {action.id}")


class _RetireRaises(DeferredQueue):
    def _retire(self, action: Action) -> None:
        raise Boom(f"retire {action.id}")


class _StartRaises(DeferredQueue):
    def start(self) -> Gen[None]:
        yield from super().start()
        raise Boom("start")


class _CloseRaises(CoreContext):
    def close(self) -> Gen[None]:
        yield from super().close()
        raise Boom("close")


class _InvariantsRaise(CoreContext):
    def check_invariants(self) -> None:
        raise Boom("check_invariants")


Factory = Callable[..., CoreContext]
MUTANTS: dict[str, tuple[Factory, str, str | None]] = {
    "actor": (_SignalRaises, "actor h1", "s1"),
    "worker": (context_with(_IssueRaises), "queue q0 worker", None),
    "host-function": (context_with(_HandoffRaises), "host function", None),
    "completion": (context_with(_RetireRaises), "queue q0 completion", None),
    "setup": (context_with(_StartRaises), "setup", None),
    "teardown": (_CloseRaises, "teardown", None),
    "invariants": (_InvariantsRaise, "conservation check", None),
}


def crash_scenario(**settings: Any) -> Scenario:
    """Two actors: an execute waiting on A (which h1 signals), and a host wait on B."""
    return scenario({
        "h0": [execute("x0", wait={"A": 1}, signal={"B": 1}), execute("x1", signal={"C": 1}),
               {"op": "wait", "id": "w", "semaphores": {"B": 1}, "mode": "all"}],
        "h1": [{"op": "sleep", "id": "z", "us": 5}, {"op": "signal", "id": "s1",
                                                      "semaphore": "A", "value": 1}],
    }, {"A": 0, "B": 0, "C": 0}, **settings)
