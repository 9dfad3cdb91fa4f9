"""Seeded defects: switches that put known bugs of this design back into the core.

Each member names one defect; `CoreContext(defects=...)` turns it on. The clean core is
`frozenset()`. The property suite must catch every one of them (tests/property/
test_defects.py); `hipsem fuzz --list-defects` prints this catalogue.

The first five are the defects of the design's first version (DESIGN.md, "Known defects
of this design in the wild"); the rest are plausible bugs of the same code. The last
four (`FAULT_DEFECTS`) live on fault paths: only runs with injected faults show them.
"""

from __future__ import annotations

import enum


class Defect(enum.Enum):
    """A named defect; the value is the CLI name, the docstring table below the effect."""

    FRESH_EVENT_WAIT = "fresh-event-wait"
    LIFO_READY = "lifo-ready"
    CALLBACK_POOL_RELEASE = "callback-pool-release"
    WAIT_SYNCS_DEVICE_EVENT = "wait-syncs-device-event"
    NO_FAILURE_PROPAGATION = "no-failure-propagation"
    LOST_WAKEUP = "lost-wakeup"
    RESCAN_DROPS_WAIT = "rescan-drops-wait"
    SCAN_ERROR_DROPS_REST = "scan-error-drops-rest"
    POOL_REF_LEAK = "pool-ref-leak"
    PUBLISH_BEFORE_RECORD = "publish-before-record"
    WAIT_LIMIT_DROPS = "wait-limit-drops"
    STALE_SIGNAL_REGRESS = "stale-signal-regress"
    NO_CAUSAL_FRONTIER = "no-causal-frontier"
    EARLY_RETIRE = "early-retire"
    FAILED_READS_VALUE = "failed-reads-value"
    SHUTDOWN_DROPS_PARKED = "shutdown-drops-parked"
    REUSE_DESTROYED_EVENT = "reuse-destroyed-event"
    ACQUIRE_ERROR_HALF_TAKEN = "acquire-error-half-taken"
    ISSUE_FAILURE_KEEPS_SIGNALS = "issue-failure-keeps-signals"
    LOST_DEVICE_HANGS_TEARDOWN = "lost-device-hangs-teardown"
    COMPLETION_SWALLOWS_REPEAT_ERROR = "completion-swallows-repeat-error"

    @property
    def needs_faults(self) -> bool:
        """Only a run with injected faults can show it (`hipsem fuzz --faults`)."""
        return self in FAULT_DEFECTS

    # Members are singletons compared by identity, so identity hashing is exact; it
    # keeps `Defect.X in ctx.defects` (on the core's hot path) free of a Python-level
    # Enum.__hash__ call.
    __hash__ = object.__hash__

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]

    @classmethod
    def parse(cls, name: str) -> Defect:
        from model.core.status import InvalidArgumentError

        for defect in cls:
            if name in (defect.value, defect.name):
                return defect
        names = ", ".join(d.value for d in cls)
        raise InvalidArgumentError(f"unknown defect {name!r}; expected one of {names}")


DESCRIPTIONS: dict[Defect, str] = {
    Defect.FRESH_EVENT_WAIT: "a wait with no recorded producer binds a fresh, never-recorded "
    "event, so the stream wait is a no-op and work starts early (HIP rule 2)",
    Defect.LIFO_READY: "ready batches go to the worker through a LIFO stack, so a later batch "
    "is issued first",
    Defect.CALLBACK_POOL_RELEASE: "the completion host function returns events to the pool "
    "itself; past capacity the pool destroys them inside the callback (HIP rule 6)",
    Defect.WAIT_SYNCS_DEVICE_EVENT: "a host wait synchronizes on the producer's device event and "
    "returns OK before the host timeline has advanced",
    Defect.NO_FAILURE_PROPAGATION: "an action failed by a failed wait semaphore does not fail "
    "its own signal semaphores",
    Defect.LOST_WAKEUP: "a host waiter is registered after the value check, outside the lock; a "
    "signal in between is never seen",
    Defect.RESCAN_DROPS_WAIT: "a rescan drops a wait it could not yet satisfy, so the action "
    "issues without it",
    Defect.SCAN_ERROR_DROPS_REST: "an action failing in the middle of a scan drops the rest of "
    "the pending list",
    Defect.POOL_REF_LEAK: "issuing an action with two or more device waits leaks one event "
    "reference",
    Defect.PUBLISH_BEFORE_RECORD: "a signal timepoint is published before its event is recorded, "
    "so a consumer can wait on the event's previous record",
    Defect.WAIT_LIMIT_DROPS: "device waits beyond max_wait_events are silently dropped instead "
    "of being left to the host timeline",
    Defect.STALE_SIGNAL_REGRESS: "completion applies a signal value even when the timeline is "
    "already past it, so host-visible values can decrease",
    Defect.NO_CAUSAL_FRONTIER: "retiring an action does not first make visible what its work "
    "depended on, so a host that observed its signal can still read an older upstream value "
    "while the upstream queue's completions lag (causal visibility)",
    Defect.EARLY_RETIRE: "the completion loop retires an issued action at once instead of "
    "waiting for its completion event or hand-off, so the host timeline advances while the "
    "work still runs",
    Defect.FAILED_READS_VALUE: "a query of a failed semaphore returns its value, and a timed "
    "wait ignores the failure until its deadline (DEADLINE_EXCEEDED)",
    Defect.SHUTDOWN_DROPS_PARKED: "shutting a queue down forgets its parked actions: they are "
    "never CANCELLED and their signal semaphores never fail (the accounting is fudged)",
    Defect.REUSE_DESTROYED_EVENT: "the event pool puts an event it destroyed (released past "
    "capacity) back on its free list, so it hands out, or destroys again, a destroyed event "
    "and the device rejects the call",
    Defect.ACQUIRE_ERROR_HALF_TAKEN: "the event pool counts an event taken before it creates "
    "it on a miss, so a create_event that fails leaves a half-taken event in the pool's "
    "accounting (in use forever; IREE's event-pool acquire error path)",
    Defect.ISSUE_FAILURE_KEEPS_SIGNALS: "an action whose issue fails (a device call answers "
    "an error) fails itself but not its signal semaphores, so their waiters wait forever",
    Defect.LOST_DEVICE_HANGS_TEARDOWN: "after the device is lost the completion thread gives "
    "up without retiring what is in flight or marking its queue drained, so shutting the "
    "queue down waits forever",
    Defect.COMPLETION_SWALLOWS_REPEAT_ERROR: "the completion loop takes a completion event "
    "that answers the same HIP error as the queue's previous failed completion for a stale "
    "report of that failure and retires the action OK, although its stream was in the "
    "error state and skipped its work (a work fault's sticky stream error)",
}

FAULT_DEFECTS = frozenset({Defect.ACQUIRE_ERROR_HALF_TAKEN, Defect.ISSUE_FAILURE_KEEPS_SIGNALS,
                           Defect.LOST_DEVICE_HANGS_TEARDOWN,
                           Defect.COMPLETION_SWALLOWS_REPEAT_ERROR})
