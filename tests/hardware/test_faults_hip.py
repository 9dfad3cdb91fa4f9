"""Faults on the HIP backend (docs/faults.md): the CPU runtime's fault knob, and the same
fault plans as on the SimPy backend, judged by the same checker and compared with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hipbackend.cpu_runtime import CpuRuntimeLib
from hipbackend.diff import diff_scenario
from hipbackend.errors import HipError, RuntimeUnavailable, hip_check
from hipbackend.faults import HipFaults
from hipbackend.runner import HipRun
from hipbackend.runtime import RuntimeInfo
from model.core.hip_errors import HIP_ERROR_NUMBERS
from model.faults import FaultPlan
from model.scenario.checker import check
from model.scenario.parse import load_scenario
from model.scenario.record import FaultHit, RunRecord
from model.scenario.types import Completion, Scenario
from model.sim.runner import run_sim
from tests.hardware.conftest import HipKit

FAULTED = sorted((Path(__file__).resolve().parents[2] / "examples" / "faults").glob("*.json"))
# Outcomes fixed by the plan alone (no probability, no time): both backends must agree.
DETERMINED = [p for p in FAULTED if p.stem in ("work-fault", "create-event-oom",
                                               "record-fails", "sticky-stream")]


def test_the_knob_fails_the_next_call_of_this_thread_only(hip_kit: HipKit,
                                                          cpu_runtime: CpuRuntimeLib) -> None:
    hip = hip_kit.hip
    cpu_runtime.fail_next_call(HIP_ERROR_NUMBERS["hipErrorOutOfMemory"])
    with pytest.raises(HipError) as info:
        hip_check(hip.hipEventCreateWithFlags(hip.hipEventDisableTiming), "hipEventCreate")
    assert info.value.hip_name == "hipErrorOutOfMemory"
    assert info.value.code.name == "RESOURCE_EXHAUSTED"
    hip_kit.events.append(hip_check(hip.hipEventCreateWithFlags(hip.hipEventDisableTiming),
                                    "hipEventCreate"))  # the next call succeeds again


def test_a_lost_device_fails_every_call_but_releases(hip_kit: HipKit,
                                                     cpu_runtime: CpuRuntimeLib) -> None:
    hip = hip_kit.hip
    event = hip_check(hip.hipEventCreateWithFlags(hip.hipEventDisableTiming), "create")
    cpu_runtime.set_device_lost(0.0, HIP_ERROR_NUMBERS["hipErrorNoDevice"])
    try:
        assert cpu_runtime.device_lost
        with pytest.raises(HipError) as info:
            hip_check(hip.hipEventQuery(event), "hipEventQuery")
        assert info.value.hip_name == "hipErrorNoDevice" and info.value.fatal
        hip_check(hip.hipEventDestroy(event), "hipEventDestroy")  # releases still work
    finally:
        cpu_runtime.clear_faults()
    assert not cpu_runtime.device_lost


def test_faults_need_the_cpu_runtime() -> None:
    with pytest.raises(RuntimeUnavailable, match="CPU HIP runtime"):
        HipFaults(None, FaultPlan(), 0, lambda: 0.0)


def _in_mode(path: Path, completion: Completion) -> Scenario:
    sc = load_scenario(path)
    return dataclasses.replace(sc, settings=dataclasses.replace(sc.settings,
                                                              completion=completion))


@pytest.mark.parametrize("completion", list(Completion), ids=lambda c: c.value)
@pytest.mark.parametrize("path", FAULTED, ids=lambda p: p.stem)
def test_the_clean_core_keeps_every_fault_to_its_blast_radius_on_hip(
        path: Path, completion: Completion, hip_runtime: RuntimeInfo) -> None:
    if hip_runtime.cpu is None:
        pytest.skip("fault injection needs the CPU runtime")
    sc = _in_mode(path, completion)
    record = HipRun(sc, 1, (), hip_runtime.kind).run()
    assert record.faults, "the plan never fired"
    assert check(sc, record) == []
    assert record.teardown.completed


@pytest.mark.parametrize("completion", list(Completion), ids=lambda c: c.value)
@pytest.mark.parametrize("path", DETERMINED, ids=lambda p: p.stem)
def test_both_backends_agree_on_a_determined_fault(path: Path, completion: Completion,
                                                   hip_runtime: RuntimeInfo) -> None:
    if hip_runtime.cpu is None:
        pytest.skip("fault injection needs the CPU runtime")
    sc = _in_mode(path, completion)
    sim, hip = run_sim(sc, 1), HipRun(sc, 1, (), hip_runtime.kind).run()
    assert {k: r.status for k, r in hip.ops.items()} == {k: r.status for k, r in sim.ops.items()}
    # A stream error's refused calls and skipped work depend on how far the host is
    # ahead of the device (the HIP backend's faulted work can end before its own record
    # is made, which is then refused); the faults themselves do not.
    assert [(h.kind, h.call, h.error, h.victims) for h in _injected(hip)] == \
        [(h.kind, h.call, h.error, h.victims) for h in _injected(sim)]


def _injected(record: RunRecord) -> list[FaultHit]:
    return [h for h in record.faults if h.kind not in ("sticky", "skipped")]


@pytest.mark.parametrize("path", FAULTED, ids=lambda p: p.stem)
def test_hipsem_diff_agrees_on_faulted_scenarios(path: Path, hip_runtime: RuntimeInfo) -> None:
    if hip_runtime.cpu is None:
        pytest.skip("fault injection needs the CPU runtime")
    result = diff_scenario(load_scenario(path), hip_runtime.kind)
    assert result.violations == {"sim": [], "hip": []}
    assert [r for r in result.rows if r[3] == "DISAGREE"] == []


def test_a_probabilistic_plan_draws_the_same_faults_on_both_backends(
        hip_runtime: RuntimeInfo) -> None:
    """One queue, so the n-th launch is the same action on both backends; the draw is
    keyed by (run seed, call, occurrence), never by thread timing."""
    if hip_runtime.cpu is None:
        pytest.skip("fault injection needs the CPU runtime")
    from model.faults import CallFault
    from model.scenario.parse import parse_scenario

    sc = parse_scenario({
        "format": "hipsem/scenario-1", "name": "flaky-chain", "semaphores": {"S": 0},
        "queues": ["q0"], "actors": {"main": [
            {"op": "execute", "id": f"x{i}", "queue": "q0", "signal": {"S": i + 1},
             "duration_us": 10} for i in range(8)]},
    })
    plan = FaultPlan(calls=(CallFault("launch_work", "hipErrorLaunchFailure", probability=0.4),))
    sc = dataclasses.replace(sc, faults=plan)
    fired = 0
    for seed in range(3):
        sim, hip = run_sim(sc, seed), HipRun(sc, seed, (), hip_runtime.kind).run()
        assert [(h.occurrence, h.victims) for h in hip.faults] == \
            [(h.occurrence, h.victims) for h in sim.faults]
        assert check(sc, hip) == [] and check(sc, sim) == []
        fired += len(sim.faults)
    assert fired


@pytest.mark.parametrize("completion", [Completion.CALLBACK, Completion.THREAD])
def test_a_core_that_forgets_parked_actions_on_a_loss_is_flagged_on_hip(
        completion: Completion, hip_runtime: RuntimeInfo,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The HIP backend logs when a call first answered the loss and when teardown began,
    so the `faults` property judges a parked action cancelled after the loss there too."""
    from model.core.queue import DeferredQueue
    from tests.unit.test_faults import _parked_at_the_loss

    if hip_runtime.cpu is None:
        pytest.skip("fault injection needs the CPU runtime")
    sc = _parked_at_the_loss()
    sc = dataclasses.replace(sc, settings=dataclasses.replace(sc.settings,
                                                              completion=completion))
    good = HipRun(sc, 0, (), hip_runtime.kind).run()
    assert good.lost_answered_us is not None and check(sc, good) == []
    assert good.ops["x1"].status == "UNAVAILABLE"

    def fail_ready_only(self: DeferredQueue, code: object, message: str) -> None:
        while self._ready:
            for action in self._ready.popleft():
                self._fail_in_flight(action, code, message)  # type: ignore[arg-type]

    monkeypatch.setattr(DeferredQueue, "fail_parked", fail_ready_only)
    bad = HipRun(sc, 0, (), hip_runtime.kind).run()
    assert bad.cancelled_at_teardown == ["x1"]
    assert "faults" in {v.property for v in check(sc, bad)}, (bad.lost_answered_us,
                                                              bad.teardown.started_us)
