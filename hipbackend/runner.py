"""Run a scenario on the HIP backend: the real core over hip-python, on real threads.

The same core, the same actors (`model.scenario.actors`) and the same recorder as the
SimPy runner; only the platform (`hipbackend.platform.ThreadPlatform`) and the device
(`hipbackend.device.HipDevice`) differ. Times are host-clock microseconds since the run
started (`_now()`).

Ground truth from the device. For an execute, `start_us`/`end_us` are the DEVICE times of
its work (timing events around it, `HipDevice.read_work_times`), aligned to the host
clock: the device's reference event is recorded and synchronized at set-up between two
host readings, and its device time 0 is put at their midpoint; a second sample at the end
of the run measures drift. `record.clock_tolerance_us` bounds the error (half the
reference window, the drift the end sample cannot explain, and the timer resolution). The
core's own issue and retire times stay as `issue_us`/`retire_us`. `stream_order[q]` is the
executes of q's stream in order of device start time; `issue_order[q]` the order their
`launch_work` calls were made; `launched_us`/`recorded_us` the host times of the launch
call and of the return of the record_event that followed the work on its stream; spans
show device work and stream waits on the queues' streams and each host-function run on
the "host-function thread" track, as the SimPy backend's. The observation matrix
(`RunRecord.observed_before`: per execute, the executes whose work was done when its work
began) stays too. `record.scheduling_tolerance_us` is the platform's
`SCHEDULING_TOLERANCE_US`.

A run ends when it has settled: every actor has finished or waits forever on a condition
nobody can satisfy any more (no action is ready, being issued or in flight, so no
completion can signal anything); those waits are reported PENDING. Teardown then abandons them,
shuts the queues down and closes the pools, as in simulation.

Crashes, as in simulation (model/sim/runner.py): an exception raised while driving the run
under test (set-up, an actor, a worker or completion loop, a host function's core code,
teardown, the post-run reads of the core's state) is recorded as `record.crash` (the
first one); the run stops waiting at once, teardown runs on a helper thread that is
aborted if it does not finish within `CRASH_TEARDOWN_S`, the threads are joined with
timeouts, and conservation accounting is skipped. Thread names double as the crash's
`where` ("actor h0", "queue q0 worker", ...). A `RecorderError` raised on any thread is
an internal error of hipsem: `run()` re-raises it once the run is torn down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hipbackend.platform import SCHEDULING_TOLERANCE_US, Abandoned, ThreadPlatform
from model.core.context import CoreContext, CoreSettings, Observer
from model.core.defects import Defect
from model.device import Device
from model.scenario.actors import Actor, core_settings
from model.scenario.record import RunRecord, Span
from model.scenario.recorder import Recorder, RecorderError
from model.scenario.trace import HOST_FUNCTION_TRACK
from model.scenario.types import Execute, Scenario

if TYPE_CHECKING:
    from hipbackend.device import HipDevice
    from hipbackend.runtime import RuntimeInfo

log = logging.getLogger(__name__)

# Builds the core context of a run, as `model.sim.runner.ContextFactory` (any device).
HipContextFactory = Callable[[Any, CoreSettings, Iterable[Defect], Observer], CoreContext]

POLL_S = 0.005
# Resolution of hipEventElapsedTime: about 1 µs on ROCm (CUDA documents 0.5 µs); the CPU
# runtime reads CLOCK_MONOTONIC (ns). Both return float32 milliseconds, whose spacing
# grows with the elapsed time (`_float32_step_us`), so that is added too.
TIMER_RESOLUTION_US = 1.0
# Clock samples taken at set-up and again at the end of the run (`_align`).
CLOCK_SAMPLES = 5
# A stream wait shows as a span when the stream was held for longer than this past the
# later of "reached the wait" and "the wait call was made" (shorter: it did not block).
WAIT_SPAN_MIN_US = 1.0

DeviceFactory = Callable[["RuntimeInfo"], "HipDevice"]
PlatformFactory = Callable[[Device], ThreadPlatform]
RecorderFactory = Callable[..., Recorder]  # arguments as Recorder's
JOIN_S = 5.0  # per thread, at teardown
TEARDOWN_S = 60.0  # the whole teardown of a run that did not crash
CRASH_TEARDOWN_S = 1.0  # after a crash: a dead worker never drains its queue


class HipRun:
    """One run of a scenario on the HIP backend; `run()` returns its `RunRecord`."""

    def __init__(self, scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
                 runtime: str = "cpu", limit_s: float = 60.0, *,
                 context_factory: HipContextFactory | None = None,
                 device_factory: DeviceFactory | None = None,
                 platform_factory: PlatformFactory | None = None,
                 recorder_factory: RecorderFactory | None = None) -> None:
        """`context_factory` (default CoreContext) builds the core under test; the other
        factories (defaults HipDevice, ThreadPlatform, Recorder) let a test run the core
        over a deliberately broken device, platform or value log."""
        from hipbackend.device import HipDevice
        from hipbackend.runtime import select_runtime

        self.scenario = scenario
        info = select_runtime(runtime)
        self.device = (device_factory or HipDevice)(info)
        self.platform = (platform_factory or ThreadPlatform)(self.device)
        self.platform.on_crash = self._thread_crashed
        self._t0 = time.perf_counter()
        make_recorder = recorder_factory or Recorder
        self.recorder = make_recorder(scenario, f"hip-{runtime}", seed, self._now)
        self.recorder.device_times = True  # issue/retire times stay extra fields
        # Host-clock intervals that must hold the host time of the device's time 0, one
        # per clock sample (`_align`).
        self._offsets: list[tuple[float, float]] = []
        make = context_factory or CoreContext
        # Building the core is part of the run under test (a crash in `setup`).
        try:
            ctx = self.recorder.build_core(
                lambda: make(self.device, core_settings(scenario), defects, self.recorder))
        except RecorderError:
            self.device.close()
            raise
        self._init_crashed = ctx is None
        if ctx is not None:
            self.ctx = ctx
        self.limit_s = limit_s
        self._actors: list[threading.Thread] = []
        self._actor_of: dict[str, Actor] = {}  # thread name -> actor

    def _now(self) -> float:
        return (time.perf_counter() - self._t0) * 1e6

    def _host_us(self, perf_counter_s: float) -> float:
        """A perf_counter reading (the device's call log) on the run's host clock."""
        return (perf_counter_s - self._t0) * 1e6

    @property
    def record(self) -> RunRecord:
        return self.recorder.record

    def run(self) -> RunRecord:
        if self._init_crashed:
            self.device.close()
            self.recorder.frozen = True
            return self.record
        try:
            self._attempt("setup", self._setup)
            if not self._broken():
                self._wait_until_settled()
            self._snapshot()
            self._teardown()
            with self.platform.lock:
                self._attempt("teardown", self.recorder.snapshot_teardown, self.ctx)
            if self.record.crash is None:
                self._attempt("conservation check", self._check_conservation)
            else:  # teardown could not finish: report the pools, skip the accounting
                self._attempt("conservation check", self.recorder.set_pools, self.ctx)
        finally:
            self.device.close()
        if self.platform.internal_errors:
            raise self.platform.internal_errors[0]
        return self.record

    def _broken(self) -> bool:
        """The run crashed, or hipsem's recorder failed: stop waiting, tear down fast."""
        return self.record.crash is not None or bool(self.platform.internal_errors)

    def _thread_crashed(self, where: str, error: Exception) -> None:
        """`ThreadPlatform.on_crash` (called with the lock held)."""
        actor = self._actor_of.get(where)
        self.recorder.crashed(error, where, actor.current if actor is not None else None)

    def _attempt(self, where: str, fn: Callable[..., Any], *args: Any) -> None:
        """A step of the run on the main thread; a raise is a crash (`Recorder.attempt`)."""
        self.recorder.attempt(where, fn, *args, lock=self.platform.lock)

    def _setup(self) -> None:
        tags = [op.id for _, _, op in self.scenario.ops() if isinstance(op, Execute)]
        self.device.prepare_observation(tags, timing=True)
        window = self.device.reference_window
        assert window is not None
        self._offsets.append((self._host_us(window[0]), self._host_us(window[1])))
        self._clock_samples()
        p, ctx = self.platform, self.ctx
        p.drive(ctx.initialize())
        for name, initial in self.scenario.semaphores.items():
            p.locked(ctx.create_semaphore, name, initial)
        queues = [p.locked(ctx.create_queue, name) for name in self.scenario.queues]
        for queue in queues:
            p.drive(queue.start())
        # Faults count from here: the pool fill and stream creation are never faulted.
        self.device.arm_faults(self.scenario.faults, self.record.seed, self._now)
        for name, queue in zip(self.scenario.queues, queues, strict=True):
            p.spawn(queue.worker(), f"queue {name} worker")
            p.spawn(queue.completion(), f"queue {name} completion")
        for name, ops in self.scenario.actors.items():
            actor = Actor(ctx, self.recorder, name, ops)
            self._actor_of[f"actor {name}"] = actor
            self._actors.append(p.spawn(actor.run(), f"actor {name}"))

    def _settled(self) -> bool:
        """Nothing can happen any more: every live actor waits forever on a flag not yet
        set, and no action is ready, being issued or in flight (so no completion, hence no
        signal, can come)."""
        with self.platform.lock:
            alive = [t for t in self._actors if t.is_alive()]
            if not self.platform.parked_forever(alive):
                return False
            stats = [q.statistics() for q in self.ctx.queues.values()]
            return not any(s.ready or s.in_flight for s in stats)

    def _wait_until_settled(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._settled():
            if self._broken():
                return
            if time.monotonic() > deadline:
                self.record.conservation_problems.append(
                    f"the run did not settle within {self.limit_s} s")
                return
            time.sleep(POLL_S)

    def _snapshot(self) -> None:
        rec, dev, record = self.recorder, self.device, self.recorder.record
        with self.platform.lock:
            self._attempt("snapshot", rec.snapshot_semaphores, self.ctx)
            launched = {q: list(dev.launch_order.get(q, [])) for q in self.scenario.queues}
            record.issue_order = launched
            record.launched_us = {t: self._host_us(s) for t, s in dev.launched_at.items()}
            record.recorded_us = {t: self._host_us(s) for t, s in dev.recorded_at.items()}
            record.sim_time_us = self._now()
            rec.frozen = True
        self.device.disarm_faults()  # the device reads below must not be faulted
        faults = self.device.faults
        if faults is not None:
            record.faults, record.device_lost_us = list(faults.hits), faults.lost_us
            record.lost_answered_us = faults.lost_answered_us
        # Device reads block (hipDeviceSynchronize): outside the monitor, so that host
        # functions (which enter it) can still run.
        self._attempt("snapshot", self._read_device, launched)
        record.host_function_api_calls = list(dev.host_function_api_call_log)
        record.host_function_api_calls += dev.host_function_errors
        record.scheduling_tolerance_us = SCHEDULING_TOLERANCE_US

    def _read_device(self, launched: dict[str, list[str]]) -> None:
        self.record.observed_before = self.device.read_observation()
        self._device_times(launched)
        self.recorder.derive_flows()

    def _device_times(self, launched: dict[str, list[str]]) -> None:
        """Execute times, stream orders, spans and the clock tolerance from the device."""
        dev, record = self.device, self.record
        raw = dev.read_work_times()
        waits = dev.read_wait_times()
        self._clock_samples()
        ref, tolerance = self._align()
        times = {tag: (ref + a, ref + b) for tag, (a, b) in raw.items()}
        self.recorder.set_work_times(times)
        durations = {op.id: op.duration_us for _, _, op in self.scenario.ops()
                     if isinstance(op, Execute)}
        for queue, tags in launched.items():
            ran = [(times[t][0], i, t) for i, t in enumerate(tags) if t in times]
            record.stream_order[queue] = [t for _, _, t in sorted(ran)]
        spans = [Span(q, t, *times[t], {"duration_us": durations.get(t, 0.0)})
                 for q, tags in launched.items() for t in tags if t in times]
        for stream, name, called, reached, passed in waits:
            start = max(ref + reached, self._host_us(called))
            if ref + passed - start > WAIT_SPAN_MIN_US:
                spans.append(Span(stream, name, start, ref + passed))
        for run in list(dev.host_function_runs):
            spans.append(Span(HOST_FUNCTION_TRACK, f"host function ({run.stream})",
                              self._host_us(run.start), self._host_us(run.end),
                              {"stream": run.stream, "fn": run.fn}))
        record.spans = sorted(spans, key=lambda s: (s.start_us, s.track, s.name))
        largest = max([0.0, *(b for _, b in raw.values())], key=abs)
        record.clock_tolerance_us = (tolerance + TIMER_RESOLUTION_US
                                     + _float32_step_us(largest))

    def _clock_samples(self) -> None:
        """CLOCK_SAMPLES records on the device, each bracketed by host readings: the
        device's time 0 was at host time in [before - d, after - d]."""
        for _ in range(CLOCK_SAMPLES):
            before, after, device_us = self.device.clock_sample()
            self._offsets.append((self._host_us(before) - device_us,
                                  self._host_us(after) - device_us))

    def _align(self) -> tuple[float, float]:
        """(host time of the device's time 0, how far it may be off).

        Every sample's interval holds the true offset if the clocks do not drift, so the
        offset is the middle of their intersection and the error half its width. A
        scheduling delay only widens one sample's interval, so one quick sample at each
        end of the run is enough. If the intersection is empty (drift, or the device
        clock is not steady), the middle of the gap is within half the gap of every
        sample: that half-gap is the error."""
        lo = max(a for a, _ in self._offsets)
        hi = min(b for _, b in self._offsets)
        return (lo + hi) / 2, abs(hi - lo) / 2

    def _teardown(self) -> None:
        """Teardown on a helper thread, aborted if it overruns (a crashed core may never
        drain a queue); then every thread is joined with a timeout."""
        crashed = self._broken()
        helper = threading.Thread(target=self._teardown_steps, name="teardown", daemon=True)
        helper.start()
        helper.join(CRASH_TEARDOWN_S if crashed else TEARDOWN_S)
        if helper.is_alive():
            self.platform.abort([helper])
            helper.join(JOIN_S)
            self.record.teardown.completed = False
            if not crashed:
                self.record.conservation_problems.append(
                    f"teardown did not finish within {TEARDOWN_S} s")
        if crashed:  # wake the loops a dead thread left parked forever
            self.platform.abort(self.platform.threads)
        deadline = time.monotonic() + JOIN_S
        for thread in self.platform.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) if crashed else JOIN_S)
        stuck = [t.name for t in self.platform.threads if t.is_alive()]
        if helper.is_alive():
            stuck.append(helper.name)
        if stuck and not crashed:
            self.record.conservation_problems.append(f"threads did not exit: {stuck}")

    def _teardown_steps(self) -> None:
        self.record.teardown.started_us = self._now()
        try:
            self.platform.abort(self._actors)
            for thread in self._actors:
                thread.join(timeout=JOIN_S)
            for queue in self.ctx.queues.values():
                self.platform.drive(queue.shutdown())
            self.platform.drive(self.ctx.close())
        except Abandoned:
            pass  # overran after a crash: abandoned by _teardown
        except RecorderError as error:
            with self.platform.lock:
                self.platform.internal_errors.append(error)
        except Exception as error:
            log.debug("teardown crashed", exc_info=True)
            with self.platform.lock:
                self.recorder.crashed(error, "teardown")

    def _check_conservation(self) -> None:
        dev = self.device
        self.record.device_events = (dev.events_created, dev.events_destroyed,
                                     dev.records_made)
        self.recorder.check_conservation(self.ctx, dev.events_created - dev.events_destroyed,
                                         dev.streams_created - dev.streams_destroyed)


def _float32_step_us(elapsed_us: float) -> float:
    """Spacing of float32 milliseconds at `elapsed_us` (hipEventElapsedTime's type), µs."""
    ms = max(abs(elapsed_us) / 1000.0, 1e-3)
    return float(2.0 ** (math.floor(math.log2(ms)) - 23)) * 1000.0


def run_hip(scenario: Scenario, seed: int = 0, defects: Iterable[Defect] = (),
            runtime: str = "cpu", context_factory: HipContextFactory | None = None) -> RunRecord:
    """Run `scenario` once on the HIP backend (`runtime`: "cpu" or "rocm");
    `context_factory` (default `CoreContext`) builds the core under test."""
    return HipRun(scenario, seed, defects, runtime, context_factory=context_factory).run()
