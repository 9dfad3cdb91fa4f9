"""`hipsem fuzz --backend iree`: the property campaign run on IREE's HIP driver.

The same generated cases (`model.strategies.cases`) are mapped through
`session.expressible` (fail codes -> UNKNOWN, completion mode THREAD) so that the
checker, the shrinker and the saved counterexample all see the scenario IREE really ran;
each case runs once (IREE's interleaving is not seeded: `seeds_per_case` 1), on the
process's warm IREE worker (`runner.shared_worker`). Seeded defects do not apply;
Hypothesis shrinks a failure, hipsem's greedy minimizer does not run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ireebackend.runner import DEFAULT_LIMIT_S, shared_worker
from ireebackend.session import expressible
from model.core.defects import Defect
from model.fuzz.campaign import CampaignConfig, Failure
from model.fuzz.replay import Saved
from model.scenario.record import RunRecord
from model.scenario.types import Scenario
from model.sim.timing import Timing
from model.strategies.scenarios import FuzzCase, cases


def iree_runner(scenario: Scenario, seed: int, defects: Iterable[Defect],
                timing: Timing) -> RunRecord:
    """`campaign.Runner` over IREE (the scenario is already expressible)."""
    return shared_worker().run(scenario, seed, DEFAULT_LIMIT_S)


def replayed_on_iree(failure: Failure, saved: Saved) -> Saved:
    """`saved` with `replays` judged on IREE: the saved file, run again on IREE's driver,
    fails the same properties (save_failure judges the replay on the SimPy model)."""
    from model.scenario.checker import check
    from model.scenario.parse import load_scenario

    scenario = load_scenario(saved.scenario_file)
    record = shared_worker().run(scenario, failure.seed, DEFAULT_LIMIT_S)
    properties = sorted({v.property for v in check(scenario, record)})
    return replace(saved, replays=properties == sorted(failure.properties))


def _expressible_case(case: FuzzCase) -> FuzzCase:
    return replace(case, scenario=expressible(case.scenario), seeds=case.seeds[:1])


def iree_config(config: CampaignConfig) -> CampaignConfig:
    """`config` turned into an IREE campaign (module docstring)."""
    strategy = cases(config.max_ops, 1, config.draw_timing).map(_expressible_case)
    # No greedy minimize pass after Hypothesis' shrinking: it resets settings to the
    # defaults, undoing `expressible` (the checker would judge callback completion).
    return replace(config, strategy=strategy, runner=iree_runner, seeds_per_case=1,
                   minimize=False)
