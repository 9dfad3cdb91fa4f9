"""Public Hypothesis strategies for hipsem scenarios (docs/strategies.md).

`scenarios()` draws valid wait-before-signal scenarios, `cases()` adds run seeds and a
timing model, `invalid_documents()` draws scenario documents the parser must reject.
Every strategy's docstring says how it shrinks.
"""

from model.strategies.faults import fault_plans, with_faults
from model.strategies.graph import (
    HostOpSpec,
    MotifSpec,
    NodeSpec,
    Shape,
    build_scenario,
    decode_item,
    scenario_size,
)
from model.strategies.invalid import InvalidDocument, invalid_documents
from model.strategies.scenarios import (
    FuzzCase,
    cases,
    core_settings,
    item_lists,
    items,
    scenarios,
    shapes,
    timings,
)

__all__ = [
    "FuzzCase",
    "HostOpSpec",
    "InvalidDocument",
    "MotifSpec",
    "NodeSpec",
    "Shape",
    "build_scenario",
    "cases",
    "core_settings",
    "decode_item",
    "fault_plans",
    "invalid_documents",
    "item_lists",
    "items",
    "scenario_size",
    "scenarios",
    "shapes",
    "timings",
    "with_faults",
]
