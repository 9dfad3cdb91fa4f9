"""The fault matrix of docs/faults.md: fault kind x completion mode x backend.

For every fault kind (each injectable call failing, an execute's device work failing, the
device lost), each completion mode (callback, thread) and each backend (SimPy; HIP over
the CPU runtime), the clean core runs the same generated scenarios (Hypothesis seed 0,
`model.strategies.scenarios`) with a plan of that kind, and the table counts:

  runs        runs made
  fired       runs in which the device injected the fault (a plan can miss: a call a
              scenario never makes, a loss after the run ended)
  sticky      runs in which a stream in a work fault's error state refused a later call
              or skipped later work (docs/faults.md; the work fault is put on an execute
              followed by another on its queue when the scenario has one)
  violations  runs with any checker violation
  leaks       runs with a conservation violation (a pool object or reference not back,
              a device event or stream not destroyed)
  hangs       runs that did not settle, whose teardown did not finish, or that were
              stopped by the watchdog

The target is zero violations, leaks and hangs everywhere. Usage:

    .venv/bin/python benchmarks/faults_matrix.py --scenarios 12 [--no-hip] [--markdown]
    .venv/bin/python benchmarks/faults_matrix.py --no-hip --defect lost-device-hangs-teardown
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

from model.core.defects import Defect
from model.faults import INJECTABLE_CALLS, CallFault, DeviceLost, FaultPlan, WorkFault
from model.scenario.checker import check
from model.scenario.record import RunRecord
from model.scenario.types import Completion, Execute, Scenario
from model.sim.runner import run_sim
from model.strategies.faults import followed_executes

KINDS = [*INJECTABLE_CALLS, "work", "device_lost"]
Runner = Callable[[Scenario, int], RunRecord]


def plan_for(kind: str, scenario: Scenario, index: int) -> FaultPlan:
    """A plan of `kind` for the `index`-th scenario (occurrence and time vary)."""
    if kind == "work":
        executes = followed_executes(scenario)
        return FaultPlan(work=(WorkFault(executes[index % len(executes)]),)) if executes \
            else FaultPlan()
    if kind == "device_lost":
        return FaultPlan(device_lost=DeviceLost((0.0, 50.0, 200.0, 1000.0)[index % 4]))
    error = ("hipErrorOutOfMemory", "hipErrorInvalidHandle", "hipErrorLaunchFailure")[index % 3]
    return FaultPlan(calls=(CallFault(kind, error, at=1 + index % 3),))


def prepared(scenario: Scenario, kind: str, completion: Completion, index: int) -> Scenario:
    settings = dataclasses.replace(scenario.settings, completion=completion)
    if kind == "create_event":  # a pool that creates events on acquire
        settings = dataclasses.replace(settings, event_pool_capacity=index % 2)
    return dataclasses.replace(scenario, settings=settings,
                               faults=plan_for(kind, scenario, index))


def generated(count: int) -> list[Scenario]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    from model.strategies import scenarios

    out: list[Scenario] = []

    @hypothesis_seed(0)
    @settings(max_examples=count * 4, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(scenarios(max_ops=12))
    def collect(scenario: Scenario) -> None:
        if len(out) < count and any(isinstance(op, Execute) for _, _, op in scenario.ops()):
            out.append(dataclasses.replace(scenario, name=f"g{len(out)}"))

    collect()
    return out


def hung(record: RunRecord) -> bool:
    problems = " ".join(record.conservation_problems)
    timed_out = record.crash is not None and record.crash.type == "RunTimeout"
    return (not record.teardown.completed or "did not settle" in problems
            or "did not quiesce" in problems or "did not finish" in problems or timed_out)


def cell(runner: Runner, scenarios: list[Scenario], kind: str,
         completion: Completion) -> tuple[int, int, int, int, int, int]:
    runs = fired = sticky = violations = leaks = hangs = 0
    for index, base in enumerate(scenarios):
        scenario = prepared(base, kind, completion, index)
        record = runner(scenario, index)
        found = check(scenario, record)
        runs += 1
        fired += bool(record.faults)
        sticky += any(h.kind in ("sticky", "skipped") for h in record.faults)
        violations += bool(found)
        leaks += any(v.property == "conservation" for v in found)
        hangs += hung(record)
    return runs, fired, sticky, violations, leaks, hangs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenarios", type=int, default=12, help="generated scenarios per cell")
    p.add_argument("--no-hip", action="store_true", help="SimPy backend only")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--defect", action="append", default=[], metavar="NAME",
                   help="run a seeded defect instead of the clean core (repeatable)")
    args = p.parse_args()
    defects = frozenset(Defect.parse(name) for name in args.defect)
    scenarios = generated(args.scenarios)
    backends: list[tuple[str, Runner]] = [
        ("sim", lambda s, seed: run_sim(s, seed, defects, wall_limit_s=10.0))]
    if not args.no_hip:
        from hipbackend.runner import HipRun

        backends.append(("hip-cpu", lambda s, seed: HipRun(s, seed, defects, "cpu",
                                                           limit_s=10.0).run()))
    header = ("fault kind", "completion", "backend", "runs", "fired", "sticky", "violations",
              "leaks", "hangs")
    rows = []
    start = time.perf_counter()
    for kind in KINDS:
        for completion in Completion:
            for name, runner in backends:
                rows.append((kind, completion.value, name,
                             *map(str, cell(runner, scenarios, kind, completion))))
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join(["---"] * 3 + ["---:"] * 6) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        print(("{:18} {:10} {:8} " + "{:>6} " * 6).format(*header))
        for row in rows:
            print(("{:18} {:10} {:8} " + "{:>6} " * 6).format(*row))
    total = [sum(int(r[i]) for r in rows) for i in range(3, 9)]
    print(f"\ntotal: {total[0]} runs, {total[1]} with the fault injected, {total[2]} with a "
          f"stream error hitting later work, {total[3]} with violations, {total[4]} "
          f"leaking, {total[5]} hanging "
          f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
