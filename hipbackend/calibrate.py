"""`hipsem calibrate`: measure the timing model's parameters on a HIP runtime.

The SimPy model's timing (`model.sim.timing.Timing`) defaults to DESIGN.md's published
figures. This module measures them on the runtime hip-python is bound to (CPU test
vehicle, ROCm, or an NVIDIA GPU through the CUDA-backed runtime), through hip-python and
hipbackend's own host-function trampoline, i.e. as the HIP backend pays them, and writes
a timing file (`model.sim.timingfile`) that `run`, `fuzz`, `diff` and `plan` accept with
`--timing FILE`.

What is measured (each repeated `--repeats` times after a warm-up; the timing field is
the median, with a bootstrap confidence interval of the median, scipy.stats.bootstrap):

* create_stream, destroy_stream, create_event, destroy_event, record_event,
  stream_wait_event, query_event, synchronize_event: one API call timed with
  perf_counter (streams idle, events complete) -> `<name>_us`;
* launch_host_func: hipLaunchHostFunc of the trampoline, stream drained between
  samples -> `launch_host_func_us`;
* launch_work: the hipMemsetAsync call (the HIP backend's work launch) ->
  `launch_work_min_us` / `launch_work_max_us`, its 10th / 90th percentiles;
* callback_latency: device completion of timed work to the host function's first
  line -> `callback_latency_us`;
* sync_wakeup: device completion of timed work to hipEventSynchronize's return ->
  `sync_poll_us`;
* host_function_serialization: host functions of two streams launched together, the
  start of the second minus the end of the first (its size; how many pairs overlapped
  is in `source`) -> informational (the model always serializes, rule 5).

Device completion time: the work is bracketed by timing events E0 and E1 on an idle
stream; E1's host time is taken as (host time just after recording E0) + elapsed(E0, E1).
E0 completes at or after that host time, so both latencies are upper bounds (by E0's
pick-up delay). `host_op_us`, `host_function_us` (the core's own Python work, not the
runtime's) and `jitter` are not measured and keep DESIGN.md's defaults.

Invariant: the process's runtime is selected once (`select_runtime`); every HIP result
goes through `hip_check`; every stream and event created is destroyed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipbackend import hostfn
from hipbackend.errors import RuntimeUnavailable, hip_check
from hipbackend.runtime import RuntimeInfo, select_runtime
from model.core.status import HipsemError
from model.sim.timing import Timing
from model.sim.timingfile import Measurement, TimingFile, dump_timing_file, write_timing_file

DEFAULT_REPEATS = 200
LATENCY_REPEATS_DIVISOR = 5  # latency measurements take ~ms each: repeats / 5 of them
WARMUP = 10
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
CPU_BYTES_PER_US = 1000.0  # the CPU runtime's bandwidth knob while measuring
CPU_WORK_BYTES = 1_000_000  # 1 ms of device work on the CPU runtime
GPU_WORK_BYTES = 64 << 20  # tens of µs of memset on a GPU
HOST_FN_SLEEP_S = 0.002
SETTLE_TIMEOUT_S = 10.0

# DESIGN.md's published figures ("Timing"), shown beside the measured ones.
PUBLISHED: dict[str, str] = {
    "record_event": "~2 µs (hipEventRecord)",
    "launch_host_func": "~6 µs (hipLaunchHostFunc)",
    "launch_work": "4-17 µs (kernel launch)",
    "callback_latency": "~100 µs (consumer NVIDIA); unpublished for MI-series",
    "sync_wakeup": "spins by default; BlockingSync spins 100 µs, then sleeps",
}
CALL_FIELDS = {name: f"{name}_us" for name in (
    "create_stream", "destroy_stream", "create_event", "destroy_event", "record_event",
    "stream_wait_event", "query_event", "synchronize_event", "launch_host_func")}


@dataclass(slots=True)
class Samples:
    """Sample lists in µs, by measurement name, plus counts of what was observed."""

    values: dict[str, list[float]] = field(default_factory=dict)
    overlapped_pairs: int = 0

    def add(self, name: str, us: float) -> None:
        self.values.setdefault(name, []).append(us)


# ------------------------------------------------------------------ measuring


class _Bench:
    """Raw hip-python calls on one runtime (a stream, events, a scratch buffer)."""

    def __init__(self, info: RuntimeInfo) -> None:
        from hipbackend._hip import hip

        self.hip = hip
        self.info = info
        self.work_bytes = CPU_WORK_BYTES if info.cpu is not None else GPU_WORK_BYTES
        if info.cpu is not None:
            info.cpu.bandwidth = CPU_BYTES_PER_US
        self.scratch = self.call("hipMalloc", self.work_bytes)
        self.streams: list[Any] = []
        self.events: list[Any] = []

    def call(self, name: str, *args: Any) -> Any:
        return hip_check(getattr(self.hip, name)(*args), name)

    def timed(self, name: str, *args: Any) -> tuple[float, Any]:
        """(µs the call took, its result)."""
        fn = getattr(self.hip, name)
        t0 = time.perf_counter()
        result = fn(*args)
        t1 = time.perf_counter()
        return (t1 - t0) * 1e6, hip_check(result, name)

    def stream(self) -> Any:
        s = self.call("hipStreamCreateWithFlags", self.hip.hipStreamNonBlocking)
        self.streams.append(s)
        return s

    def event(self, timing: bool = False) -> Any:
        flags = self.hip.hipEventDefault if timing else self.hip.hipEventDisableTiming
        e = self.call("hipEventCreateWithFlags", flags)
        self.events.append(e)
        return e

    def host_function(self, stream: Any, fn: Callable[[], None]) -> float:
        """Launch `fn` on `stream` through hipbackend's trampoline; µs the call took."""
        token = hostfn.register(fn, "calibrate", None)
        try:
            us, _ = self.timed("hipLaunchHostFunc", stream, hostfn.TRAMPOLINE_ADDRESS, token)
        except BaseException:
            hostfn.unregister(token)
            raise
        return us

    def close(self) -> None:
        for s in self.streams:
            self.call("hipStreamDestroy", s)
        for e in self.events:
            self.call("hipEventDestroy", e)
        self.streams, self.events = [], []
        self.call("hipFree", self.scratch)


