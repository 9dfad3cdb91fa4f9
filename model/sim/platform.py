"""The SimPy platform: runs core generators as simulated host threads.

Each core generator (a worker loop, a completion loop, a host actor's wait) becomes part
of a SimPy process. The platform interprets the core's effects (`model.core.effects`):

  Call     charge `Timing.cost(name)` of simulated time, then make the device call;
           synchronize_event and destroy_stream wait on the device's SimPy events. A
           HIP error the device answers (`HipCallError`, an injected fault) is thrown
           into the generator at its yield; any other exception is a crash.
  WaitFor  wait on the core `Flag` (subscribed through a one-shot SimPy event), bounded
           by the `Deadline`, which is stamped with `env.now + timeout` on first use.
  Yield    let other processes run for one `host_op` cost.
  HostOp   charge one `host_op` cost (a semaphore signal, query or execute call).
  Sleep    wait the given simulated time.

With `coalesce_calls=True` (an opt-in modelling approximation, used by capacity planning
only) a non-blocking `Call` is charged and made as usual, but the non-blocking calls that
follow it at once in the same generator take effect right after it, with no simulated time
between them, and their summed cost is charged as ONE timeout afterwards (before the
generator's next other effect, or before a `record_event` or `launch_host_func`, which
thus take effect exactly when they would without coalescing); create_event and
destroy_event are still charged in place, before they take effect. In callback mode a
worker's issue (launch, record, stream wait, host function) becomes three timeouts
instead of four, the callback stream's wait taking effect its cost (≈ 2 µs) early; an
action with k bound waits saves k more. It hides the call-level interleavings
between host threads that the property suite and `hipsem run` explore, so it is off by
default.

SimPy runs one process at a time and switches only at a `yield`, so the core's monitor
rule (one entry at a time) holds without a lock. Time unit: microseconds.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import simpy

from model.core.effects import Call, Deadline, Effect, Flag, Gen, HostOp, Sleep, WaitFor, Yield
from model.core.hip_errors import HipCallError
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.timing import OPS

T = TypeVar("T")
SimGen = Generator[simpy.Event, Any, T]

_BLOCKING = {
    "synchronize_event": "synchronize_event_async",
    "destroy_stream": "destroy_stream_async",
}

# With coalesce_calls, still charged in place (before the call, as in `drive`): planning
# measures the time pools spend creating and destroying events (instrument.py).
_SOLO = frozenset({"create_event", "destroy_event"})
# With coalesce_calls, the chain's deferred cost is charged before these calls, so that
# they take effect when they would without coalescing: a record is followed by the
# publication of its event (a timepoint acquired), and a host function's start decides
# when the completion loop retires the action (its event and timepoints released).
_FLUSH = frozenset({"record_event", "launch_host_func"})


class SimPlatform:
    """Executes core effects in a `SeededEnvironment` against a `SimDevice`."""

    def __init__(self, env: SeededEnvironment, device: SimDevice, *,
                 coalesce_calls: bool = False) -> None:
        self.env = env
        self.device = device
        self.coalesce_calls = coalesce_calls
        self.timing = device.timing
        self._base = {op: float(getattr(self.timing, f"{op}_us")) for op in OPS}
        # Platform observation: (flag name, parked from, woken at) of every WaitFor that
        # blocked, for the flags named here (None: observe none).
        self.observe_flags: frozenset[str] | None = None
        self.parked: list[tuple[str, float, float]] = []
        self.parked_open: dict[str, float] = {}  # flag name -> parked since (still parked)

    def spawn(self, gen: Gen[Any]) -> simpy.Process:
        """Run a core generator as its own simulated host thread."""
        return self.env.process(self.drive(gen))

    def drive(self, gen: Gen[T]) -> SimGen[T]:
        """Run a core generator inside the calling process (use with `yield from`).

        Device calls and already-set flags, the common effects, are handled inline (this
        loop is the simulation's hot path); the others go through `perform`.
        """
        if self.coalesce_calls:
            return (yield from self._drive_coalesced(gen))
        env, device, cost, blocking = self.env, self.device, self.cost, _BLOCKING
        fast_forward = env.fast_forward
        send = gen.send
        answer: Any = None
        error: HipCallError | None = None
        while True:
            try:
                effect = send(answer) if error is None else gen.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            error = None
            if type(effect) is Call:
                charge = cost(effect.name)
                if not fast_forward(charge):  # alone in the simulation: no event needed
                    yield simpy.Timeout(env, charge)
                wait_for = blocking.get(effect.name)
                try:  # a HIP error the device answered goes back to the caller (faults)
                    if wait_for is None:
                        answer = getattr(device, effect.name)(*effect.args)
                    else:
                        yield getattr(device, wait_for)(*effect.args)
                        answer = None
                except HipCallError as failed:
                    error, answer = failed, None
            elif type(effect) is WaitFor and effect.flag.is_set:
                answer = True
            else:
                answer = yield from self.perform(effect)

    def _drive_coalesced(self, gen: Gen[T]) -> SimGen[T]:
        """`drive` with the calls that follow a non-blocking call charged as one timeout
        (see the module docstring)."""
        env, device, cost, blocking = self.env, self.device, self.cost, _BLOCKING
        fast_forward = env.fast_forward
        send = gen.send
        answer: Any = None
        effect: Any = None
        pending = False  # `effect` was received and is not handled yet
        while True:
            if not pending:
                try:
                    effect = send(answer)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            pending = False
            if type(effect) is Call and effect.name not in blocking:
                # The first call as in `drive`: its cost, then its effect.
                charge = cost(effect.name)
                if not fast_forward(charge):
                    yield simpy.Timeout(env, charge)
                answer = getattr(device, effect.name)(*effect.args)
                total = 0.0
                while True:  # the calls right after it: made now, charged afterwards
                    try:
                        effect = send(answer)
                    except StopIteration as stop:
                        if total and not fast_forward(total):
                            yield simpy.Timeout(env, total)
                        return stop.value  # type: ignore[no-any-return]
                    if type(effect) is not Call or effect.name in blocking:
                        pending = True
                        break
                    if effect.name in _SOLO:  # charged in place, before it takes effect
                        charge = cost(effect.name)
                        if not fast_forward(charge):
                            yield simpy.Timeout(env, charge)
                    elif effect.name in _FLUSH:  # the chain so far, then this call
                        charge = total + cost(effect.name)
                        if not fast_forward(charge):
                            yield simpy.Timeout(env, charge)
                        total = 0.0
                    else:
                        total += cost(effect.name)
                    answer = getattr(device, effect.name)(*effect.args)
                if total and not fast_forward(total):
                    yield simpy.Timeout(env, total)
            elif type(effect) is Call:
                charge = cost(effect.name)
                if not fast_forward(charge):
                    yield simpy.Timeout(env, charge)
                yield getattr(device, blocking[effect.name])(*effect.args)
                answer = None
            elif type(effect) is WaitFor and effect.flag.is_set:
                answer = True
            else:
                answer = yield from self.perform(effect)

    def cost(self, op: str) -> float:
        """`Timing.cost(op)` with the run's generator (plain costs looked up once)."""
        base = self._base.get(op)
        if base is None:
            return self.timing.cost(op, self.env.rng)
        jitter = self.timing.jitter
        if jitter == 0 or base == 0:
            return base
        return base * self.env.rng.uniform(1.0 - jitter, 1.0 + jitter)

    def host_cost(self, op: str = "host_op") -> simpy.Timeout:
        return simpy.Timeout(self.env, self.cost(op))

    def perform(self, effect: Effect) -> SimGen[Any]:
        if isinstance(effect, Call):
            return (yield from self._call(effect))
        if isinstance(effect, WaitFor):
            return (yield from self._wait(effect.flag, effect.deadline))
        if isinstance(effect, (Yield, HostOp)):
            yield self.host_cost()
            return None
        if isinstance(effect, Sleep):
            yield self.env.timeout(effect.us)
            return None
        raise TypeError(f"unknown effect {effect!r}")

    def _call(self, call: Call) -> SimGen[Any]:
        """One call outside `drive` (coalesced mode, perform); a HIP error propagates."""
        yield self.host_cost(call.name)
        blocking = _BLOCKING.get(call.name)
        if blocking is None:
            return getattr(self.device, call.name)(*call.args)
        yield getattr(self.device, blocking)(*call.args)
        return None

    def _wait(self, flag: Flag, deadline: Deadline | None) -> SimGen[bool]:
        if flag.is_set:
            return True
        observed = self.observe_flags is not None and flag.name in self.observe_flags
        start = float(self.env.now)
        if observed:
            self.parked_open[flag.name] = start
        try:
            return (yield from self._block(flag, deadline))
        finally:
            if observed:
                self.parked_open.pop(flag.name, None)
                self.parked.append((flag.name, start, float(self.env.now)))

    def _block(self, flag: Flag, deadline: Deadline | None) -> SimGen[bool]:
        woken = self.env.event()

        def notify() -> None:
            if not woken.triggered:
                woken.succeed()

        flag.subscribe(notify)
        if deadline is None or deadline.timeout_us is None:
            yield woken
            return True
        if deadline.expires_at is None:
            deadline.expires_at = self.env.now + deadline.timeout_us
        timer = self.env.timeout(max(0.0, deadline.expires_at - self.env.now))
        yield woken | timer
        if woken.triggered:
            return True
        flag.unsubscribe(notify)
        return False
