"""The SimPy device: the HIP runtime subset of `model.device.Device`, simulated.

Time unit: microseconds of simulated time (`env.now`).

Every protocol method is an *instantaneous* Python call: it takes no simulated time. The
platform that drives the core charges `timing.cost(op, env.rng)` before it makes each call.
Blocking calls have SimPy versions for the platform: `synchronize_event_async` and
`destroy_stream_async` return a `simpy.Event` to yield. Called directly, the blocking
methods succeed when they would not block and otherwise raise `DeviceError` (a Python
call cannot block in simulation).

Rules modelled (numbered as in DESIGN.md, "HIP semantics the model must reproduce"):

1. An event refers to its most recent record: `record_event` enqueues a new marker on the
   stream and points the event at it; waits made earlier keep the old marker.
2. A never-recorded event is an empty set of work: `query_event` is True,
   `synchronize_event` returns at once and `stream_wait_event` enqueues nothing.
3. `stream_wait_event` snapshots the event's current marker; later re-records do not
   change what the stream waits for.
4. `destroy_event` returns at once; markers already enqueued, and waits on them, still
   complete. Any later use of the destroyed event raises `DeviceError`.
5. A host function runs `callback_latency_us` after all earlier work of its stream is
   done, on the device's ONE host-function thread (FIFO, one at a time, each body
   `host_function_us`); its stream runs nothing else until it returns.
6. Every device call made while a host function runs is a violation: it is counted in
   `host_function_api_calls`, logged in `host_function_api_call_log`, and still takes
   effect as in HIP (which does not check). A `DeviceError` raised inside a host function
   is recorded in `host_function_errors` and ends that function; other exceptions
   propagate out of `env.run()`.
7. Each stream is one SimPy process running its commands in order; streams are
   independent except through event markers.
8. Destroying a stream waits until its queued work is done (`destroy_stream_async`).

Faults (docs/faults.md). With a `FaultInjector` armed (`arm_faults`), every injectable
call first runs one check (`_inject`): once the device is lost every call but a destroy
answers the lost error; otherwise the injector says whether this occurrence of the call
fails; otherwise a call that names a stream in the error state answers that error. A
work fault is sticky on its stream: when the stream finishes the faulted work, the
stream enters the error state (`SimStream.error`); from then on it executes nothing
more: later work is skipped (no span), every later record makes a marker that completes
with the error, later waits are not executed; host functions still run (HIP documents
no skipping for hipLaunchHostFunc, docs/faults.md), and destroy_stream still succeeds.
A stream that waits on a marker that completed with an error is poisoned once (its next
record carries the error) and does not enter the error state itself: stickiness belongs
to the stream whose work failed. Query/synchronize of an event whose marker completed
with an error answer it. After the device is lost, streams skip the work they have not
started, every later marker completes with the lost error, and host functions still run
(so that a completion hand-off is never lost). Every injected fault, every call refused
by a stream's error ("sticky") and every execute whose work an errored stream skipped
("skipped") is logged in `fault_hits` (ground truth).

Invariant: a stream's `pending` counts the commands enqueued on it and not yet finished;
a marker's `done` event is triggered exactly when its stream reaches it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

from model.core.hip_errors import FATAL_ERRORS, HipCallError
from model.core.status import DeviceError, InvalidArgumentError
from model.device import WorkItem
from model.faults import FaultInjector, FaultPlan
from model.scenario.record import HOST_FUNCTION_TRACK, FaultHit, Span
from model.sim.env import SeededEnvironment
from model.sim.timing import Timing

WorkHook = Callable[[str, str, float], None]  # (work tag, stream label, time in µs)


@dataclass(eq=False, slots=True)
class _Marker:
    """One record of an event: `done` triggers when its stream reaches it."""

    name: str  # "<event>@<record number>", e.g. "e3@2"
    done: simpy.Event
    after: str | None = None  # tag of the last work launched on the stream before it
    error: str | None = None  # HIP error it completed with (a fault), None: success

    @property
    def completed(self) -> bool:
        return bool(self.done.triggered)


@dataclass(frozen=True, slots=True)
class _Work:
    item: WorkItem


@dataclass(frozen=True, slots=True)
class _Record:
    marker: _Marker


@dataclass(frozen=True, slots=True)
class _Wait:
    marker: _Marker


@dataclass(frozen=True, slots=True)
class _HostFn:
    fn: Callable[[], None]


@dataclass(frozen=True, slots=True)
class _End:
    done: simpy.Event | None


_Command = _Work | _Record | _Wait | _HostFn | _End


@dataclass(frozen=True, slots=True)
class _HostCall:
    fn: Callable[[], None]
    stream: str
    done: simpy.Event


class _Mailbox:
    """A FIFO a SimPy process takes from: no SimPy event while items are waiting.

    (simpy.Store costs two events per item; streams are the simulation's hot path.)
    """

    __slots__ = ("_env", "_items", "_waiter")

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self._items: deque[Any] = deque()
        self._waiter: simpy.Event | None = None

    def put(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.succeed()

    def __len__(self) -> int:
        return len(self._items)

    def pop(self) -> Any:
        return self._items.popleft()

    def take(self) -> Generator[simpy.Event, Any, Any]:
        while not self._items:
            self._waiter = self._env.event()
            yield self._waiter
        return self._items.popleft()


class SimStream:
    """A stream handle. `state` is "live", "closing" (being destroyed) or "destroyed"."""

    __slots__ = ("commands", "error", "label", "last_launched", "last_waited", "last_work",
                 "pending", "poison", "state", "unrecorded")

    def __init__(self, label: str, commands: _Mailbox) -> None:
        self.label = label
        self.commands = commands
        self.pending = 0
        self.state = "live"
        self.last_launched: str | None = None  # work launched and not yet followed by a record
        # Fault bookkeeping: the last work launched, that work until a record follows it,
        # the work the last waited marker follows, and the error the next record carries.
        self.last_work: str | None = None
        self.unrecorded: str | None = None
        self.last_waited: str | None = None
        self.poison: str | None = None
        # The sticky error state: the HIP error of work that failed on this stream (None:
        # none). Set when the stream finishes the faulted work; never cleared.
        self.error: str | None = None

    def __repr__(self) -> str:
        return f"SimStream({self.label}, {self.state}, pending={self.pending})"


class SimEvent:
    """An event handle; `marker` is its most recent record (None: never recorded)."""

    __slots__ = ("destroyed", "marker", "name", "records")

    def __init__(self, name: str) -> None:
        self.name = name
        self.marker: _Marker | None = None
        self.records = 0
        self.destroyed = False

    def __repr__(self) -> str:
        state = "destroyed" if self.destroyed else f"records={self.records}"
        return f"SimEvent({self.name}, {state})"


class SimDevice:
    """The simulated HIP runtime (see the module docstring for the rules it models)."""

    def __init__(self, env: SeededEnvironment, timing: Timing | None = None, *,
                 record: bool = True) -> None:
        self.env = env
        self.timing = timing if timing is not None else Timing()
        # False: keep no per-work observation (spans, work_times, stream_order stay
        # empty); the simulation itself is unchanged. Capacity planning uses it.
        self.record = record
        t = self.timing
        self._callback_latency_us = float(t.callback_latency_us)
        self._host_function_us = float(t.host_function_us)
        # Rule 6 accounting.
        self.host_function_api_calls = 0
        self.host_function_api_call_log: list[str] = []
        self.host_function_errors: list[str] = []
        # Observation.
        self.work_times: dict[str, tuple[float, float]] = {}
        self.stream_order: dict[str, list[str]] = {}
        # Device-call observation: per stream the order work was launched; per work tag
        # when it was launched and when the record_event that followed it was made.
        self.launch_order: dict[str, list[str]] = {}
        self.launched_us: dict[str, float] = {}
        self.recorded_us: dict[str, float] = {}
        self.spans: list[Span] = []
        self.events_created = 0
        self.events_destroyed = 0
        self.records_made = 0  # record_event calls
        self.streams_created = 0
        self.streams_destroyed = 0
        self.on_work_start: WorkHook | None = None
        self.on_work_end: WorkHook | None = None
        # Faults (module docstring): the armed injector, what it injected, the loss.
        self.faults: FaultInjector | None = None
        self.fault_hits: list[FaultHit] = []
        self.lost_error: str | None = None
        self.lost_answered_us: float | None = None  # first fatal answer to a call
        self.lost_us: float | None = None
        self._lose_at: tuple[float, str] | None = None

        self._streams: set[SimStream] = set()
        self._host_queue = _Mailbox(env)
        self._host_context: str | None = None  # label of the stream whose fn is running
        env.process(self._host_thread())

    # ----------------------------------------------------------------- observation

    @property
    def in_host_function(self) -> bool:
        """True while a host function body is executing (rule 6)."""
        return self._host_context is not None

    @property
    def live_events(self) -> int:
        return self.events_created - self.events_destroyed

    @property
    def live_streams(self) -> int:
        return self.streams_created - self.streams_destroyed

    def quiescent(self) -> bool:
        """True when no stream has queued or running work (host functions included)."""
        return all(s.pending == 0 for s in self._streams)

    # ---------------------------------------------------------------- streams

    def create_stream(self, label: str = "") -> SimStream:
        """hipStreamCreate. Labels are unique: a repeated one gets a "#<n>" suffix."""
        if self._host_context is not None:
            self._api(f"create_stream({label!r})")
        n = self.streams_created
        name = label or f"stream{n}"
        if name in self.stream_order:
            name = f"{name}#{n}"
        stream = SimStream(name, _Mailbox(self.env))
        self.streams_created += 1
        self._streams.add(stream)
        self.stream_order[name] = []
        self.launch_order[name] = []
        self.env.process(self._run_stream(stream))
        return stream

    def destroy_stream(self, stream: SimStream) -> None:
        """hipStreamDestroy of an idle stream; raises `DeviceError` if it would block."""
        if self._host_context is not None:
            self._api(f"destroy_stream({_label(stream)})")
        s = self._stream(stream)
        if s.pending:
            raise DeviceError(
                f"destroy_stream({s.label}) would block: {s.pending} command(s) still "
                "queued (use destroy_stream_async from a simulated host thread)"
            )
        self._finish_stream(s)
        s.commands.put(_End(None))  # lets the stream's process end

    def destroy_stream_async(self, stream: SimStream) -> simpy.Event:
        """hipStreamDestroy: the returned event fires once the queued work is done and
        the stream is destroyed (rule 8). The stream accepts no commands meanwhile."""
        if self._host_context is not None:
            self._api(f"destroy_stream({_label(stream)})")
        s = self._stream(stream)
        s.state = "closing"
        done = self.env.event()
        s.commands.put(_End(done))
        return done

    def launch_work(self, stream: SimStream, work: WorkItem) -> None:
        """Enqueue `work.duration_us` of device work (rule 7)."""
        if self._host_context is not None:
            self._api(f"launch_work({_label(stream)}, {work.tag})")
        s = self._stream(stream)
        if self.faults is not None:
            self._inject("launch_work", s, victims=(work.tag,))
        d = work.duration_us
        if not (math.isfinite(d) and d >= 0):
            raise InvalidArgumentError(f"work {work.tag!r}: duration_us must be >= 0, got {d!r}")
        s.last_work = s.unrecorded = work.tag
        if self.record:
            self.launch_order[s.label].append(work.tag)
            self.launched_us[work.tag] = float(self.env.now)
            s.last_launched = work.tag
        self._enqueue(s, _Work(work))

    def launch_host_func(self, stream: SimStream, fn: Callable[[], None]) -> None:
        """hipLaunchHostFunc (rule 5)."""
        if self._host_context is not None:
            self._api(f"launch_host_func({_label(stream)}, {_fn_name(fn)})")
        s = self._stream(stream)
        if self.faults is not None:
            self._inject("launch_host_func", s, victims=_tags(s.last_waited))
        if not callable(fn):
            raise InvalidArgumentError(f"launch_host_func: {fn!r} is not callable")
        self._enqueue(s, _HostFn(fn))

    # ---------------------------------------------------------------- events

    def create_event(self) -> SimEvent:
        """hipEventCreate: a new event is never recorded (rule 2)."""
        if self._host_context is not None:
            self._api("create_event()")
        if self.faults is not None:
            self._inject("create_event", None, victims=tuple(
                t for t in (x.unrecorded for x in self._streams) if t is not None))
        self.events_created += 1
        return SimEvent(f"e{self.events_created}")

    def destroy_event(self, event: SimEvent) -> None:
        """hipEventDestroy: returns at once; enqueued markers still complete (rule 4)."""
        if self._host_context is not None:
            self._api(f"destroy_event({_name(event)})")
        e = self._event(event)
        e.destroyed = True
        self.events_destroyed += 1

    def record_event(self, event: SimEvent, stream: SimStream) -> None:
        """hipEventRecord: a new marker at the tail of `stream` (rule 1)."""
        if self._host_context is not None:
            self._api(f"record_event({_name(event)}, {_label(stream)})")
        e = self._event(event)
        s = self._stream(stream)
        if self.faults is not None:
            self.records_made += 1  # an attempt counts: the pool acquired its event
            self._inject("record_event", s, victims=_tags(s.unrecorded))
            self.records_made -= 1
        e.records += 1
        self.records_made += 1
        e.marker = _Marker(f"{e.name}@{e.records}", self.env.event(), s.last_work)
        s.unrecorded = None
        if s.last_launched is not None:
            self.recorded_us.setdefault(s.last_launched, float(self.env.now))
            s.last_launched = None
        self._enqueue(s, _Record(e.marker))

    def stream_wait_event(self, stream: SimStream, event: SimEvent) -> None:
        """hipStreamWaitEvent: waits for the current marker (rule 3); none: no-op (rule 2)."""
        if self._host_context is not None:
            self._api(f"stream_wait_event({_label(stream)}, {_name(event)})")
        e = self._event(event)
        s = self._stream(stream)
        if self.faults is not None:
            self._inject("stream_wait_event", s, victims=_after(e))
        if e.marker is not None:
            s.last_waited = e.marker.after
            self._enqueue(s, _Wait(e.marker))

    def query_event(self, event: SimEvent) -> bool:
        """hipEventQuery: True when the current record is done, or there is none."""
        if self._host_context is not None:
            self._api(f"query_event({_name(event)})")
        e = self._event(event)
        if self.faults is not None:
            self._inject("query_event", None, victims=_after(e))
            if e.marker is not None and e.marker.completed and e.marker.error is not None:
                self._answered(e.marker.error)
                raise HipCallError("query_event", e.marker.error,
                                   f"query_event({e.name}) failed: {e.marker.error} "
                                   f"(device work before {e.marker.name} failed)")
        return e.marker is None or e.marker.completed

    def synchronize_event(self, event: SimEvent) -> None:
        """hipEventSynchronize of a complete event; raises `DeviceError` if it would block."""
        if self._host_context is not None:
            self._api(f"synchronize_event({_name(event)})")
        e = self._event(event)
        if e.marker is not None and not e.marker.completed:
            where = " inside a host function (a hang in HIP)" if self.in_host_function else ""
            raise DeviceError(
                f"synchronize_event({e.name}) would block{where}: {e.marker.name} is not "
                "complete (use synchronize_event_async from a simulated host thread)"
            )

    def synchronize_event_async(self, event: SimEvent) -> simpy.Event:
        """hipEventSynchronize: the returned event fires when the current record is done
        (at once if never recorded), rounded up to the spin granularity `sync_poll_us`."""
        if self._host_context is not None:
            self._api(f"synchronize_event({_name(event)})")
        e = self._event(event)
        if self.faults is not None:
            self._inject("synchronize_event", None, victims=_after(e))
        if e.marker is None or e.marker.completed:
            done: simpy.Event = self.env.event()
            if e.marker is not None and e.marker.error is not None:
                self._answered(e.marker.error)
                done.fail(_marker_error("synchronize_event", e.name, e.marker))
            else:
                done.succeed()
            return done
        return self.env.process(self._synchronize(e.marker))

    # ---------------------------------------------------------------- processes

    def _run_stream(self, s: SimStream) -> Generator[simpy.Event, Any, None]:
        env, record = self.env, self.record
        while True:
            cmd: _Command = s.commands.pop() if s.commands else (
                yield from s.commands.take())
            if isinstance(cmd, _End):
                self._finish_stream(s)
                if cmd.done is not None:
                    cmd.done.succeed()
                return
            if self.faults is not None:
                self.lost()
            if s.error is not None and not isinstance(cmd, _HostFn):
                self._skip(s, cmd)  # the stream's sticky error: it executes nothing more
            elif isinstance(cmd, _Work) and self.lost_error is not None:
                pass  # a lost device runs nothing it has not started
            elif isinstance(cmd, _Work):
                tag, start = cmd.item.tag, env.now
                if record:
                    self.stream_order[s.label].append(tag)
                if self.on_work_start is not None:
                    self.on_work_start(tag, s.label, start)
                if cmd.item.duration_us > 0:
                    yield env.timeout(cmd.item.duration_us)
                if record:
                    self.work_times[tag] = (start, env.now)
                    self.spans.append(
                        Span(s.label, tag, start, env.now, {"duration_us": cmd.item.duration_us})
                    )
                if self.on_work_end is not None:
                    self.on_work_end(tag, s.label, env.now)
                if self.faults is not None:
                    self._work_done(s, tag)
            elif isinstance(cmd, _Record):
                cmd.marker.error = s.poison or self.lost_error
                s.poison = None
                cmd.marker.done.succeed()
            elif isinstance(cmd, _Wait):
                if not cmd.marker.completed:
                    start = env.now
                    yield cmd.marker.done
                    if record:
                        self.spans.append(
                            Span(s.label, f"wait {cmd.marker.name}", start, env.now))
                s.poison = s.poison or cmd.marker.error
            else:  # _HostFn
                yield env.timeout(self._jittered(self._callback_latency_us))
                returned = env.event()
                self._host_queue.put(_HostCall(cmd.fn, s.label, returned))
                yield returned
            s.pending -= 1

    def _host_thread(self) -> Generator[simpy.Event, Any, None]:
        """The process-wide host-function thread: one function at a time, FIFO (rule 5)."""
        env = self.env
        while True:
            call: _HostCall = yield from self._host_queue.take()
            start = env.now
            self._host_context = call.stream
            try:
                call.fn()
            except DeviceError as exc:
                self.host_function_errors.append(
                    f"{_fn_name(call.fn)} (host function from stream {call.stream}) at "
                    f"{start:.1f}us: {exc}"
                )
            finally:
                self._host_context = None
            yield env.timeout(self._jittered(self._host_function_us))
            if self.record:
                self.spans.append(
                    Span(
                        HOST_FUNCTION_TRACK,
                        f"host function ({call.stream})",
                        start,
                        env.now,
                        {"stream": call.stream, "fn": _fn_name(call.fn)},
                    )
                )
            call.done.succeed()

    def _synchronize(self, marker: _Marker) -> Generator[simpy.Event, Any, None]:
        start = self.env.now
        yield marker.done
        if marker.error is not None:
            self._answered(marker.error)
            raise _marker_error("synchronize_event", marker.name.split("@")[0], marker)
        poll = self.timing.sync_poll_us
        if poll > 0:
            elapsed = self.env.now - start
            late = math.ceil(elapsed / poll - 1e-9) * poll - elapsed
            if late > 0:
                yield self.env.timeout(late)

    # ---------------------------------------------------------------- helpers

    # ----------------------------------------------------------------- faults

    def arm_faults(self, plan: FaultPlan, seed: int) -> None:
        """Start injecting `plan` (call counts start now; the loss is `at_us` from now)."""
        if not plan:
            return
        self.faults = FaultInjector(plan, seed)
        self.faults.arm()
        lost = plan.device_lost
        if lost is not None:  # noticed lazily (`lost`): a loss keeps no run alive
            self._lose_at = (float(self.env.now) + lost.at_us, lost.error)

    def lost(self) -> bool:
        """Whether the device is lost by now (the loss is logged when first noticed)."""
        if self.lost_error is None and self._lose_at is not None:
            at, error = self._lose_at
            if self.env.now >= at:
                self.lost_error, self.lost_us = error, at
                self.fault_hits.append(FaultHit("lost", "", 0, error, at))
        return self.lost_error is not None

    def _inject(self, call: str, stream: SimStream | None,
                victims: tuple[str, ...] = ()) -> None:
        """The one fault check of every injectable call (module docstring, Faults)."""
        if self.lost():
            assert self.lost_error is not None
            self._answered(self.lost_error)
            raise HipCallError(call, self.lost_error, f"{call} failed: {self.lost_error} "
                               f"(the device was lost at {self.lost_us:.1f}us)")
        assert self.faults is not None
        hit = self.faults.call_error(call)
        if hit is not None:
            n, error = hit
            label = stream.label if stream is not None else None
            self.fault_hits.append(FaultHit("call", call, n, error, float(self.env.now),
                                            label, victims))
            raise HipCallError(call, error,
                               f"{call} failed: {error} (injected fault: call #{n})")
        if stream is not None and stream.error is not None:
            self.fault_hits.append(FaultHit("sticky", call, 0, stream.error,
                                            float(self.env.now), stream.label, victims))
            raise HipCallError(call, stream.error, f"{call} failed: {stream.error} (stream "
                               f"{stream.label} is in the error state of failed work)")

    def _answered(self, error: str) -> None:
        """A call is about to answer `error`; the first fatal one is logged (ground truth
        of when the core was told that the device is gone)."""
        if error in FATAL_ERRORS and self.lost_answered_us is None:
            self.lost_answered_us = float(self.env.now)

    def _work_done(self, s: SimStream, tag: str) -> None:
        assert self.faults is not None
        error = self.faults.plan.work_error(tag)
        if error is not None:
            s.error = error  # sticky: the stream executes nothing more
            self.fault_hits.append(FaultHit("work", "", 0, error, float(self.env.now),
                                            s.label, (tag,)))

    def _skip(self, s: SimStream, cmd: _Command) -> None:
        """A command reached on a stream in the error state: nothing is executed; a
        record's marker completes with the error, skipped work is logged."""
        assert s.error is not None
        if isinstance(cmd, _Record):
            cmd.marker.error = s.error
            s.poison = None
            cmd.marker.done.succeed()
        elif isinstance(cmd, _Work):
            self.fault_hits.append(FaultHit("skipped", "launch_work", 0, s.error,
                                            float(self.env.now), s.label, (cmd.item.tag,)))

    def _jittered(self, base: float) -> float:
        """`Timing.cost` of a plain operation whose base cost is `base` (same draws)."""
        jitter = self.timing.jitter
        if jitter == 0 or base == 0:
            return base
        return base * self.env.rng.uniform(1.0 - jitter, 1.0 + jitter)

    def _api(self, call: str) -> None:
        """Account a device call; from host-function context it is a violation (rule 6)."""
        ctx = self._host_context
        if ctx is not None:
            self.host_function_api_calls += 1
            where = f"host function from stream {ctx}"
            self.host_function_api_call_log.append(f"{call} at {self.env.now:.1f}us ({where})")

    def _enqueue(self, s: SimStream, cmd: _Command) -> None:
        s.pending += 1
        s.commands.put(cmd)

    def _finish_stream(self, s: SimStream) -> None:
        if s.state != "destroyed":
            s.state = "destroyed"
            self.streams_destroyed += 1

    def _stream(self, stream: object) -> SimStream:
        if not isinstance(stream, SimStream) or stream not in self._streams:
            raise DeviceError(f"not a stream of this device: {stream!r}")
        if stream.state != "live":
            raise DeviceError(f"stream {stream.label} is {stream.state}")
        return stream

    def _event(self, event: object) -> SimEvent:
        if not isinstance(event, SimEvent):
            raise DeviceError(f"not an event: {event!r}")
        if event.destroyed:
            raise DeviceError(f"event {event.name} was destroyed")
        return event


def _tags(tag: str | None) -> tuple[str, ...]:
    return (tag,) if tag is not None else ()


def _after(e: SimEvent) -> tuple[str, ...]:
    """The work the event's current marker follows (a fault's victim), if any."""
    return _tags(e.marker.after if e.marker is not None else None)


def _marker_error(call: str, event: str, marker: _Marker) -> HipCallError:
    assert marker.error is not None
    return HipCallError(call, marker.error, f"{call}({event}) failed: {marker.error} "
                        f"(device work before {marker.name} failed)")


def _label(stream: object) -> str:
    return stream.label if isinstance(stream, SimStream) else repr(stream)


def _name(event: object) -> str:
    return event.name if isinstance(event, SimEvent) else repr(event)


def _fn_name(fn: object) -> str:
    """A stable name for a host function (no memory addresses, so traces repeat)."""
    inner = getattr(fn, "func", fn)  # functools.partial
    name = getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None)
    return str(name) if name else type(fn).__name__