def measure_calls(b: _Bench, repeats: int, out: Samples) -> None:
    """Per-call costs of the API calls the core makes (streams idle, events complete)."""
    s, s2 = b.stream(), b.stream()
    done = b.event()
    b.call("hipEventRecord", done, s)
    b.call("hipStreamSynchronize", s)
    for k in range(WARMUP + repeats):
        keep = k >= WARMUP
        us, stream = b.timed("hipStreamCreateWithFlags", b.hip.hipStreamNonBlocking)
        us2, _ = b.timed("hipStreamDestroy", stream)
        us3, event = b.timed("hipEventCreateWithFlags", b.hip.hipEventDisableTiming)
        us4, _ = b.timed("hipEventRecord", event, s)
        b.call("hipStreamSynchronize", s)
        us5, _ = b.timed("hipStreamWaitEvent", s2, event, 0)
        us6, _ = b.timed("hipEventQuery", event)
        us7, _ = b.timed("hipEventSynchronize", event)
        b.call("hipStreamSynchronize", s2)
        us8, _ = b.timed("hipEventDestroy", event)
        us9, _ = b.timed("hipMemsetAsync", b.scratch, 0, 4096, s)
        us10 = b.host_function(s, lambda: None)
        b.call("hipStreamSynchronize", s)
        if keep:
            for name, v in (("create_stream", us), ("destroy_stream", us2),
                            ("create_event", us3), ("record_event", us4),
                            ("stream_wait_event", us5), ("query_event", us6),
                            ("synchronize_event", us7), ("destroy_event", us8),
                            ("launch_work", us9), ("launch_host_func", us10)):
                out.add(name, v)


def _timed_work(b: _Bench, s: Any, e0: Any, e1: Any) -> float:
    """Enqueue E0, work, E1 on the idle stream `s`; the host time (s) just after E0."""
    b.call("hipEventRecord", e0, s)
    t_e0 = time.perf_counter()
    b.call("hipMemsetAsync", b.scratch, 0, b.work_bytes, s)
    b.call("hipEventRecord", e1, s)
    return t_e0


def _device_end(b: _Bench, t_e0: float, e0: Any, e1: Any) -> float:
    ms = b.call("hipEventElapsedTime", e0, e1)
    return t_e0 + float(ms) / 1e3


