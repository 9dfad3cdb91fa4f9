"""Planning's speed options: `SimDevice(record=False)` and `SimPlatform(coalesce_calls=True)`.

record=False only stops observation; coalesce_calls is a modelling approximation used by
planning only (docs/planning.md, Performance): it must fire fewer SimPy events, submit
exactly the same work, keep miss costs measured, and stay off by default.
"""

from __future__ import annotations

from model.planning.parse import parse_workload
from model.planning.simulate import PlanningRun
from model.planning.workload import Workload
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.platform import SimPlatform


def fan_workload() -> Workload:
    return parse_workload({
        "format": "hipsem/workload-1", "name": "t", "queues": 4,
        "kernels": {"k": {"kind": "exponential", "mean_us": 40}},
        "graphs": {"g": {"shape": "fan", "width": 3, "kernel": "k", "spread": True}},
        "processes": [{"graph": "g", "queue_offset": "round-robin",
                       "arrivals": {"kind": "poisson", "rate_hz": 3000}}],
    })


def test_coalescing_is_off_by_default_outside_planning() -> None:
    env = SeededEnvironment(1)
    assert SimPlatform(env, SimDevice(env)).coalesce_calls is False
    assert SimDevice(env).record is True


def test_coalescing_fires_fewer_events_for_the_same_submissions() -> None:
    runs = {c: PlanningRun(fan_workload(), 2, seed=5, coalesce_calls=c) for c in (False, True)}
    results = {c: run.run(0.02) for c, run in runs.items()}
    exact, coalesced = results[False], results[True]
    assert exact.actions == coalesced.actions and exact.steps == coalesced.steps
    assert exact.drained and coalesced.drained
    events = {c: next(run.env._eid) for c, run in runs.items()}
    assert events[True] < 0.9 * events[False]
    # create_event is still charged in place: a miss costs create_event_us (3 µs ± 10%)
    for r in (exact, coalesced):
        assert r.event.misses > 0
        assert 2.7 * r.event.misses <= r.event.create_us <= 3.3 * r.event.misses


def test_a_device_that_does_not_record_keeps_no_observation() -> None:
    run = PlanningRun(fan_workload(), 8, seed=2)
    run.run(0.01)
    device = run.device
    assert device.spans == [] and device.work_times == {}
    assert all(order == [] for order in device.stream_order.values())
