"""Workload model for capacity planning: what a runtime submits, and how often.

A `Workload` is a frozen value: queues, named kernel-duration distributions, named per-step
graph shapes, submission processes (one simulated host thread each), timing overrides,
planning defaults and what-if variants. `model.planning.parse` builds one from a TOML or
JSON file; `model.planning.trace` builds one from a recorded Chrome/Perfetto trace.

Vocabulary:
  step     one arrival of a process: the process submits its graph's nodes, in order.
  node     one `execute` on a queue *slot*; slot s of a process with queue offset o runs on
           queue (o + s) mod Q (Q = number of queues). Offset None: round-robin, step k of
           the process uses offset k.
  after    a node waits for the listed earlier nodes of the same step (device waits, or
           cross-queue waits when the slots differ).

Invariants (established by the parser, relied on by the simulator):
  * every duration is finite and >= 0, every rate > 0, every count >= 1;
  * node `after` lists name only earlier nodes, so every graph is a DAG in node order;
  * every graph and kernel a process names exists; replay submissions are sorted by time
    and their slots are >= 0.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from model.sim.timing import Timing


class DurationKind(enum.Enum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"
    UNIFORM = "uniform"
    EMPIRICAL = "empirical"


@dataclass(frozen=True, slots=True)
class Duration:
    """A kernel-duration distribution in µs.

    fixed: `a` µs. exponential: mean `a`. lognormal: log-space mean `a`, sd `b`.
    uniform: [`a`, `b`]. empirical: uniform choice among `samples`.
    """

    kind: DurationKind
    a: float = 0.0
    b: float = 0.0
    samples: tuple[float, ...] = ()

    @property
    def mean_us(self) -> float:
        return _MEANS[self.kind](self)

    def scaled(self, k: float) -> Duration:
        """Every draw multiplied by `k` (> 0)."""
        return _SCALERS[self.kind](self, k)


_MEANS: dict[DurationKind, Callable[[Duration], float]] = {
    DurationKind.FIXED: lambda d: d.a,
    DurationKind.EXPONENTIAL: lambda d: d.a,
    DurationKind.LOGNORMAL: lambda d: math.exp(d.a + d.b * d.b / 2),
    DurationKind.UNIFORM: lambda d: (d.a + d.b) / 2,
    DurationKind.EMPIRICAL: lambda d: sum(d.samples) / len(d.samples),
}

_SCALERS: dict[DurationKind, Callable[[Duration, float], Duration]] = {
    DurationKind.FIXED: lambda d, k: replace(d, a=d.a * k),
    DurationKind.EXPONENTIAL: lambda d, k: replace(d, a=d.a * k),
    DurationKind.LOGNORMAL: lambda d, k: replace(d, a=d.a + math.log(k)),
    DurationKind.UNIFORM: lambda d, k: replace(d, a=d.a * k, b=d.b * k),
    DurationKind.EMPIRICAL: lambda d, k: replace(d, samples=tuple(s * k for s in d.samples)),
}


class ArrivalKind(enum.Enum):
    POISSON = "poisson"  # exponential gaps at `rate_hz`
    PERIODIC = "periodic"  # one step every `period_us`
    BURST = "burst"  # `size` steps back to back, bursts Poisson at `rate_hz` or every `period_us`
    RAMP = "ramp"  # Poisson with a rate going linearly from `rate_hz` to `to_hz` over `over_s`


@dataclass(frozen=True, slots=True)
class Arrivals:
    """When a process starts its steps. Unused fields stay 0."""

    kind: ArrivalKind
    rate_hz: float = 0.0
    period_us: float = 0.0
    size: int = 1
    to_hz: float = 0.0
    over_s: float = 0.0

    def scaled(self, rate: float, burst: float) -> Arrivals:
        """Rates multiplied by `rate` (periods divided), burst sizes by `burst` (>= 1)."""
        size = max(1, round(self.size * burst)) if self.kind is ArrivalKind.BURST else 1
        period = self.period_us / rate if self.period_us else 0.0
        return replace(self, rate_hz=self.rate_hz * rate, to_hz=self.to_hz * rate,
                       period_us=period, size=size)


@dataclass(frozen=True, slots=True)
class Node:
    """One execute of a step: on queue slot `slot`, running `kernel`, after `after`."""

    slot: int
    kernel: str
    after: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Graph:
    """A step's shape.

    host_wait: the process waits (a host semaphore wait) for the step's sinks before it
      starts its next step — arrivals that fall due meanwhile are late, not lost.
    gate_us: the step's roots also wait on a host semaphore that the process signals
      `gate_us` after submitting the step (wait-before-signal: the nodes park meanwhile).
    """

    nodes: tuple[Node, ...]
    host_wait: bool = False
    gate_us: float | None = None

    @property
    def sinks(self) -> tuple[int, ...]:
        used = {d for n in self.nodes for d in n.after}
        return tuple(i for i in range(len(self.nodes)) if i not in used)


@dataclass(frozen=True, slots=True)
class Replay:
    """A recorded submission list: (time µs, queue slot, duration µs), sorted by time.

    `loop`: start over after `span_us` until the run ends.
    """

    submissions: tuple[tuple[float, int, float], ...]
    span_us: float
    loop: bool = True

    def scaled(self, rate: float, duration: float) -> Replay:
        subs = tuple((t / rate, s, d * duration) for t, s, d in self.submissions)
        return replace(self, submissions=subs, span_us=self.span_us / rate)


@dataclass(frozen=True, slots=True)
class Process:
    """One simulated host thread submitting steps of `graph` (or replaying a trace)."""

    name: str
    graph: str = ""
    arrivals: Arrivals | None = None
    queue_offset: int | None = 0  # None: round-robin over the queues
    replay: Replay | None = None


class Completion(enum.Enum):
    CALLBACK = "callback"
    THREAD = "thread"


@dataclass(frozen=True, slots=True)
class PlanDefaults:
    """Sweep defaults a workload may set; command-line options override them."""

    capacities: tuple[int, ...] = (8, 16, 32, 64)
    target_miss: float = 1e-3
    replications: int = 5
    duration_s: float = 1.0
    warmup_s: float = 0.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A variant of the workload; None leaves that aspect unchanged.

    rate, duration, burst, latency are multipliers; queues is a count; completion a mode.
    """

    name: str
    rate: float | None = None
    duration: float | None = None
    queues: int | None = None
    burst: float | None = None
    completion: Completion | None = None
    latency: float | None = None

    def describe(self) -> str:
        parts = [f"{k}={v.value if isinstance(v, enum.Enum) else v}"
                 for k, v in self.changes().items()]
        return ",".join(parts) or "baseline"

    def changes(self) -> dict[str, object]:
        names = ("rate", "duration", "queues", "burst", "completion", "latency")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass(frozen=True, slots=True)
class Workload:
    """Everything needed to simulate a workload (see the module docstring)."""

    name: str
    queues: tuple[str, ...]
    kernels: dict[str, Duration]
    graphs: dict[str, Graph]
    processes: tuple[Process, ...]
    completion: Completion = Completion.CALLBACK
    max_wait_events: int = 32
    timing: Timing = field(default_factory=Timing)
    plan: PlanDefaults = field(default_factory=PlanDefaults)
    what_ifs: tuple[WhatIf, ...] = ()
    description: str = ""