def measure_latencies(b: _Bench, repeats: int, out: Samples) -> None:
    """Device completion to host-function start, and to hipEventSynchronize's return."""
    s = b.stream()
    e0, e1 = b.event(timing=True), b.event(timing=True)
    for k in range(WARMUP + repeats):
        started: list[float] = []
        ran = threading.Event()

        def mark(started: list[float] = started, ran: threading.Event = ran) -> None:
            started.append(time.perf_counter())
            ran.set()

        t_e0 = _timed_work(b, s, e0, e1)
        b.host_function(s, mark)
        b.call("hipStreamSynchronize", s)  # releases the GIL while it waits
        if not ran.wait(SETTLE_TIMEOUT_S):
            raise HipsemError("calibrate: a host function did not run within "
                              f"{SETTLE_TIMEOUT_S} s")
        cb_us = (started[0] - _device_end(b, t_e0, e0, e1)) * 1e6
        t_e0 = _timed_work(b, s, e0, e1)
        b.call("hipEventSynchronize", e1)
        t_ret = time.perf_counter()
        wake_us = (t_ret - _device_end(b, t_e0, e0, e1)) * 1e6
        if k >= WARMUP:
            out.add("callback_latency", cb_us)
            out.add("sync_wakeup", wake_us)


def measure_serialization(b: _Bench, repeats: int, out: Samples) -> None:
    """Host functions of two streams launched together: does the second wait?"""
    s1, s2 = b.stream(), b.stream()
    for k in range(repeats + 1):
        spans: list[tuple[float, float]] = []
        lock = threading.Lock()

        def body(spans: list[tuple[float, float]] = spans, lock: threading.Lock = lock) -> None:
            t0 = time.perf_counter()
            time.sleep(HOST_FN_SLEEP_S)
            with lock:
                spans.append((t0, time.perf_counter()))

        b.host_function(s1, body)
        b.host_function(s2, body)
        b.call("hipStreamSynchronize", s1)
        b.call("hipStreamSynchronize", s2)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while len(spans) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        if k == 0 or len(spans) < 2:
            continue  # warm-up
        first, second = sorted(spans)
        gap = (second[0] - first[1]) * 1e6
        out.add("host_function_serialization", gap)
        out.overlapped_pairs += gap < 0


def measure(info: RuntimeInfo, repeats: int) -> Samples:
    """Every measurement of the module docstring, on the bound runtime `info`."""
    out = Samples()
    bench = _Bench(info)
    try:
        measure_calls(bench, repeats, out)
        few = max(5, repeats // LATENCY_REPEATS_DIVISOR)
        measure_latencies(bench, few, out)
        measure_serialization(bench, few, out)
    finally:
        bench.close()
    return out


# ------------------------------------------------------------------ statistics


def summarize(values: Sequence[float], name_field: str, confidence: float,
              seed: int) -> Measurement:
    """Median, mean and a bootstrap confidence interval of the median (percentile)."""
    import numpy as np
    from scipy import stats

    data = np.asarray(values, dtype=float)
    median = float(np.median(data))
    if len(data) < 2 or float(np.ptp(data)) == 0.0:
        low = high = median
    else:
        res = stats.bootstrap((data,), np.median, confidence_level=confidence,
                              n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                              rng=np.random.default_rng(seed))
        low = min(float(res.confidence_interval.low), median)
        high = max(float(res.confidence_interval.high), median)
    return Measurement(name_field, len(data), median, float(np.mean(data)), low, high,
                       confidence)


def _percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def timing_from(samples: Samples, confidence: float, seed: int) -> tuple[Timing,
                                                                          dict[str, Measurement]]:
    """The calibrated Timing (medians; launch work p10..p90) and every measurement."""
    fields = {**CALL_FIELDS, "callback_latency": "callback_latency_us",
              "sync_wakeup": "sync_poll_us", "launch_work": "",
              "host_function_serialization": ""}
    measured: dict[str, Measurement] = {}
    for name, values in samples.values.items():
        if name == "host_function_serialization":
            # A gap may be negative (overlap): stored as its size, sign in source.
            values = [abs(v) for v in values]
        measured[name] = summarize(values, fields[name], confidence, seed)
    overrides = {m.field: max(0.0, m.median_us) for m in measured.values() if m.field}
    work = samples.values["launch_work"]
    overrides["launch_work_min_us"] = _percentile(work, 10)
    overrides["launch_work_max_us"] = max(_percentile(work, 90), overrides["launch_work_min_us"])
    return Timing(**overrides), measured


# ------------------------------------------------------------------ command


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hipsem calibrate", description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["hip"], default="hip",
                   help="the backend whose runtime is measured (only hip has one)")
    p.add_argument("--hip-runtime", choices=["cpu", "rocm", "cuda"], default="cpu")
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="timing file to write (TOML, hipsem/timing-1)")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, metavar="N",
                   help=f"samples per API call (latencies: N/{LATENCY_REPEATS_DIVISOR}, "
                        f"at least 5; default {DEFAULT_REPEATS})")
    p.add_argument("--confidence", type=float, default=CONFIDENCE, metavar="P",
                   help=f"confidence level of the intervals (default {CONFIDENCE})")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    return p


