"""What a run observed: the input of the checker, the trace writer and the report.

A backend (SimPy or HIP) fills one `RunRecord` per run. Times are microseconds on the
backend's clock (simulated time for SimPy, time since the run started on hardware).
`seq` numbers totally order everything the run observed on the host, so that "the value
a wait saw when it returned" is well defined even when several things happen at the same
simulated instant.

Ground truth and claims. Most of a record is what the *platform and the device*
observed, independently of the core under test: host call start/end of every op (the
actors), device start/end of every execute's work and the order each stream ran it (the
device), the order and times of the device calls the core made (launches and the records
that follow them), host-function runs (spans). The core's own reports (`value_log`,
`ready_order`, `completion_order`, statuses of actions) are *claims*: the checker verifies
them against the ground truth and never judges a run by them alone (docs/checker.md).

Invariant: `seq` values are unique and increase in the order the observations were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PENDING = "PENDING"
# The trace track (Span.track) of the process-wide host-function thread, on every backend.
HOST_FUNCTION_TRACK = "host-function thread"


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
    # An execute's submit call started (host clock, and the seq taken then); `submit_us`
    # and `submit_seq` are when it returned.
    submit_start_us: float | None = None
    submit_start_seq: int | None = None
    # The status an execute's submit call returned: None if it was accepted (then the
    # action's own outcome is `status`), else the rejection's code (it never ran).
    submit_status: str | None = None
    # Extra host-side times of an execute (not ground truth): when the core's worker
    # issued it and when the core retired it on the host timeline.
    issue_us: float | None = None
    retire_us: float | None = None
    # When the core reported the action finished, whatever its status (a claim; None if
    # it never finished before the run settled). Failures of parked actions end here.
    finish_us: float | None = None


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
    prefilled: int = 0  # events made when the pool was filled (not counted in created)
    closed: int = 0  # destroyed when the pool was closed (not counted in destroyed)


@dataclass(frozen=True, slots=True)
class Crash:
    """The run under test raised: in the core, the device or the platform.

    `op` is the scenario op being executed by the raising thread (None if unknown, e.g.
    a worker or completion loop); `where` names that thread or process.
    """

    type: str
    message: str
    op: str | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class FaultHit:
    """A fault the device injected (ground truth: the device answered the error).

    `kind` is "call" (a device call failed), "work" (an execute's device work failed: its
    stream entered the sticky error state, docs/faults.md), "sticky" (a call naming a
    stream in the error state answered its error; `call` is the method), "skipped" (a
    stream in the error state skipped an execute's work; `call` is "launch_work", the
    time is when the stream reached it) or "lost" (the device was lost; `call` is
    empty). `occurrence` is the call's 1-based count for "call", else 0. `stream` is the
    label of the stream the call named or the work ran on (None if none); `victims` the
    executes the device can tie the hit to: the work it launched or skipped, the work a
    recorded or waited marker follows, or, for create_event, every work launched and
    not yet followed by a record (empty when the device cannot tell, e.g. a stream wait
    made before the work is launched). The kinds "sticky" and "skipped" are additions:
    records and reports without them mean the same as before.
    """

    kind: str
    call: str
    occurrence: int
    error: str
    time_us: float
    stream: str | None = None
    victims: tuple[str, ...] = ()


@dataclass(slots=True)
class Teardown:
    """What happened after the run settled: queues shut down, pools closed.

    `statuses`: actions that finished during teardown (normally CANCELLED); `value_log`:
    host-visible changes made during teardown (failures propagated from cancelled
    actions); `semaphores`: each semaphore's (value, status) after teardown.
    """

    statuses: dict[str, str] = field(default_factory=dict)
    value_log: list[ValueChange] = field(default_factory=list)
    semaphores: dict[str, tuple[int, str]] = field(default_factory=dict)
    # False when teardown did not finish (a queue shutdown or pool close hung).
    completed: bool = True
    # When the platform began it (µs on the run's clock; None: not recorded).
    started_us: float | None = None


@dataclass(slots=True)
class RunRecord:
    scenario: str
    backend: str
    seed: int
    ops: dict[str, OpResult] = field(default_factory=dict)
    value_log: list[ValueChange] = field(default_factory=list)
    # Per queue: action ids in the order the core says it found them ready (a claim),
    # the order the device saw their work launched on the queue's stream (ground truth),
    # the order in which their work started on that stream (ground truth), and the order
    # the core says it retired them (a claim).
    ready_order: dict[str, list[str]] = field(default_factory=dict)
    issue_order: dict[str, list[str]] = field(default_factory=dict)
    stream_order: dict[str, list[str]] = field(default_factory=dict)
    completion_order: dict[str, list[str]] = field(default_factory=dict)
    # Per execute, host-clock times of device calls the device saw for it: when its work
    # was launched, and when the record_event that followed the launch on the same stream
    # returned (the completion event exists from then on). Missing = not observed.
    launched_us: dict[str, float] = field(default_factory=dict)
    recorded_us: dict[str, float] = field(default_factory=dict)
    # Per queue, the intervals (from, to) during which the platform saw that queue's
    # worker thread parked waiting for work (absent: not observed, e.g. on hardware).
    worker_parked: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    # Device calls made from host-function context, as "call (context)" strings.
    host_function_api_calls: list[str] = field(default_factory=list)
    pools: dict[str, PoolReport] = field(default_factory=dict)
    # Per pool ("event", "timepoint"): (time, objects in use) after each acquire and each
    # release that returned an object, as the recorder saw the core call its pools (the
    # core's own use of them; the device cannot observe pool occupancy). Teardown's
    # releases included. Empty when the runner did not watch the pools.
    pool_log: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
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
    # The device's own count of create_event / destroy_event / record_event calls over
    # the run (None if not observed): the ground truth the event pool's statistics must
    # add up to (every event the pool hands out is recorded once, as a completion event).
    device_events: tuple[int, int, int] | None = None
    # What teardown did (after `semaphores` and the statuses were taken).
    teardown: Teardown = field(default_factory=Teardown)
    # Slack of cross-clock comparisons: how far device times may be off the host clock
    # (0 in simulation; on hardware the uncertainty of aligning the two clocks), and how
    # late a platform may wake a timed host wait (0 in simulation).
    clock_tolerance_us: float = 0.0
    scheduling_tolerance_us: float = 0.0
    # Set when the run under test raised (the core, device or platform): a failure of
    # the run, reported by the checker as property `crash`.
    crash: Crash | None = None
    # Set (to the limit, µs) when the run reached an explicit simulated-time limit before
    # it was quiescent: it was stopped there, untorn-down, and is not judged.
    limit_reached_us: float | None = None
    # Ground truth of injected faults (docs/faults.md): every fault the device injected,
    # in the order it did, and when the device was lost (None: never).
    faults: list[FaultHit] = field(default_factory=list)
    device_lost_us: float | None = None
    # When a device call first answered the core a fatal error, before teardown began
    # (the device logged it; None: none did, or not recorded).
    lost_answered_us: float | None = None
    # False when no hipsem core ran (the IREE backend runs IREE's own driver): there is no
    # core value log to verify, so the checker skips its claim-only properties.
    core_claims: bool = True
