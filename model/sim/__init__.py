"""The SimPy model of the HIP runtime subset: seeded environment, timing, device.

Time unit: microseconds of simulated time.
"""

from model.scenario.record import HOST_FUNCTION_TRACK
from model.sim.device import SimDevice, SimEvent, SimStream
from model.sim.env import SeededEnvironment
from model.sim.timing import Timing

__all__ = [
    "HOST_FUNCTION_TRACK",
    "SeededEnvironment",
    "SimDevice",
    "SimEvent",
    "SimStream",
    "Timing",
]
