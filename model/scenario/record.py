"""What a run observed: the input of the checker, the trace writer and the report.

A backend (SimPy or HIP) fills one `RunRecord` per run. Times are microseconds on the
backend's clock (simulated time for SimPy, time since the run started on hardware).
`seq` numbers totally order everything the run observed on the host, so that "the value
a wait saw when it returned" is well defined even when several things happen at the same
simulated instant.

Invariant: `seq` values are unique and increase in the order the observations were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PENDING = "PENDING"


@dataclass(slots=True)
class OpResult:
    """Outcome of one scenario op.

    For an execute, `start_us`/`end_us` are when its device work began and ended (None if
    it never ran) and `submit_us` when the host call was made; for host ops they are when
    the call was made and when it returned. `status` is a StatusCode name or PENDING.
    """

    id: str
    actor: str
    op: str
    status: str = PENDING
    start_us: float | None = None
    end_us: float | None = None
    start_seq: int | None = None
    end_seq: int | None = None
    value: int | None = None  # query result
    submit_us: float | None = None
    message: str = ""
    # An execute's submit call: the seq observed when the host call was made (used by the
    # checker's failure-propagation property; falls back to submit_us when None).
    submit_seq: int | None = None


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A host-visible change of a semaphore: its value advanced, or it failed.

    `status` is "OK" for an advance, else the failure's code name (value unchanged).
    """

    semaphore: str
    value: int
    status: str
    time_us: float
    seq: int


@dataclass(frozen=True, slots=True)
class Span:
    """A slice on a trace track (stream, host thread, host-function thread)."""

    track: str
    name: str
    start_us: float
    end_us: float
    args: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow arrow: the signal `source` released the wait `target` (op ids)."""

    source: str
    target: str
    semaphore: str
    value: int


@dataclass(frozen=True, slots=True)
class PoolReport:
    capacity: int
    created: int
    destroyed: int
    peak_in_use: int
    misses: int
    in_use_at_end: int
    acquires: int = 0


@dataclass(slots=True)
class RunRecord:
    scenario: str
    backend: str
    seed: int
    ops: dict[str, OpResult] = field(default_factory=dict)
    value_log: list[ValueChange] = field(default_factory=list)
    # Per queue: action ids in the order the core found them ready / issued them,
    # and the order in which their work started on the queue's stream.
    ready_order: dict[str, list[str]] = field(default_factory=dict)
    issue_order: dict[str, list[str]] = field(default_factory=dict)
    stream_order: dict[str, list[str]] = field(default_factory=dict)
    # Device calls made from host-function context, as "call (context)" strings.
    host_function_api_calls: list[str] = field(default_factory=list)
    pools: dict[str, PoolReport] = field(default_factory=dict)
    # Problems found by check_invariants()/conservation accounting after teardown.
    conservation_problems: list[str] = field(default_factory=list)
    # Action ids cancelled by queue teardown at the end of the run.
    cancelled_at_teardown: list[str] = field(default_factory=list)
    semaphores: dict[str, tuple[int, str]] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    sim_time_us: float = 0.0
    # Hardware only: per execute, the executes whose work was done when its work began
    # (the device's observation matrix). None on the SimPy backend, which has times.
    observed_before: dict[str, set[str]] | None = None
