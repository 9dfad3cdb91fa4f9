"""The checker: decide whether a `RunRecord` is a correct run of its `Scenario`.

`check(scenario, record)` returns a list of `Violation`s (empty = correct). It first
computes from the scenario ALONE what may and what must happen (`analysis`: least
fixpoints over the ops), then judges the record. The rule every property follows: judge
from what the platform and the device observed (host call times and results, device
work spans and order, device-call times), and treat what the core reports about itself
(its value log, its ready and completion orders) as claims to verify — never as the
evidence. docs/checker.md states each rule exactly; one module per property:

  crash                the run under test raised                         crash.py
  happens-before       device work starts only after its waits are reached happens_before.py
  provenance           every host-visible value was signalled, not seen early provenance.py
  causality            an observation makes its causal past visible      causality.py
  liveness             each op ends with a status the scenario allows    liveness.py
  monotonic            host-visible values never decrease                monotonic.py
  linearizable-wait    results agree with the core's value log           linearizable.py
  failed-semaphore     calls on a failed semaphore return the failure    failed_semaphore.py
  deadline             timed waits keep their deadlines                  deadline.py
  failure-propagation  failures flow downstream with the right codes     propagation.py
  teardown             shutdown ends every action defined                teardown.py
  conservation         pools balanced, nothing lost                      conservation.py
  host-callback-api    no device call from host-function context         host_callback.py
  fifo                 issue, stream and completion follow ready order   fifo.py
  prompt-issue         a worker does not sleep while its action is ready prompt.py
  faults               injected faults have exactly their blast radius    faults.py

Invariants:
  * Sound, not complete: every violation is a real defect of the run (or of the
    record), never an artefact of the analysis or of timing slack.
  * Deterministic: violations come in property order, then scenario order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from model.scenario.checker.analysis import (
    Analysis,
    Index,
    allowed_statuses,
    analyze,
    analyze_index,
    expected_outcomes,
)
from model.scenario.checker.causality import check_causality
from model.scenario.checker.conservation import check_conservation
from model.scenario.checker.crash import check_crash
from model.scenario.checker.deadline import check_deadline
from model.scenario.checker.failed_semaphore import check_failed_semaphore
from model.scenario.checker.faults import check_faults, fault_facts
from model.scenario.checker.fifo import check_fifo
from model.scenario.checker.happens_before import check_happens_before
from model.scenario.checker.host_callback import check_host_callback_api
from model.scenario.checker.linearizable import check_linearizable
from model.scenario.checker.liveness import check_liveness
from model.scenario.checker.monotonic import check_monotonic
from model.scenario.checker.prompt import check_prompt_issue
from model.scenario.checker.propagation import check_failure_propagation
from model.scenario.checker.provenance import check_provenance
from model.scenario.checker.teardown import check_teardown, final_status, not_run
from model.scenario.checker.views import Ctx, Violation, make_ctx
from model.scenario.record import RunRecord
from model.scenario.types import Scenario

__all__ = [
    "PROPERTIES",
    "Analysis",
    "Violation",
    "allowed_statuses",
    "analyze",
    "check",
    "expected_outcomes",
    "final_status",
    "not_run",
]

_CHECKS: dict[str, Callable[[Ctx], Iterator[Violation]]] = {
    "crash": check_crash,
    "happens-before": check_happens_before,
    "provenance": check_provenance,
    "causality": check_causality,
    "liveness": check_liveness,
    "monotonic": check_monotonic,
    "linearizable-wait": check_linearizable,
    "failed-semaphore": check_failed_semaphore,
    "deadline": check_deadline,
    "failure-propagation": check_failure_propagation,
    "teardown": check_teardown,
    "conservation": check_conservation,
    "host-callback-api": check_host_callback_api,
    "fifo": check_fifo,
    "prompt-issue": check_prompt_issue,
    "faults": check_faults,
}
PROPERTIES = tuple(_CHECKS)
# Properties that only verify hipsem's core's claims (its value log) against the host
# calls' results: skipped for a record of a backend without that core
# (`RunRecord.core_claims` False, the IREE backend); every other property judges ground
# truth and still applies.
CLAIM_ONLY_PROPERTIES = frozenset({"linearizable-wait"})


def check(scenario: Scenario, record: RunRecord) -> list[Violation]:
    """Every violation of every property by `record`, a run of `scenario`."""
    facts = fault_facts(scenario, record) if record.faults else None
    ix = (Index(scenario, facts.faulted, facts.lost, facts.published) if facts
          else Index(scenario))
    ctx = make_ctx(scenario, record, ix, analyze_index(ix))
    names = [n for n in PROPERTIES if record.core_claims or n not in CLAIM_ONLY_PROPERTIES]
    return [v for name in names for v in _CHECKS[name](ctx)]
