"""Effects: what a core generator asks its platform to do.

The core never blocks. A worker loop, a completion loop, a host wait or a pool that must
create an event is a generator; it yields one of the effects below and is resumed with the
effect's answer:

  Call(name, args)  -> the device method's return value (it may block: synchronize_event,
                       destroy_stream); the platform charges its cost and makes the call.
  WaitFor(flag, deadline) -> True once `flag` is set, False if `deadline` expired first.
  Yield()           -> None, after letting other host threads run (a scheduling point).

Drivers of the core (scenario actors) also use `HostOp` and `Sleep`; the core never does.

`Flag` is the core's only wake-up primitive: the core sets it while holding the platform's
lock; the platform subscribes to learn of it. Invariant: a subscriber added to a set flag
is called at once, so no wake-up is lost between a check and a subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

T = TypeVar("T")


class Flag:
    """A level-triggered wake-up: `set()` wakes every subscriber once; `clear()` re-arms."""

    __slots__ = ("_subscribers", "is_set", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.is_set = False
        self._subscribers: list[Callable[[], None]] = []

    def set(self) -> None:
        self.is_set = True
        subscribers, self._subscribers = self._subscribers, []
        for notify in subscribers:
            notify()

    def clear(self) -> None:
        self.is_set = False

    def subscribe(self, notify: Callable[[], None]) -> None:
        """Call `notify` once when the flag is set (at once if it is set now)."""
        if self.is_set:
            notify()
        else:
            self._subscribers.append(notify)

    def unsubscribe(self, notify: Callable[[], None]) -> None:
        if notify in self._subscribers:
            self._subscribers.remove(notify)

    def __repr__(self) -> str:
        return f"Flag({self.name!r}, set={self.is_set})"


class Deadline:
    """A timeout the platform turns into an absolute time on first use.

    `timeout_us` None means forever. `expires_at` belongs to the platform (its clock).
    """

    __slots__ = ("expires_at", "timeout_us")

    def __init__(self, timeout_us: float | None) -> None:
        self.timeout_us = timeout_us
        self.expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """Make device call `name(*args)` from this host thread and send back its result."""

    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class WaitFor:
    """Park until `flag` is set (True) or `deadline` expires (False)."""

    flag: Flag
    deadline: Deadline | None = None


@dataclass(frozen=True, slots=True)
class Yield:
    """Let other host threads run before resuming (the platform's scheduling point)."""


@dataclass(frozen=True, slots=True)
class HostOp:
    """Charge the host-side cost of one API operation (drivers only; the core never does).

    Simulation charges `Timing.host_op_us`; on hardware the real call's cost is the cost.
    """


@dataclass(frozen=True, slots=True)
class Sleep:
    """Sleep `us` microseconds on this host thread (scenario actors only, never the core)."""

    us: float


Effect: TypeAlias = Call | WaitFor | Yield | HostOp | Sleep
Gen: TypeAlias = Generator[Effect, Any, T]


def drive_sync(gen: Gen[T]) -> T:
    """Run a generator that is expected to need no effect (tests, pure helpers).

    Raises RuntimeError naming the effect if the generator yields one.
    """
    try:
        effect = next(gen)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    raise RuntimeError(f"generator needed effect {effect!r}; run it on a platform")
