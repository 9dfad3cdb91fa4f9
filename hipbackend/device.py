"""HipDevice: the `model.device.Device` protocol over hip-python, with real threads.

Each protocol method is one HIP runtime call (hip-python, `from hip import hip`):
streams are hipStreamNonBlocking, events hipEventDisableTiming, waits use flags 0, and
host functions go through the ctypes trampoline of `hipbackend.hostfn`. Every HIP call
goes through `HipDevice._hip`, hence `hipbackend.errors.hip_check`. The runtime (CPU test
vehicle or ROCm) must be selected first: `hipbackend.runtime.select_runtime`.

Device work. `launch_work` has no kernels to run; it approximates `duration_us` with
hipMemsetAsync of a scratch buffer, `round(duration_us * bytes_per_us)` bytes, split into
scratch-sized pieces. On the CPU runtime, `bytes_per_us` is imposed through the runtime's
bandwidth knob, so the duration is deterministic; on ROCm it is calibrated once by timing
two memset sizes (the slope cancels launch overhead).

Observation (the happens-before check on hardware). `prepare_observation(tags)` allocates
a device "done" vector `D` of N bytes (one per execute tag) and an N x N matrix `M`, both
zero. For an observed execute i, `launch_work` enqueues, in stream order:
  1. hipMemcpyAsync(M[i, :] <- D)     snapshot: which executes were done when i started;
  2. the work memsets;
  3. hipMemsetAsync(D[i] <- 1)        i is done.
`read_observation()` synchronizes the device, copies `M` back and returns, per launched
execute, the set of executes already done when it started. If X happens-before Y through
stream order or events, X is in Y's set; X in Y's set implies X finished before Y began.
With `timing=True`, timing events around each observed execute's work give start/end
times in µs relative to a reference record made by `prepare_observation` (`read_work_times`;
the end event is recorded before the done flag is set, so X in Y's set implies
end(X) <= start(Y)), timing events around each stream wait on a recorded event give the
waits' device spans (`read_wait_times`), and `reference_window` / `clock_sample()` give
the host perf_counter window around the reference and around a later record, to align
device times with the host clock.

Device-call log (ground truth for the checker, host perf_counter seconds):
`launched_at[tag]` when `launch_work` of `tag` was called, `recorded_at[tag]` when the
`record_event` that followed that work on the same stream returned, `launch_order` (alias
`stream_order`) per stream the tags in launch order, `host_function_runs` each host
function's (stream, name, start, end).

Rule 6. A method called while the calling thread runs a host function launched by
hipbackend is a violation: it is logged in `host_function_api_call_log` and counted.
`host_function_calls="refuse"` (default) then raises `HostFunctionApiCallError`
(PERMISSION_DENIED) without calling HIP; `"record"` performs the call as HIP would (HIP
does not check; a blocking call may deadlock, as on ROCm), and on the CPU runtime switches
the runtime's process-wide policy to perform such calls too. On the CPU runtime,
`host_function_api_calls` also counts HIP calls made from host functions outside
HipDevice (e.g. direct hip-python calls); on ROCm only HipDevice calls can be seen.

Blocking methods: `synchronize_event`, `destroy_stream`, `close`, `read_*` block the
calling thread in HIP with the GIL released, so host functions keep running.
Thread-safety: methods may be called from several host threads at once; bookkeeping is
under one lock, HIP calls are made outside it.

Faults (docs/faults.md): `arm_faults(plan, seed, now)` injects a scenario's fault plan
through the CPU runtime's knobs (`hipbackend.faults.HipFaults`); `disarm_faults()` stops
it, lets the device drain and takes the runtime's fault log. Each injectable method
makes one check first (`_fault`). With a plan armed, each launch starts with an empty
memset tagged with the launch's cookie, and a faulted execute's launch ends with an
empty memset armed to fail, which puts the stream into its sticky error state when the
runtime has run the work; a call the runtime then refuses with the stream's error is
logged (`_refused`). Query and synchronize answer a failed record's error from the
runtime itself.

Invariant: every stream, event and buffer HipDevice created is released exactly once, by
`destroy_*`, by `close()`, or at the latest by the `weakref.finalize` safety net.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hipbackend import hostfn
from hipbackend._hip import hip
from hipbackend.errors import HipError, HostFunctionApiCallError, hip_check, hip_ready
from hipbackend.faults import HipFaults
from hipbackend.runtime import RuntimeInfo, active_runtime, select_runtime
from model.core.status import DeviceError, InvalidArgumentError, StatusCode
from model.device import WorkItem
from model.faults import FaultPlan

logger = logging.getLogger(__name__)

DEFAULT_CPU_BYTES_PER_US = 1000.0  # 1 GB/s: 100 µs of work is a 100 kB memset
DEFAULT_CPU_SCRATCH_BYTES = 16 << 20
DEFAULT_ROCM_SCRATCH_BYTES = 256 << 20
HostFunctionPolicy = Literal["refuse", "record"]
_D2D = hip.hipMemcpyKind.hipMemcpyDeviceToDevice
_D2H = hip.hipMemcpyKind.hipMemcpyDeviceToHost


class HipStream:
    """A stream handle; `state` is "live", "closing" or "destroyed"."""

    __slots__ = ("handle", "label", "last_launched", "state")

    def __init__(self, handle: Any, label: str) -> None:
        self.handle = handle
        self.label = label
        self.state = "live"
        self.last_launched: str | None = None  # work tag not yet followed by a record

    def __repr__(self) -> str:
        return f"HipStream({self.label}, {self.state})"


class HipEvent:
    """An event handle; `records` counts hipEventRecord calls made on it."""

    __slots__ = ("destroyed", "handle", "name", "records")

    def __init__(self, handle: Any, name: str) -> None:
        self.handle = handle
        self.name = name
        self.records = 0
        self.destroyed = False

    def __repr__(self) -> str:
        state = "destroyed" if self.destroyed else f"records={self.records}"
        return f"HipEvent({self.name}, {state})"


@dataclass
class _Resources:
    """What the device must release; shared with the finalizer, never refers to it.

    Tables are keyed by the HIP handle's address, unique while the HIP object lives.
    """

    streams: dict[int, Any] = field(default_factory=dict)
    events: dict[int, Any] = field(default_factory=dict)
    buffers: dict[int, Any] = field(default_factory=dict)  # device address -> hip ptr
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, table: dict[int, Any], handle: Any) -> None:
        with self.lock:
            table[int(handle)] = handle

    def take(self, table: dict[int, Any], key: int) -> Any:
        with self.lock:
            return table.pop(key, None)

    def release(self) -> None:
        """Destroy streams (blocking, rule 8), then events, then free buffers.

        If the garbage collector runs the finalizer inside a host function, the release
        moves to a helper thread: HIP calls must not be made there (rule 6).
        """
        if hostfn.current_host_function() is not None:
            threading.Thread(target=self.release, name="HipDevice release", daemon=True).start()
            return
        for call, table, fn in (
            ("hipStreamDestroy", self.streams, hip.hipStreamDestroy),
            ("hipEventDestroy", self.events, hip.hipEventDestroy),
            ("hipFree", self.buffers, hip.hipFree),
        ):
            with self.lock:
                handles = list(table.values())
                table.clear()
            for handle in handles:
                try:
                    hip_check(fn(handle), call)
                except Exception:
                    logger.exception("%s failed while releasing HipDevice resources", call)


@dataclass
class _Observation:
    tags: list[str]
    index: dict[str, int]
    done: int  # device address of the done vector (N bytes)
    matrix: int  # device address of the N x N matrix
    launched: dict[str, int] = field(default_factory=dict)  # tag -> launch count
    reference: Any = None  # timing event recorded at prepare time
    # perf_counter just before the reference record and just after its synchronize.
    reference_window: tuple[float, float] | None = None
    times: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # tag -> events
    # Stream waits on recorded events: (stream, "wait <event>@<record>", perf_counter just
    # before the wait call, timing event before the wait, timing event after it).
    waits: list[tuple[str, str, float, Any, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HostFunctionRun:
    """One host function as it ran: its stream, its name, perf_counter start and end."""

    stream: str
    fn: str
    start: float
    end: float


class HipDevice:
    """`model.device.Device` over hip-python (see the module docstring)."""

    def __init__(
        self,
        runtime: RuntimeInfo | str | None = None,
        *,
        bytes_per_us: float | None = None,
        scratch_bytes: int | None = None,
        host_function_calls: HostFunctionPolicy = "refuse",
    ) -> None:
        if host_function_calls not in ("refuse", "record"):
            raise InvalidArgumentError(
                f"host_function_calls must be 'refuse' or 'record', got {host_function_calls!r}"
            )
        self.runtime = _resolve_runtime(runtime)
        self.host_function_policy: HostFunctionPolicy = host_function_calls
        self.host_function_api_call_log: list[str] = []
        self.host_function_errors: list[str] = []
        self.stream_order: dict[str, list[str]] = {}  # per stream: tags in launch order
        self.launched_at: dict[str, float] = {}
        self.recorded_at: dict[str, float] = {}
        self.host_function_runs: list[HostFunctionRun] = []
        self.events_created = 0
        self.events_destroyed = 0
        self.records_made = 0  # record_event calls (the observation's own are not counted)
        self.streams_created = 0
        self.streams_destroyed = 0
        self._lock = threading.Lock()
        self._res = _Resources()
        self._finalizer = weakref.finalize(self, self._res.release)
        self._closed = False
        self._violations = 0  # HipDevice methods called from host functions
        self._own_hip_in_host_fn = 0  # HIP calls HipDevice made from host functions
        self._adjust = 0
        self._observation: _Observation | None = None
        self._private_stream: Any = None
        self._private_lock = threading.Lock()
        self.faults: HipFaults | None = None
        cpu = self.runtime.cpu
        guard = self.runtime.host_function_guard  # CPU or CUDA runtime's rule-6 counter
        self._cpu_baseline = guard.host_function_api_calls() if guard is not None else 0
        if guard is not None and host_function_calls == "record":
            guard.allow_host_function_calls = True  # process-wide
        default_scratch = DEFAULT_CPU_SCRATCH_BYTES if cpu else DEFAULT_ROCM_SCRATCH_BYTES
        self.scratch_bytes = int(scratch_bytes or default_scratch)
        self._scratch = self._malloc(self.scratch_bytes)
        self.bytes_per_us = self._init_bandwidth(bytes_per_us)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Destroy every stream (blocking), event and buffer; idempotent."""
        self._guard("close")
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._observation = None
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def launch_order(self) -> dict[str, list[str]]:
        """Per stream, the work tags in the order `launch_work` was called (the same
        dict as `stream_order`; named as the SimPy device's)."""
        return self.stream_order

    def __enter__(self) -> HipDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ rule 6

    @property
    def host_function_api_calls(self) -> int:
        """Device calls made from host-function context (see module docstring)."""
        guard = self.runtime.host_function_guard
        outside = 0
        if guard is not None:
            delta = guard.host_function_api_calls() - self._cpu_baseline
            outside = max(0, delta - self._own_hip_in_host_fn)
        return self._violations + outside + self._adjust

    @host_function_api_calls.setter
    def host_function_api_calls(self, value: int) -> None:
        self._adjust += value - self.host_function_api_calls

    # ------------------------------------------------------------------ streams

    def create_stream(self, label: str = "") -> HipStream:
        """hipStreamCreateWithFlags(hipStreamNonBlocking). A repeated label gets "#<n>"."""
        self._guard("create_stream", label)
        self._check_open()
        handle = self._hip("hipStreamCreateWithFlags", hip.hipStreamNonBlocking)
        with self._lock:
            n = self.streams_created
            name = label or f"stream{n}"
            if name in self.stream_order:
                name = f"{name}#{n}"
            stream = HipStream(handle, name)
            self.streams_created += 1
            self.stream_order[name] = []
        self._res.add(self._res.streams, handle)
        return stream

    def destroy_stream(self, stream: HipStream) -> None:
        """hipStreamDestroy: blocks until the stream's work is done (rule 8)."""
        self._guard("destroy_stream", stream)
        s = self._live_stream(stream)
        with self._lock:
            s.state = "closing"
        self._res.take(self._res.streams, int(s.handle))
        self._hip("hipStreamDestroy", s.handle)
        with self._lock:
            s.state = "destroyed"
            self.streams_destroyed += 1

    def launch_work(self, stream: HipStream, work: WorkItem) -> None:
        """Memsets approximating `work.duration_us`, wrapped in observation if prepared."""
        self._guard("launch_work", stream, work.tag)
        s = self._live_stream(stream)
        if self._fault("launch_work", s.label, (work.tag,)):
            self._hip("hipMemsetAsync", self._scratch, 0, 1, s.handle)  # answers the fault
        if not (math.isfinite(work.duration_us) and work.duration_us >= 0):
            raise InvalidArgumentError(
                f"work {work.tag!r}: duration_us must be finite and >= 0, "
                f"got {work.duration_us!r}"
            )
        called = time.perf_counter()
        try:
            self._launch_commands(s, work)
        except HipError as error:
            self._refused("launch_work", s, (work.tag,), error)
            raise
        with self._lock:
            self.stream_order[s.label].append(work.tag)
            self.launched_at[work.tag] = called
            s.last_launched = work.tag
        if self.faults is not None:
            self.faults.launched(s.label, work.tag)

    def _launch_commands(self, s: HipStream, work: WorkItem) -> None:
        """Enqueue the work's commands. With faults armed, the first is an empty memset
        tagged with the launch's cookie (the runtime's fault log names skipped work by
        it) and, for a faulted execute, a last empty memset armed to fail: the stream
        enters its error state when it has run the work (docs/faults.md)."""
        cookie, error = (self.faults.launching(s.label, work.tag) if self.faults is not None
                         else (0, 0))
        cpu = self.runtime.cpu
        if cookie:
            assert cpu is not None  # faults are armed only on the CPU runtime
            cpu.tag_next_command(int(s.handle), cookie)
            self._hip("hipMemsetAsync", self._scratch, 0, 0, s.handle)
        obs = self._observation
        row = obs.index.get(work.tag) if obs is not None else None
        if obs is not None and row is not None:
            self._observe_start(obs, s, work.tag, row)
        self._busy(s, work.duration_us)
        if obs is not None and row is not None:
            self._observe_end(obs, s, work.tag, row)
        if error:
            assert cpu is not None
            cpu.fail_next_command(int(s.handle), error)
            cpu.tag_next_command(int(s.handle), cookie)
            self._hip("hipMemsetAsync", self._scratch, 0, 0, s.handle)

    def launch_host_func(self, stream: HipStream, fn: Callable[[], None]) -> None:
        """hipLaunchHostFunc through the trampoline; `fn` stays alive until it has run."""
        self._guard("launch_host_func", stream, _fn_name(fn))
        s = self._live_stream(stream)
        if not callable(fn):
            raise InvalidArgumentError(f"launch_host_func: {fn!r} is not callable")
        victims = self.faults.stream_victims(s.label) if self.faults is not None else ()
        injected = self._fault("launch_host_func", s.label, victims)
        name = _fn_name(fn)
        token = hostfn.register(_timed(fn, s.label, name, self.host_function_runs, self._lock),
                                f"{name} on {s.label}", self._host_fn_failed)
        try:
            self._hip("hipLaunchHostFunc", s.handle, hostfn.TRAMPOLINE_ADDRESS, token)
        except BaseException as error:
            hostfn.unregister(token)
            if isinstance(error, HipError) and not injected:
                self._refused("launch_host_func", s, victims, error)
            raise

    # ------------------------------------------------------------------ events

    def create_event(self) -> HipEvent:
        """hipEventCreateWithFlags(hipEventDisableTiming): never recorded (rule 2)."""
        self._guard("create_event")
        self._check_open()
        if self.faults is not None:
            self._fault("create_event", None, self.faults.victims_of_create())
        handle = self._hip("hipEventCreateWithFlags", hip.hipEventDisableTiming)
        with self._lock:
            self.events_created += 1
            event = HipEvent(handle, f"e{self.events_created}")
        self._res.add(self._res.events, handle)
        return event

    def destroy_event(self, event: HipEvent) -> None:
        """hipEventDestroy: returns at once; pending waits still complete (rule 4)."""
        self._guard("destroy_event", event)
        e = self._live_event(event)
        with self._lock:
            e.destroyed = True
            self.events_destroyed += 1
        self._res.take(self._res.events, int(e.handle))
        self._hip("hipEventDestroy", e.handle)

    def record_event(self, event: HipEvent, stream: HipStream) -> None:
        """hipEventRecord: the event now refers to a new marker at the tail of `stream`."""
        self._guard("record_event", event, stream)
        e, s = self._live_event(event), self._live_stream(stream)
        victims = _tags(s.last_launched)
        injected = self._fault("record_event", s.label, victims)
        try:
            self._hip("hipEventRecord", e.handle, s.handle)
        except HipError as error:
            with self._lock:
                self.records_made += 1  # an attempt counts: the pool acquired its event
            if not injected:
                self._refused("record_event", s, victims, error)
            raise
        if self.faults is not None:
            self.faults.recorded(e.name, s.label)
        returned = time.perf_counter()
        with self._lock:
            e.records += 1
            self.records_made += 1
            if s.last_launched is not None:
                self.recorded_at.setdefault(s.last_launched, returned)
                s.last_launched = None

    def stream_wait_event(self, stream: HipStream, event: HipEvent) -> None:
        """hipStreamWaitEvent(flags 0): snapshot of the current record; none: no-op."""
        self._guard("stream_wait_event", stream, event)
        s, e = self._live_stream(stream), self._live_event(event)
        victims = self.faults.event_victims(e.name) if self.faults is not None else ()
        injected = self._fault("stream_wait_event", s.label, victims)
        try:
            self._wait_commands(s, e)
        except HipError as error:
            if not injected:
                self._refused("stream_wait_event", s, victims, error)
            raise
        if self.faults is not None:
            self.faults.waited(s.label, e.name)

    def _wait_commands(self, s: HipStream, e: HipEvent) -> None:
        obs = self._observation
        if obs is None or obs.reference is None or e.records == 0:
            self._hip("hipStreamWaitEvent", s.handle, e.handle, 0)
            return
        before, after = self._timing_event(), self._timing_event()
        with self._lock:
            obs.waits.append((s.label, f"wait {e.name}@{e.records}", time.perf_counter(),
                              before, after))
        self._hip("hipEventRecord", before, s.handle)
        self._hip("hipStreamWaitEvent", s.handle, e.handle, 0)
        self._hip("hipEventRecord", after, s.handle)

    def query_event(self, event: HipEvent) -> bool:
        """hipEventQuery: True when the current record is done or there is none."""
        self._guard("query_event", event)
        e = self._live_event(event)
        if self.faults is not None:
            self._fault("query_event", None, self.faults.event_victims(e.name))
        self._count_own_hip_call()
        try:
            return hip_ready(hip.hipEventQuery(e.handle), "hipEventQuery")
        except HipError as error:
            self._answered(error)
            raise

    def synchronize_event(self, event: HipEvent) -> None:
        """hipEventSynchronize: blocks (GIL released) until the current record is done."""
        self._guard("synchronize_event", event)
        e = self._live_event(event)
        if self.faults is not None:
            self._fault("synchronize_event", None, self.faults.event_victims(e.name))
        self._hip("hipEventSynchronize", e.handle)

    # ------------------------------------------------------------------ faults

    def arm_faults(self, plan: FaultPlan, seed: int, now: Callable[[], float]) -> None:
        """Inject `plan` from now on (docs/faults.md); `now()` stamps the fault log."""
        if plan:
            self.faults = HipFaults(self.runtime.cpu, plan, seed, now)

    def disarm_faults(self) -> None:
        """Stop injecting (the runtime's lost state is cleared), let the device drain and
        take the runtime's fault log into `faults.hits` (docs/faults.md)."""
        if self.faults is not None:
            self.faults.disarm(self._drain)

    def _drain(self) -> None:
        """Wait until every stream is idle (whatever the device answers: a synchronize
        only waits here; errors are the fault log's business)."""
        self._count_own_hip_call()
        hip.hipDeviceSynchronize()

    def _refused(self, call: str, s: HipStream, victims: tuple[str, ...],
                 error: HipError) -> None:
        """A HIP call naming stream `s` failed without an injected fault: the stream's
        error state may have refused it (logged as "sticky")."""
        if self.faults is not None:
            self.faults.refused(call, s.label, int(s.handle), victims, error)

    def _fault(self, call: str, stream: str | None, victims: tuple[str, ...]) -> bool:
        """The one fault check of an injectable method: True if the runtime is armed to
        fail the method's next HIP call."""
        return self.faults is not None and self.faults.before(call, stream, victims)

    # ------------------------------------------------------------------ observation

    def prepare_observation(self, tags: Sequence[str], *, timing: bool = False) -> None:
        """Allocate the done vector and matrix for `tags` (replacing earlier ones)."""
        self._guard("prepare_observation", len(tags))
        self._check_open()
        if len(set(tags)) != len(tags):
            raise InvalidArgumentError(f"prepare_observation: duplicate tags in {tags!r}")
        self._drop_observation()
        n = len(tags)
        done, matrix = self._malloc(max(n, 1)), self._malloc(max(n * n, 1))
        self._hip("hipMemset", done, 0, max(n, 1))
        self._hip("hipMemset", matrix, 0, max(n * n, 1))
        obs = _Observation(list(tags), {t: i for i, t in enumerate(tags)}, done, matrix)
        if timing:
            obs.reference = self._timing_event()
            stream = self._scratch_stream()
            before = time.perf_counter()
            self._hip("hipEventRecord", obs.reference, stream)
            self._hip("hipEventSynchronize", obs.reference)  # t0 precedes later work
            obs.reference_window = (before, time.perf_counter())
        self._observation = obs

    @property
    def reference_window(self) -> tuple[float, float] | None:
        """perf_counter just before the timing reference was recorded and just after its
        synchronize returned: the reference's device time 0 lies in this window."""
        obs = self._observation
        return obs.reference_window if obs is not None else None

    def clock_sample(self) -> tuple[float, float, float]:
        """Record a timing event now and synchronize it: (perf_counter before the record,
        perf_counter after the synchronize, its device time in µs since the reference).
        Needs `prepare_observation(..., timing=True)`. Blocks."""
        self._guard("clock_sample")
        obs = self._require_observation()
        if obs.reference is None:
            raise DeviceError("clock_sample needs prepare_observation(..., timing=True)")
        event, stream = self._timing_event(), self._scratch_stream()
        try:
            before = time.perf_counter()
            self._hip("hipEventRecord", event, stream)
            self._hip("hipEventSynchronize", event)
            after = time.perf_counter()
            elapsed = self._hip("hipEventElapsedTime", obs.reference, event)
        finally:
            self._destroy_timing_event(event)
        return before, after, float(elapsed) * 1000.0

    def read_observation(self) -> dict[str, set[str]]:
        """Per launched observed execute: the executes done when it started (blocks)."""
        self._guard("read_observation")
        obs = self._require_observation()
        n = len(obs.tags)
        self._hip("hipDeviceSynchronize")
        if n == 0:
            return {}
        buf = bytearray(n * n)
        self._hip("hipMemcpy", buf, obs.matrix, n * n, _D2H)
        return {
            tag: {obs.tags[j] for j in range(n) if buf[obs.index[tag] * n + j]}
            for tag in obs.launched
        }

    def read_done(self) -> set[str]:
        """Observed executes whose work has completed (blocks until the device is idle)."""
        self._guard("read_done")
        obs = self._require_observation()
        self._hip("hipDeviceSynchronize")
        buf = bytearray(max(len(obs.tags), 1))
        self._hip("hipMemcpy", buf, obs.done, len(buf), _D2H)
        return {t for i, t in enumerate(obs.tags) if buf[i]}

    def read_work_times(self) -> dict[str, tuple[float, float]]:
        """(start_us, end_us) per observed execute, relative to prepare_observation's
        reference record; needs `prepare_observation(..., timing=True)`. Blocks."""
        self._guard("read_work_times")
        obs = self._require_observation()
        if obs.reference is None:
            raise DeviceError("read_work_times needs prepare_observation(..., timing=True)")
        self._hip("hipDeviceSynchronize")
        out = {}
        for tag, (start, end) in obs.times.items():
            times = self._elapsed(obs.reference, start, end)
            if times is not None:
                out[tag] = times
        return out

    def _elapsed(self, reference: Any, start: Any, end: Any) -> tuple[float, float] | None:
        """Device µs of two timing events after `reference`; None if a fault kept one
        from being recorded (only once faults were armed: otherwise the error raises)."""
        try:
            t0 = self._hip("hipEventElapsedTime", reference, start)
            t1 = self._hip("hipEventElapsedTime", reference, end)
        except HipError:
            if self.faults is None:
                raise
            return None
        return float(t0) * 1000.0, float(t1) * 1000.0

    def read_wait_times(self) -> list[tuple[str, str, float, float, float]]:
        """Stream waits on recorded events, in call order: (stream, "wait <event>@<n>",
        perf_counter just before the wait call, device µs when the stream reached the
        wait, device µs when it passed it), device times relative to the reference.
        Needs `prepare_observation(..., timing=True)`. Blocks."""
        self._guard("read_wait_times")
        obs = self._require_observation()
        if obs.reference is None:
            raise DeviceError("read_wait_times needs prepare_observation(..., timing=True)")
        self._hip("hipDeviceSynchronize")
        with self._lock:
            waits = list(obs.waits)
        out = []
        for label, name, called, before, after in waits:
            times = self._elapsed(obs.reference, before, after)
            if times is not None:
                out.append((label, name, called, *times))
        return out

    def calibrate_bytes_per_us(self, repeats: int = 5) -> float:
        """Measure memset throughput on this device (bytes per µs) from two sizes."""
        stream = self._scratch_stream()
        sizes = (self.scratch_bytes // 4, self.scratch_bytes)

        def timed(nbytes: int) -> float:
            t0 = time.perf_counter()
            self._hip("hipMemsetAsync", self._scratch, 0, nbytes, stream)
            self._hip("hipStreamSynchronize", stream)
            return (time.perf_counter() - t0) * 1e6

        timed(sizes[1])  # warm-up
        small = statistics.median(timed(sizes[0]) for _ in range(repeats))
        large = statistics.median(timed(sizes[1]) for _ in range(repeats))
        if large - small <= 0:
            return sizes[1] / max(large, 1e-3)
        return (sizes[1] - sizes[0]) / (large - small)

    # ------------------------------------------------------------------ internals

    def _hip(self, call: str, *args: Any) -> Any:
        """Make one HIP call through hip-python and `hip_check` its result."""
        self._count_own_hip_call()
        try:
            return hip_check(getattr(hip, call)(*args), call)
        except HipError as error:
            self._answered(error)
            raise

    def _answered(self, error: HipError) -> None:
        """A HIP call is about to answer `error`: the first fatal one is logged (ground
        truth of when the core was told that the device is gone)."""
        if error.fatal and self.faults is not None:
            self.faults.answered_lost()

    def _count_own_hip_call(self) -> None:
        if hostfn.current_host_function() is not None:
            with self._lock:
                self._own_hip_in_host_fn += 1

    def _guard(self, call: str, *args: object) -> None:
        """Account (and by default refuse) a call from host-function context (rule 6)."""
        where = hostfn.current_host_function()
        if where is None:
            return
        desc = f"{call}({', '.join(_describe(a) for a in args)}) (host function {where})"
        with self._lock:
            self.host_function_api_call_log.append(desc)
            self._violations += 1
        if self.host_function_policy == "refuse":
            raise HostFunctionApiCallError(
                f"{desc}: device calls from a host function are not allowed "
                "(DESIGN.md rule 6)"
            )

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceError("HipDevice is closed", StatusCode.FAILED_PRECONDITION)

    def _live_stream(self, stream: object) -> HipStream:
        self._check_open()
        if (
            not isinstance(stream, HipStream)
            or stream.state != "live"
            or int(stream.handle) not in self._res.streams
        ):
            raise DeviceError(f"not a live stream of this device: {stream!r}")
        return stream

    def _live_event(self, event: object) -> HipEvent:
        self._check_open()
        if (
            not isinstance(event, HipEvent)
            or event.destroyed
            or int(event.handle) not in self._res.events
        ):
            raise DeviceError(f"not a live event of this device: {event!r}")
        return event

    def _host_fn_failed(self, label: str, exc: BaseException) -> None:
        with self._lock:
            self.host_function_errors.append(f"{label}: {type(exc).__name__}: {exc}")

    def _malloc(self, nbytes: int) -> int:
        ptr = self._hip("hipMalloc", nbytes)
        self._res.add(self._res.buffers, ptr)
        return int(ptr)

    def _free(self, address: int) -> None:
        ptr = self._res.take(self._res.buffers, address)
        if ptr is not None:
            self._hip("hipFree", ptr)

    def _timing_event(self) -> Any:
        """A timing-enabled event for observation, owned by the resources table."""
        handle = self._hip("hipEventCreateWithFlags", hip.hipEventDefault)
        self._res.add(self._res.events, handle)
        return handle

    def _destroy_timing_event(self, handle: Any) -> None:
        self._res.take(self._res.events, int(handle))
        self._hip("hipEventDestroy", handle)

    def _scratch_stream(self) -> Any:
        """A private stream for internal records and calibration (created on demand)."""
        with self._private_lock:
            if self._private_stream is None:
                handle = self._hip("hipStreamCreateWithFlags", hip.hipStreamNonBlocking)
                self._res.add(self._res.streams, handle)
                self._private_stream = handle
            return self._private_stream

    def _busy(self, s: HipStream, duration_us: float) -> None:
        if duration_us <= 0:
            return  # a barrier: no device work at all
        remaining = max(1, round(duration_us * self.bytes_per_us))
        while remaining > 0:
            chunk = min(remaining, self.scratch_bytes)
            self._hip("hipMemsetAsync", self._scratch, 0, chunk, s.handle)
            remaining -= chunk

    def _observe_start(self, obs: _Observation, s: HipStream, tag: str, row: int) -> None:
        n = len(obs.tags)
        self._hip("hipMemcpyAsync", obs.matrix + row * n, obs.done, n, _D2D, s.handle)
        with self._lock:
            obs.launched[tag] = obs.launched.get(tag, 0) + 1
        if obs.reference is not None:
            if tag not in obs.times:
                obs.times[tag] = (self._timing_event(), self._timing_event())
            self._hip("hipEventRecord", obs.times[tag][0], s.handle)

    def _observe_end(self, obs: _Observation, s: HipStream, tag: str, row: int) -> None:
        # The end event precedes the done flag: "X done when Y began" implies end(X) <=
        # start(Y) (Y's start event follows its snapshot of the done vector).
        if obs.reference is not None:
            self._hip("hipEventRecord", obs.times[tag][1], s.handle)
        self._hip("hipMemsetAsync", obs.done + row, 1, 1, s.handle)

    def _require_observation(self) -> _Observation:
        self._check_open()
        if self._observation is None:
            raise DeviceError("no observation prepared: call prepare_observation(tags) first")
        return self._observation

    def _drop_observation(self) -> None:
        obs, self._observation = self._observation, None
        if obs is None:
            return
        self._hip("hipDeviceSynchronize")
        for start, end in obs.times.values():
            self._destroy_timing_event(start)
            self._destroy_timing_event(end)
        for _, _, _, before, after in obs.waits:
            self._destroy_timing_event(before)
            self._destroy_timing_event(after)
        if obs.reference is not None:
            self._destroy_timing_event(obs.reference)
        self._free(obs.done)
        self._free(obs.matrix)

    def _init_bandwidth(self, bytes_per_us: float | None) -> float:
        if bytes_per_us is not None and not (math.isfinite(bytes_per_us) and bytes_per_us > 0):
            raise InvalidArgumentError(f"bytes_per_us must be > 0, got {bytes_per_us!r}")
        cpu = self.runtime.cpu
        if cpu is not None:
            bw = bytes_per_us or DEFAULT_CPU_BYTES_PER_US
            cpu.bandwidth = bw  # process-wide knob of the CPU runtime
            return bw
        return bytes_per_us or self.calibrate_bytes_per_us()


def _resolve_runtime(runtime: RuntimeInfo | str | None) -> RuntimeInfo:
    if isinstance(runtime, RuntimeInfo):
        return runtime
    if isinstance(runtime, str):
        return select_runtime(runtime)
    active = active_runtime()
    if active is None:
        raise DeviceError(
            "no HIP runtime selected: call hipbackend.runtime.select_runtime('cpu' or "
            "'rocm') before creating a HipDevice",
            StatusCode.FAILED_PRECONDITION,
        )
    return active


def _timed(fn: Callable[[], None], stream: str, name: str, runs: list[HostFunctionRun],
           lock: threading.Lock) -> Callable[[], None]:
    """`fn`, logging its start and end (perf_counter) in `runs` when it has run."""

    def host_function() -> None:
        start = time.perf_counter()
        try:
            fn()
        finally:
            end = time.perf_counter()
            with lock:
                runs.append(HostFunctionRun(stream, name, start, end))

    host_function.__qualname__ = name
    return host_function


def _tags(tag: str | None) -> tuple[str, ...]:
    return (tag,) if tag is not None else ()


def _describe(obj: object) -> str:
    if isinstance(obj, HipStream):
        return obj.label
    if isinstance(obj, HipEvent):
        return obj.name
    return repr(obj) if isinstance(obj, str) else str(obj)


def _fn_name(fn: object) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial
    return str(getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None) or fn)
