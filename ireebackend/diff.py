"""`hipsem diff --backend iree`: IREE's HIP driver against hipsem's SimPy model.

As `hipbackend.diff` for the HIP backend, with three differences: each scenario is made
expressible first (`session.expressible`), so both sides run the same thing; the IREE run
comes from the process's IREE worker; and items only hipsem's core produces are not
compared (`CORE_ONLY`: the core's value log, its pools, its completion order and the
teardown states that its queue shutdown determines). Compared: every op's status, every
query's value, each semaphore's final state, and per queue the issue and stream orders
of the executes (from the CPU runtime's trace); a failed semaphore by its status alone
(IREE never reports a failed semaphore's value). Both runs are also judged by the
checker.
"""

from __future__ import annotations

from hipbackend.diff import Comparison, diff_scenario
from ireebackend.runner import DEFAULT_LIMIT_S, shared_worker
from ireebackend.session import expressible
from model.scenario.record import RunRecord
from model.scenario.types import Scenario

CORE_ONLY = ("values ", "teardown ", "pool ", "completion_order ")


def _run(scenario: Scenario, seed: int) -> RunRecord:
    return shared_worker().run(scenario, seed, DEFAULT_LIMIT_S)


def diff_iree(scenario: Scenario, seed: int = 0, sim_runs: int = 12) -> Comparison:
    """The `hipbackend.diff.Comparison` of `scenario` on IREE and on the SimPy model."""

    comparison = diff_scenario(expressible(scenario), "cpu", seed, run_hip=_run,
                               sim_runs=sim_runs)
    comparison.rows = [_failed_value_unknown(r) for r in comparison.rows
                       if not r[0].startswith(CORE_ONLY)]
    return comparison


def _failed_value_unknown(row: tuple[str, str, str, str]) -> tuple[str, str, str, str]:
    """IREE answers a query of a failed semaphore with the failure, never its value, so
    a failed semaphore's final state is compared by status alone ("7 UNKNOWN" on the
    model, "0 UNKNOWN" on IREE agree)."""
    item, sim, iree, verdict = row
    if not item.startswith("semaphore ") or verdict != "DISAGREE":
        return row
    sim_status, iree_status = sim.split()[-1], iree.split()[-1]
    if sim_status != "OK" and sim_status == iree_status:
        return item, sim, iree, "agree"
    return row
