"""Hypothesis profiles for the property suite: dev, ci and thorough.

Selected by the environment variable HIPSEM_PROFILE (default `dev`; scripts/check.sh sets
`ci`). Every profile keeps Hypothesis' example database in `.hypothesis/examples`
(git-ignored), so a failure found once replays first on the next run.

  dev       fast feedback while editing: few examples per property
  ci        the default test run: the whole property suite well under 3 minutes on 2 cores
  thorough  opt-in, 10,000 examples per property (and longer defect campaigns)

`budget()` gives the per-profile sizes the suite uses besides `max_examples` (examples
for each seeded-defect campaign, seeds per generated graph).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ENV = "HIPSEM_PROFILE"
PROFILES = ("dev", "ci", "thorough")
DATABASE_DIR = Path(".hypothesis") / "examples"


@dataclass(frozen=True, slots=True)
class Budget:
    """Sizes of the property suite under one profile."""

    examples: int  # Hypothesis max_examples per property test
    seeds_per_case: int  # simulated runs (interleavings) per generated graph
    defect_examples: int  # examples a seeded-defect campaign may use before failing
    state_machine_steps: int


BUDGETS = {
    "dev": Budget(examples=25, seeds_per_case=2, defect_examples=2000, state_machine_steps=20),
    "ci": Budget(examples=300, seeds_per_case=3, defect_examples=3000, state_machine_steps=30),
    "thorough": Budget(examples=10_000, seeds_per_case=4, defect_examples=20_000,
                       state_machine_steps=60),
}


def current() -> str:
    """The selected profile name; raises ValueError naming the bad value."""
    name = os.environ.get(ENV, "dev")
    if name not in PROFILES:
        raise ValueError(f"{ENV}={name!r}; expected one of {', '.join(PROFILES)}")
    return name


def budget(name: str | None = None) -> Budget:
    return BUDGETS[name or current()]


def register(database_dir: Path = DATABASE_DIR) -> str:
    """Register the three profiles, load the selected one, and return its name."""
    database = DirectoryBasedExampleDatabase(str(database_dir))
    common = {"database": database, "deadline": None,
              "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    for name, b in BUDGETS.items():
        settings.register_profile(name, max_examples=b.examples,
                                  stateful_step_count=b.state_machine_steps,
                                  print_blob=True, **common)  # type: ignore[arg-type]
    name = current()
    settings.load_profile(name)
    return name


__all__ = ["BUDGETS", "ENV", "PROFILES", "Budget", "budget", "current", "register"]
