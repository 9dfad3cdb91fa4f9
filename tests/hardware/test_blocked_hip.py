"""A blocked run explains itself the same way on the HIP backend (over the CPU runtime)
as in simulation: the explanation uses ground truth only, which both backends record."""

from __future__ import annotations

from hipbackend.runner import run_hip
from hipbackend.runtime import RuntimeInfo
from model.scenario.blocked import explain_blocked
from model.sim.runner import run_sim
from tests.unit.test_blocked import HOST_CYCLE, execute, scenario, wait


def test_the_same_explanation_on_both_backends(hip_runtime: RuntimeInfo) -> None:
    device_cycle = scenario({"A": 0, "B": 0}, {
        "main": [execute("x", "q0", {"A": 1}, {"B": 1}), execute("y", "q1", {"B": 1}, {"A": 1}),
                 wait("w", B=1)],
    }, queues=("q0", "q1"))
    for sc in (HOST_CYCLE, device_cycle):
        hip = explain_blocked(sc, run_hip(sc, 0, runtime=hip_runtime.kind))
        assert hip is not None and hip["cycles"]
        assert hip == explain_blocked(sc, run_sim(sc, 0))
