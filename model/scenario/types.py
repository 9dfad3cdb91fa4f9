"""The in-memory form of a scenario (`hipsem/scenario-1`).

A scenario is a set of semaphores with initial values, a list of queues, settings for the
core, and host *actors*: each actor is a host thread that runs its ops in order. The file
format is documented in docs/scenarios.md; `model.scenario.parse` turns JSON into these
objects and rejects anything invalid with `ScenarioError` (field path, value, expectation).

Invariants (enforced by the parser, relied on by the runner and the checker):
  * op ids are unique across the scenario;
  * every semaphore and queue an op names is declared;
  * every timeline value is an int in [0, MAX_VALUE]; signal values for one semaphore are
    distinct and greater than its initial value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from model.faults import FaultPlan

FORMAT = "hipsem/scenario-1"
MAX_VALUE = 2**31 - 2  # IREE's largest valid timeline value (INT32_MAX - 1).


class Completion(enum.Enum):
    """How the core learns that issued work completed."""

    CALLBACK = "callback"  # host function on a callback stream hands completion off
    THREAD = "thread"  # a completion thread synchronizes recorded events in order


class WaitMode(enum.Enum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Settings:
    """Core settings; defaults are the seed's."""

    event_pool_capacity: int = 32
    timepoint_pool_capacity: int = 32
    max_wait_events: int = 32
    completion: Completion = Completion.CALLBACK


@dataclass(frozen=True, slots=True)
class Execute:
    id: str
    queue: str
    wait: dict[str, int]
    signal: dict[str, int]
    duration_us: float
    op: Literal["execute"] = "execute"


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    semaphore: str
    op: Literal["query"] = "query"


@dataclass(frozen=True, slots=True)
class Signal:
    id: str
    semaphore: str
    value: int
    op: Literal["signal"] = "signal"


@dataclass(frozen=True, slots=True)
class Wait:
    id: str
    semaphores: dict[str, int]
    mode: WaitMode
    timeout_us: float | None  # None waits forever, 0 polls
    op: Literal["wait"] = "wait"


@dataclass(frozen=True, slots=True)
class Sleep:
    id: str
    us: float
    op: Literal["sleep"] = "sleep"


@dataclass(frozen=True, slots=True)
class Fail:
    id: str
    semaphore: str
    code: str  # a StatusCode name other than OK
    message: str = ""
    op: Literal["fail"] = "fail"


Op: TypeAlias = Execute | Query | Signal | Wait | Sleep | Fail


@dataclass(frozen=True, slots=True)
class Replay:
    """How to reproduce a saved run exactly: seed, seeded defects and timing overrides.

    `timing` maps `model.sim.timing.Timing` field names to values (µs, or `jitter`).
    """

    seed: int = 0
    defects: tuple[str, ...] = ()
    timing: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    semaphores: dict[str, int]
    queues: list[str]
    actors: dict[str, list[Op]]
    settings: Settings = field(default_factory=Settings)
    description: str = ""
    replay: Replay = field(default_factory=Replay)
    faults: FaultPlan = field(default_factory=FaultPlan)  # none by default (docs/faults.md)

    def ops(self) -> list[tuple[str, int, Op]]:
        """Every op as (actor, index, op), actors in file order."""
        return [(a, i, op) for a, ops in self.actors.items() for i, op in enumerate(ops)]

    def op_by_id(self) -> dict[str, tuple[str, Op]]:
        return {op.id: (a, op) for a, _, op in self.ops()}
