"""Saved counterexamples: a scenario file that `hipsem run` replays exactly.

A saved file is an ordinary `hipsem/scenario-1` scenario whose optional top-level
`replay` field carries the run seed and the seeded defects of the failing run:

    "replay": {"seed": 4127, "defects": ["lifo-ready"]}

`hipsem run FILE` uses them (its --seed/--defect flags override), so the replay shows the
same violations. The campaign's runs use the default timing model unless the scenario
format can carry another one (`REPLAY_HAS_TIMING`), so that the replay is exact.

Invariant: `save_failure` re-runs the saved file through `load_scenario` and reports
whether the replay shows the same violated properties (`Saved.replays`). A counterexample
whose run crashes (property `crash`) is saved and replayed like any other: the runner
records the crash (`RunRecord.crash`) instead of raising, so neither the trace nor the
replay raises for it; the scenario file is written first, before anything is re-run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from model.core.defects import Defect
from model.fuzz.campaign import LIVELOCK_RETRY_S, RUN_WALL_LIMIT_S, Failure, is_livelock
from model.scenario.checker import check
from model.scenario.parse import load_scenario, scenario_to_json
from model.scenario.trace import chrome_trace, write_trace
from model.scenario.types import Replay, Scenario
from model.sim.runner import run_sim
from model.sim.timing import Timing

# True once the scenario format's replay section can carry a timing model.
REPLAY_HAS_TIMING = "timing" in getattr(Replay, "__dataclass_fields__", {})


@dataclass(frozen=True, slots=True)
class Saved:
    """Where a counterexample was written, and whether replaying the file reproduces it."""

    scenario_file: Path
    trace_file: Path
    replays: bool


def with_replay(scenario: Scenario, seed: int, defects: frozenset[Defect],
                description: str = "", timing: Timing | None = None) -> Scenario:
    """`scenario` carrying its replay seed, defects, timing (and a description)."""
    replay = Replay(seed=seed, defects=tuple(sorted(d.value for d in defects)),
                    timing=timing_overrides(timing))
    return dataclasses.replace(scenario, replay=replay,
                               description=description or scenario.description)


def timing_overrides(timing: Timing | None) -> dict[str, float]:
    """The fields of `timing` that differ from the default model."""
    if timing is None:
        return {}
    default = Timing()
    return {f.name: float(getattr(timing, f.name)) for f in dataclasses.fields(Timing)
            if getattr(timing, f.name) != getattr(default, f.name)}


def replay_timing(scenario: Scenario) -> Timing | None:
    return Timing(**scenario.replay.timing) if scenario.replay.timing else None


def replay_file(path: Path, wall_limit_s: float = RUN_WALL_LIMIT_S
                ) -> tuple[Scenario, list[str]]:
    """Run a saved file as `hipsem run` does; returns it and its violated properties."""
    scenario = load_scenario(path)
    defects = [Defect.parse(d) for d in scenario.replay.defects]
    record = run_sim(scenario, scenario.replay.seed, defects, replay_timing(scenario),
                     wall_limit_s=wall_limit_s)
    return scenario, list(dict.fromkeys(v.property for v in check(scenario, record)))


def _label(failure: Failure, defects: frozenset[Defect]) -> str:
    label = "-".join(sorted(d.value for d in defects)) or "clean"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{label}-{failure.properties[0]}")


def counterexample(failure: Failure, defects: frozenset[Defect]) -> Scenario:
    """The scenario that `save_failure` writes: the failing case carrying its replay seed,
    defects and timing, named `<defects>-<property>-<hash>`, where the hash is the first
    12 hex digits of the SHA-256 of the document with the name left out. Two different
    counterexamples never share a name (two campaigns never overwrite each other's
    files); the same counterexample found twice keeps its name."""
    first = failure.violations[0]
    description = f"hipsem fuzz counterexample: {first.property}: {first.message}"
    scenario = with_replay(dataclasses.replace(failure.case.scenario, name=""),
                           failure.seed, defects, description, failure.case.timing)
    document = scenario_to_json(scenario)
    document.pop("name", None)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:12]
    return dataclasses.replace(scenario, name=f"{_label(failure, defects)}-{digest}")


def counterexample_json(scenario: Scenario) -> str:
    """The text of a saved counterexample file (also printed when it cannot be saved)."""
    return json.dumps(scenario_to_json(scenario), indent=2, ensure_ascii=False) + "\n"


def save_failure(failure: Failure, defects: frozenset[Defect], directory: Path) -> Saved:
    """Write the counterexample (scenario with replay) and its Chrome trace (OSError if
    they cannot be written; `counterexample` gives the document to show instead)."""
    directory.mkdir(parents=True, exist_ok=True)
    scenario = counterexample(failure, defects)
    path = directory / f"{scenario.name}.json"
    path.write_text(counterexample_json(scenario), encoding="utf-8")
    trace = directory / f"{scenario.name}.trace.json"
    limit = LIVELOCK_RETRY_S if is_livelock(failure) else RUN_WALL_LIMIT_S
    record = run_sim(scenario, failure.seed, defects, failure.case.timing,
                     wall_limit_s=limit)
    write_trace(trace, chrome_trace(scenario, record))
    _, replayed = replay_file(path, limit)
    return Saved(path, trace, replayed == failure.properties)


__all__ = ["REPLAY_HAS_TIMING", "Saved", "counterexample", "counterexample_json", "replay_file",
           "save_failure", "with_replay"]