def _check_args(args: argparse.Namespace) -> str | None:
    if args.repeats < 5:
        return f"--repeats must be an integer >= 5, got {args.repeats}"
    if not (math.isfinite(args.confidence) and 0 < args.confidence < 1):
        return f"--confidence must be in (0, 1), got {args.confidence}"
    out: Path = args.out
    if out.is_dir():
        return f"--out {out} is a folder; expected a file path"
    parent = out.parent if str(out.parent) else Path(".")
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        return f"--out {out}: {existing} is not a writable folder"
    return None


def _source(info: RuntimeInfo, args: argparse.Namespace,
            samples: Samples) -> dict[str, str | int | float]:
    pairs = len(samples.values.get("host_function_serialization", []))
    label = ("hipsem's CPU runtime, a test vehicle: these are not GPU figures"
             if info.kind == "cpu" else info.description)
    return {
        "runtime": info.kind,
        "description": label,
        "library": str(info.library),
        "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs)",
        "command": "hipsem calibrate --backend hip --hip-runtime "
                   f"{args.hip_runtime} --repeats {args.repeats}",
        "repeats": args.repeats,
        "confidence": args.confidence,
        "statistic": "median; interval: bootstrap percentile CI of the median",
        "launch_work": "launch_work_min_us/max_us: 10th/90th percentiles of "
                       "measured.launch_work",
        "latencies": "upper bounds (device completion taken as E0's record time + "
                     "elapsed(E0, E1))",
        "host_functions_overlapped": f"{samples.overlapped_pairs} of {pairs} pairs",
        "not_measured": "host_op_us, host_function_us, jitter (DESIGN.md defaults)",
    }


def _print_table(tf: TimingFile) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"calibration: {tf.source.get('description', '')}")
    for col in ("measurement", "n", "median µs", f"{CONFIDENCE:.0%} CI µs", "sets",
                "published (DESIGN.md)"):
        table.add_column(col)
    for name, m in tf.measured.items():
        table.add_row(name, str(m.n), f"{m.median_us:.1f}",
                      f"{m.ci_low_us:.1f}-{m.ci_high_us:.1f}", m.field or "-",
                      PUBLISHED.get(name, ""))
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 130)
    console.print(table)


def calibrate_main(argv: list[str]) -> int:
    """Entry point of `hipsem calibrate`; returns the exit code (0, 2 or 3)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    problem = _check_args(args)
    if problem:
        print(f"hipsem calibrate: error: {problem}", file=sys.stderr)
        return 2
    try:
        info = select_runtime(args.hip_runtime)
    except RuntimeUnavailable as error:
        print(f"hipsem calibrate: the HIP backend is unavailable: {error}", file=sys.stderr)
        return 2
    samples = measure(info, args.repeats)
    timing, measured = timing_from(samples, args.confidence, args.seed)
    tf = TimingFile(timing, _source(info, args, samples), measured)
    header = ("hipsem timing file, written by `hipsem calibrate` (docs/calibration.md).\n"
              f"Runtime: {tf.source['description']}")
    try:
        write_timing_file(args.out, tf, header)
    except OSError as error:  # never lose the measurement: print it
        print(dump_timing_file(tf, header))
        print(f"hipsem calibrate: error: cannot write {args.out}: {error}; the timing "
              "file is printed above", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"out": str(args.out), "source": dict(tf.source),
                          "timing": {k: getattr(timing, k) for k in Timing.__slots__},
                          "measured": {k: vars_of(m) for k, m in measured.items()}},
                         indent=2))
    else:
        _print_table(tf)
        print(f"wrote {args.out}")
    return 0


def vars_of(m: Measurement) -> dict[str, Any]:
    return {k: getattr(m, k) for k in Measurement.__slots__}


__all__ = ["PUBLISHED", "Samples", "calibrate_main", "measure", "summarize", "timing_from"]
