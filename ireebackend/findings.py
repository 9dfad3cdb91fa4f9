"""The known divergences of IREE's HIP driver from hipsem's contract (docs/iree.md).

Each finding has an id, the DESIGN.md clause it departs from, the replayable scenario
under examples/iree/, and the patterns of the checker's violation classes
(`campaign.violation_class`) it explains. `explain(cls)` names the finding a violation
class belongs to, or None for a class nobody has explained yet (a new finding, or a bug
of the harness: triage it before recording it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    title: str
    clause: str
    example: str
    patterns: tuple[str, ...]
    found_by: str = "checker"  # or "diff": only `hipsem diff --backend iree` shows it
    # Explains a class only in scenarios that fail a semaphore (a failure is its cause).
    needs_fail: bool = False

    def matches(self, violation_class: str) -> bool:
        return any(re.search(p, violation_class) for p in self.patterns)


FINDINGS = (
    Finding(
        "F1", "a failure sticks to the device: later unrelated submissions are rejected, "
        "dropped or fail their semaphores",
        "Failure: 'the first failure wins; unrelated work keeps running'",
        "examples/iree/sticky-queue-failure.json",
        (r"^failure-propagation: execute ID failed with UNKNOWN; the failures that can reach"
         r" it are: none",
         r"^liveness: execute ID ended UNKNOWN; allowed: ",
         r"^liveness: execute ID ended PENDING; allowed: OK",
         r"^liveness: (wait|query|signal) ID ended UNKNOWN; allowed: ",
         r"^failure-propagation: semaphore S ended failed with UNKNOWN but no fail op on it "
         r"happened",
         r"^teardown: execute ID was submitted .* the action was dropped"),
        needs_fail=True,
    ),
    Finding(
        "F5", "a failed wait does not fail a submission whose other waits are not yet "
        "reached: its signals stay unfailed and their waiters are never woken",
        "Failure: 'every pending action waiting on S fails and fails its own signal "
        "semaphores with the same status'",
        "examples/iree/failure-waits-for-other-waits.json",
        (r"^liveness: execute ID ended PENDING; allowed: (OUT_OF_RANGE, )?UNKNOWN",
         # the ops after a wait that F5 never wakes stay PENDING (the actor is blocked)
         r"^liveness: (wait|query|signal|fail|sleep) ID ended PENDING; allowed: "),
        needs_fail=True,
    ),
    Finding(
        "F2", "a submission signalling a value below the semaphore's current value is "
        "accepted and runs; the signal is dropped",
        "Everything is FIFO ... 'the core never produces an out-of-order signal itself' "
        "(hipsem rejects it with OUT_OF_RANGE)",
        "examples/iree/signal-below-current-accepted.json",
        (r"^causality: execute ID's submit \(started N us\) was accepted with signal S = N, "
         r"but S >= N was already visible",),
    ),
    Finding(
        "F3", "a host signal that does not increase the value answers INVALID_ARGUMENT",
        "Status codes 'follow IREE's' (hipsem's table says OUT_OF_RANGE)",
        "examples/iree/host-signal-not-increasing-code.json",
        (r"^liveness: signal ID ended INVALID_ARGUMENT",),
    ),
    Finding(
        "F4", "a wait on ALL of several semaphores, one failed and one pending, raises "
        "DEFERRED (Python binding) instead of the failure",
        "'A query, poll or timed wait of a semaphore that has failed returns the failure's "
        "status'",
        "examples/iree/fence-wait-failure-deferred.json",
        (r"^liveness: wait ID ended DEFERRED",),
        needs_fail=True,
    ),
    Finding(
        "F6", "submissions released by the same signal reach the stream in reverse "
        "submission order",
        "Everything is FIFO: 'ready batches, stream submissions' (hipsem's model issues "
        "them in submission order; the checker's fifo rule leaves simultaneous releases "
        "unordered, so only the diff reports it)",
        "examples/iree/released-batches-reversed.json",
        (), found_by="diff",
    ),
)


def explain(violation_class: str, with_fail: bool = True) -> Finding | None:
    """The finding that explains a violation class, if any; `with_fail` False: the class
    was also seen in a scenario that fails no semaphore (so `needs_fail` ones cannot)."""
    return next((f for f in FINDINGS if f.matches(violation_class)
                 and (with_fail or not f.needs_fail)), None)
