"""Capacity planning of the event pool and the timepoint pool (`hipsem plan`).

A runtime engineer's question — how large must the pools be for my workload, and what
does each size cost? — answered by simulating the workload on the real core
(`model.core`) over the SimPy device (`model.sim`) for each capacity.

Pipeline: workload file or trace (`parse`, `trace`) -> what-if variants (`variants`) ->
runs per (variant, capacity, replication), in parallel (`sweep`, `simulate`, with
instrumented pools from `instrument`) -> estimates and intervals (`analysis`) ->
recommendation (`recommend`) -> plans (`plan`) -> tables, JSON, CSV (`report`) and PNG
plots (`plots`). `cli.plan_main` is the command; `cli.demo_plan` the README demo.

Invariant: planning never changes what the core decides; it only observes the pools and
drives submissions. See docs/planning.md.
"""

from model.planning.parse import load_workload, parse_workload
from model.planning.plan import Plan, plan_workload
from model.planning.simulate import RunResult, simulate
from model.planning.sweep import SweepSpec
from model.planning.trace import import_trace
from model.planning.validate import WorkloadError
from model.planning.workload import WhatIf, Workload

__all__ = [
    "Plan",
    "RunResult",
    "SweepSpec",
    "WhatIf",
    "Workload",
    "WorkloadError",
    "import_trace",
    "load_workload",
    "parse_workload",
    "plan_workload",
    "simulate",
]
