"""The sans-I/O core: event pool, timepoint pool, timeline semaphores, deferred queue.

Nothing in this package blocks, sleeps, reads a clock, starts a thread, or imports simpy,
hip-python or threading (tests/unit/test_core_imports.py enforces it). Everything that
must block is a generator that yields an effect (`model.core.effects`); a *platform*
(`model.sim.platform` in simulation, `hipbackend.platform` on hardware) executes effects.

Thread-safety: the core is a monitor. A platform must serialize every entry into the core
(a generator step between two yields, or one synchronous API call) under one lock, and
must run effects outside it.
"""

from model.core.context import CoreContext
from model.core.defects import Defect
from model.core.effects import Call, Deadline, Flag, WaitFor, Yield
from model.core.pools import EventPool, PooledEvent, TimepointPool
from model.core.queue import Action, ActionState, DeferredQueue
from model.core.semaphore import Semaphore, wait_semaphores
from model.core.status import StatusCode

__all__ = [
    "Action",
    "ActionState",
    "Call",
    "CoreContext",
    "Deadline",
    "Defect",
    "DeferredQueue",
    "EventPool",
    "Flag",
    "PooledEvent",
    "Semaphore",
    "StatusCode",
    "TimepointPool",
    "WaitFor",
    "Yield",
    "wait_semaphores",
]
