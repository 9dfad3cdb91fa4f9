"""The core context: device, pools, settings, seeded defects and the observer.

One `CoreContext` corresponds to one IREE HIP device: it owns the event pool and the
timepoint pool that every semaphore and queue of the device shares.

Lifecycle (each step a generator the platform runs, except the synchronous factories):
  initialize() -> create_semaphore()/create_queue() + queue.start() -> ... ->
  queue.shutdown() for each queue -> close().
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from model.core.defects import Defect
from model.core.effects import Gen
from model.core.pools import EventPool, InvariantError, TimepointPool
from model.core.semaphore import Semaphore
from model.core.status import InvalidArgumentError, StatusCode
from model.device import Device

if TYPE_CHECKING:
    from model.core.queue import Action, DeferredQueue

COMPLETION_MODES = ("callback", "thread")


class Observer:
    """Hooks the core calls as things happen (no-ops here; runners subclass it).

    Called while the platform's lock is held; implementations must not call the core.
    """

    def value_changed(self, sem: Semaphore, value: int, code: StatusCode) -> None:
        """The host-visible value advanced (code OK) or the semaphore failed."""

    def action_ready(self, queue: DeferredQueue, action: Action) -> None:
        """The action's waits are satisfied or bound; it joined a ready batch."""

    def action_issued(self, queue: DeferredQueue, action: Action) -> None:
        """The worker is about to launch the action's work on the queue's stream."""

    def action_finished(self, queue: DeferredQueue, action: Action) -> None:
        """The action completed, failed or was cancelled (see `action.status`)."""


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """Core settings; defaults are the seed's."""

    event_pool_capacity: int = 32
    timepoint_pool_capacity: int = 32
    max_wait_events: int = 32
    completion: str = "callback"

    def __post_init__(self) -> None:
        for name in ("event_pool_capacity", "timepoint_pool_capacity", "max_wait_events"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgumentError(f"setting {name} must be an int >= 0, got {value!r}")
        if self.completion not in COMPLETION_MODES:
            raise InvalidArgumentError(
                f"setting completion must be one of {COMPLETION_MODES}, got {self.completion!r}"
            )


class CoreContext:
    """Everything the semaphores and queues of one device share."""

    def __init__(self, device: Device, settings: CoreSettings | None = None,
                 defects: Iterable[Defect] = (), observer: Observer | None = None) -> None:
        self.device = device
        self.settings = settings or CoreSettings()
        self.defects = frozenset(defects)
        self.observer = observer or Observer()
        self.event_pool = EventPool(device, self.settings.event_pool_capacity,
                                    Defect.REUSE_DESTROYED_EVENT in self.defects,
                                    Defect.ACQUIRE_ERROR_HALF_TAKEN in self.defects)
        self.timepoint_pool = TimepointPool(self.settings.timepoint_pool_capacity)
        self.semaphores: dict[str, Semaphore] = {}
        self.queues: dict[str, DeferredQueue] = {}
        # Set once a device call answered a fatal HIP error (the device is lost).
        self.lost: tuple[StatusCode, str] | None = None

    def lose(self, code: StatusCode, message: str) -> None:
        """The device is lost: fail every parked and ready action of every queue with
        `code`; later submissions fail at once (DESIGN.md, Faults). The first loss wins."""
        if self.lost is not None:
            return
        self.lost = (code, message)
        for queue in self.queues.values():
            queue.fail_parked(code, f"device lost: {message}")

    def initialize(self) -> Gen[None]:
        yield from self.event_pool.initialize()

    def create_semaphore(self, name: str, initial: int = 0) -> Semaphore:
        if name in self.semaphores:
            raise InvalidArgumentError(f"semaphore {name!r} already exists")
        sem = Semaphore(self, name, initial)
        self.semaphores[name] = sem
        return sem

    def create_queue(self, name: str) -> DeferredQueue:
        from model.core.queue import DeferredQueue

        if name in self.queues:
            raise InvalidArgumentError(f"queue {name!r} already exists")
        queue = DeferredQueue(self, name)
        self.queues[name] = queue
        return queue

    def close(self) -> Gen[None]:
        """Destroy pooled events (after every queue was shut down)."""
        yield from self.event_pool.close()
        self.timepoint_pool.close()

    def check_invariants(self) -> None:
        """Raise InvariantError listing every broken invariant of pools, semaphores, queues."""
        problems: list[str] = []
        for check in (self.event_pool.check_invariants, self.timepoint_pool.check_invariants):
            try:
                check()
            except InvariantError as error:
                problems.append(str(error))
        for sem in self.semaphores.values():
            problems += sem.invariant_problems()
        for queue in self.queues.values():
            problems += queue.invariant_problems()
        if problems:
            raise InvariantError("; ".join(problems))
