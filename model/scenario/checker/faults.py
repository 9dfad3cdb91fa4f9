"""Property `faults`: every injected fault has exactly the blast radius DESIGN.md states.

Ground truth: `record.faults`, the faults the device injected (which call failed, with
which HIP error, on which stream, and the work the device can tie the call to), and
`record.device_lost_us`. `fault_facts` turns them into the analysis's failure sources
(`Index.faulted`, `Index.lost`): the execute each fault hit fails with the IREE code of
its HIP error, by this module's own copy of IREE's `status_util.c` table
(`IREE_HIP_STATUS`, independent of the core's, which it holds to it). The rest of the
blast radius is then judged by the other properties with those sources: what depends on
a faulted execute fails with its code (liveness, failure-propagation), unrelated actions
complete (liveness), pools and references balance (conservation). This module checks:

  * every fault hit an action: the execute the device ties it to (for a stream wait made
    before the launch, an execute of that queue the device never saw launched; for a
    create_event, one of the executes launched and not yet recorded) ended with the
    fault's code, or with the lost device's code; each call fault hit a distinct action
    (a failed call ends the action's issue or completion), so the call hits are matched
    to executes (augmenting paths) rather than taken first-fit;
  * hits the device ties to exactly one execute — its failed work ("work"), its work the
    errored stream skipped ("skipped"), its launch or record the errored stream refused
    ("sticky") — may share it with each other and with a call fault (a plan of several
    faults: a record fails, then the work already launched fails too): the execute
    failed with the code of one of the faults the device ties to it, or the lost code
    (the first to reach the core wins); a work fault's stream error so has exactly its
    blast radius; these executes enter the analysis as failure sources, so their
    dependents must fail and everything else complete;
  * after a lost device nothing completes that needed the device afterwards: an execute
    that completed OK had its work end by the loss; and once a device call has answered
    the core the loss (`record.lost_answered_us`, logged by the device), no action is
    still parked when teardown begins (`teardown.started_us`, the platform's clock) to be
    cancelled there: the loss fails every pending action;
  * nothing hangs at teardown: queue shutdown and pool close finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from model.scenario.checker.views import Ctx, Violation
from model.scenario.record import FaultHit, RunRecord
from model.scenario.types import Execute, Scenario

# IREE's status_util.c idea, re-stated for the checker: HIP error -> IREE status code.
IREE_HIP_STATUS: dict[str, str] = {
    "hipErrorInvalidValue": "INVALID_ARGUMENT", "hipErrorInvalidHandle": "INVALID_ARGUMENT",
    "hipErrorInvalidDevice": "INVALID_ARGUMENT", "hipErrorInvalidContext": "INVALID_ARGUMENT",
    "hipErrorOutOfMemory": "RESOURCE_EXHAUSTED",
    "hipErrorLaunchOutOfResources": "RESOURCE_EXHAUSTED",
    "hipErrorContextIsDestroyed": "FAILED_PRECONDITION",
    "hipErrorNoDevice": "UNAVAILABLE", "hipErrorNotInitialized": "UNAVAILABLE",
    "hipErrorDeinitialized": "UNAVAILABLE", "hipErrorNotSupported": "UNIMPLEMENTED",
    "hipErrorNotFound": "NOT_FOUND", "hipErrorLaunchTimeOut": "DEADLINE_EXCEEDED",
    "hipErrorLaunchFailure": "INTERNAL", "hipErrorIllegalAddress": "INTERNAL",
    "hipErrorAssert": "INTERNAL", "hipErrorECCNotCorrectable": "DATA_LOSS",
}


# Calls made after an execute's signals were published (its hand-off, its status read).
_AFTER_PUBLISH = frozenset({"launch_host_func", "synchronize_event", "query_event"})


_OWN = {"stream_wait_event": "issue failed", "create_event": "issue failed"}


def expected_code(error: str) -> str:
    """The IREE status code name a HIP error must surface as (default INTERNAL)."""
    return IREE_HIP_STATUS.get(error, "INTERNAL")


@dataclass(frozen=True, slots=True)
class FaultFacts:
    """Injected faults as failure sources: victim execute -> code, and the lost code."""

    faulted: dict[str, str]
    lost: str | None
    published: frozenset[str]  # faulted after their signals were published
    unresolved: tuple[tuple[FaultHit, tuple[str, ...]], ...]  # (hit, its candidates)


def candidates(scenario: Scenario, record: RunRecord, hit: FaultHit) -> tuple[str, ...]:
    """The executes the device ties `hit` to (module docstring)."""
    if hit.call == "stream_wait_event":
        if hit.stream in scenario.queues:  # made before the launch: not launched since,
            launched = set(record.issue_order.get(hit.stream, []))  # and waiting on what
            producer = _execute(scenario, hit.victims[0]) if hit.victims else None  # the
            return tuple(  # waited marker's work signals
                op.id for _, _, op in scenario.ops()
                if isinstance(op, Execute) and op.queue == hit.stream
                and op.id not in launched and (producer is None or any(
                    producer.signal.get(sem, -1) >= v for sem, v in op.wait.items())))
        return hit.victims  # the callback stream's wait on the completion event
    return hit.victims


def _execute(scenario: Scenario, op_id: str) -> Execute | None:
    op = scenario.op_by_id().get(op_id)
    return op[1] if op is not None and isinstance(op[1], Execute) else None


# Hits of a stream's sticky error tied to one execute by the device itself: its skipped
# work, its launch refused, its record refused (the record follows its launch).
_DIRECT_STICKY = frozenset({"launch_work", "record_event"})


def _direct(hit: FaultHit) -> bool:
    """A hit the device ties to exactly its victim (module docstring): failed work, work
    an errored stream skipped, a launch or record the errored stream refused."""
    return hit.kind in ("work", "skipped") or (
        hit.kind == "sticky" and hit.call in _DIRECT_STICKY)


def fault_facts(scenario: Scenario, record: RunRecord) -> FaultFacts:
    """Resolve each hit to the execute it failed (its candidates' statuses decide)."""
    faulted: dict[str, str] = {}
    lost: str | None = None
    unresolved: list[tuple[FaultHit, tuple[str, ...]]] = []
    published: set[str] = set()
    # A stream error's direct victims first: each must fail with the code of one of
    # the faults the device ties to it (several can: skipped, then its record refused).
    allowed: dict[str, set[str]] = {}
    for hit in record.faults:
        if hit.kind == "lost":
            lost = lost or expected_code(hit.error)
        elif not (hit.call == "stream_wait_event" and hit.stream in scenario.queues):
            for x in hit.victims:  # (a queue stream's wait names its producer's work)
                allowed.setdefault(x, set()).add(expected_code(hit.error))
    for hit in record.faults:
        if not _direct(hit) or not hit.victims:
            continue
        x = hit.victims[0]
        wanted = allowed[x] | ({lost} if lost else set())
        status = _status(record, x)
        if status in wanted:
            faulted[x] = status
        else:
            unresolved.append((hit, hit.victims))
    direct = frozenset(faulted)
    lost = None
    hits: list[tuple[FaultHit, str, tuple[str, ...], list[str]]] = []
    for hit in record.faults:
        if _direct(hit):
            continue
        code = expected_code(hit.error)
        if hit.kind == "lost":
            lost = lost or code
            continue
        options = candidates(scenario, record, hit)
        wanted = {code} | ({lost} if lost else set())
        fits = [x for x in options if _status(record, x) in wanted]
        # Several fit (a failure can also have propagated to them): the core's own
        # account of where each failed only orders them; the choice is then judged.
        # An execute no other fault explains comes first (a direct victim of a stream
        # error can also be the victim of a call fault on it, e.g. its record refused).
        fits.sort(key=lambda x: (x in direct,
                                 not record.ops[x].message.startswith(_OWN.get(hit.call, ""))))
        hits.append((hit, code, options, fits))
    chosen = _match([fits for _, _, _, fits in hits], direct)
    for (hit, code, options, _), victim in zip(hits, chosen, strict=True):
        if victim is None:
            unresolved.append((hit, options))
            continue
        if victim not in direct:  # (a direct victim keeps the code it failed with)
            faulted[victim] = code
        if hit.call in _AFTER_PUBLISH or (
                hit.call == "stream_wait_event" and hit.stream not in scenario.queues):
            published.add(victim)
    return FaultFacts(faulted, lost, frozenset(published), tuple(unresolved))


def _match(fits: list[list[str]], shared: frozenset[str]) -> list[str | None]:
    """One execute per hit, each from its fits, as many hits as possible (augmenting
    paths; each hit tries its fits in order). Every fault hit a distinct action, except
    that an execute in `shared` (a stream error's direct victim) can also be a call
    fault's. None: no execute left for that hit."""
    owner: dict[str, int] = {}

    def assign(i: int, seen: set[str]) -> bool:
        for x in fits[i]:
            if x in shared:
                continue
            if x not in seen:
                seen.add(x)
                if x not in owner or assign(owner[x], seen):
                    owner[x] = i
                    return True
        return False

    chosen: list[str | None] = [None] * len(fits)
    for i, options in enumerate(fits):
        if not assign(i, set()):
            chosen[i] = next((x for x in options if x in shared), None)
    for x, i in owner.items():
        chosen[i] = x
    return chosen


def _status(record: RunRecord, op_id: str) -> str | None:
    r = record.ops.get(op_id)
    return r.status if r is not None else None


def _describe(hit: FaultHit) -> str:
    if hit.kind == "work":
        return f"the device work of {hit.victims[0]} failed with {hit.error}"
    if hit.kind == "skipped":
        return (f"stream {hit.stream} skipped the work of {hit.victims[0]} (its error "
                f"state: {hit.error})")
    if hit.kind == "sticky":
        return (f"{hit.call} on stream {hit.stream} answered {hit.error} (the stream's "
                "error state)")
    where = f" on stream {hit.stream}" if hit.stream else ""
    return f"{hit.call} call #{hit.occurrence}{where} failed with {hit.error}"


def check_faults(c: Ctx) -> Iterator[Violation]:
    facts = fault_facts(c.scenario, c.record)
    for hit, options in facts.unresolved:
        code = expected_code(hit.error)
        got = ", ".join(f"{x} {_status(c.record, x)}" for x in options) or "none"
        yield Violation(
            "faults", options[0] if options else None,
            f"{_describe(hit)} at {hit.time_us:.3f} us, but no action it hit failed with "
            f"{code} (IREE's code for {hit.error}); the executes it can have hit: {got}")
    lost_at = c.record.device_lost_us
    if lost_at is not None:
        for x in c.ix.executes:
            r = c.result(x.id)
            if r is None or r.status != "OK":
                continue
            if r.end_us is None or r.end_us > lost_at + c.clock_tol:
                ended = "never ran" if r.end_us is None else f"ended at {r.end_us:.3f} us"
                yield Violation(
                    "faults", x.id,
                    f"execute {x.id} completed OK, but the device was lost at {lost_at:.3f} "
                    f"us and its work {ended}: a lost device fails what is in flight")
    answered, started = c.record.lost_answered_us, c.record.teardown.started_us
    if answered is not None and started is not None and answered <= started:
        for op_id in c.record.cancelled_at_teardown:
            yield Violation(
                "faults", op_id,
                f"execute {op_id} was still parked when teardown began at {started:.3f} us and "
                f"was cancelled, but a device call had answered the core the lost device's "
                f"error at {answered:.3f} us: a lost device fails every pending action with "
                "its error (DESIGN.md Faults)")
    if c.record.crash is None and not c.record.teardown.completed:
        yield Violation(
            "faults", None,
            "teardown did not finish: a queue shutdown or the pool close waits forever "
            "(nothing may hang at teardown, DESIGN.md Faults)")
