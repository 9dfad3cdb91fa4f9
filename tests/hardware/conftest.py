"""Fixtures of the hardware suites: the HIP runtime, a HipDevice, raw hip-python helpers.

`--hip-runtime` (registered in tests/conftest.py; default $HIPSEM_HIP_RUNTIME or "cpu")
chooses the runtime. hip-python binds ONE library per process, so every test of a pytest
process runs on the same runtime; run the suite once per runtime. "rocm" without a usable
ROCm install skips with the reason; "cpu" without a C compiler fails (it should not be
silently skipped in CI).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hipbackend import hostfn
from hipbackend.cpu_runtime import CpuRuntimeLib
from hipbackend.device import HipDevice
from hipbackend.errors import RuntimeUnavailable, hip_check
from hipbackend.runtime import RuntimeInfo, select_runtime

# Small but unambiguous timings: "long" device work is LONG_US, "at once" is < SHORT_S.
BYTES_PER_US = 1000.0
LONG_US = 100_000.0
SHORT_S = 0.05


@pytest.fixture(scope="session")
def hip_runtime(request: pytest.FixtureRequest) -> RuntimeInfo:
    """The runtime chosen by --hip-runtime, bound to hip-python for the session."""
    kind = request.config.getoption("--hip-runtime", default=None)
    kind = kind or os.environ.get("HIPSEM_HIP_RUNTIME") or "cpu"
    try:
        return select_runtime(kind)
    except RuntimeUnavailable as exc:
        if kind in ("rocm", "cuda"):
            pytest.skip(f"--hip-runtime={kind} requested but it is unavailable: {exc}")
        raise


@pytest.fixture(scope="session")
def cpu_runtime(hip_runtime: RuntimeInfo) -> CpuRuntimeLib:
    """The CPU runtime's hipsem* extras; skips the test on ROCm."""
    if hip_runtime.cpu is None:
        pytest.skip(f"needs hipsem's CPU runtime (this run uses --hip-runtime="
                    f"{hip_runtime.kind})")
    return hip_runtime.cpu


@pytest.fixture
def hip_device(hip_runtime: RuntimeInfo) -> Iterator[HipDevice]:
    """A HipDevice (CPU runtime: BYTES_PER_US), closed after the test."""
    bw = BYTES_PER_US if hip_runtime.cpu is not None else None
    device = HipDevice(hip_runtime, bytes_per_us=bw)
    try:
        yield device
    finally:
        device.close()


@dataclass
class HostLog:
    """What host functions saw: (name, thread ident, monotonic time) in run order."""

    entries: list[tuple[str, int, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self.lock:
            self.entries.append((name, threading.get_ident(), time.monotonic()))

    def names(self) -> list[str]:
        with self.lock:
            return [e[0] for e in self.entries]

    def time_of(self, name: str) -> float:
        with self.lock:
            return next(t for n, _, t in self.entries if n == name)


class HipKit:
    """Raw hip-python helpers over the CPU runtime; destroys what it made at teardown."""

    def __init__(self, cpu: CpuRuntimeLib) -> None:
        from hipbackend._hip import hip

        self.hip: Any = hip
        self.cpu = cpu
        self.log = HostLog()
        self.streams: list[Any] = []
        self.events: list[Any] = []
        cpu.bandwidth = BYTES_PER_US
        self.scratch = hip_check(hip.hipMalloc(int(LONG_US * BYTES_PER_US) + 1), "hipMalloc")

    def stream(self) -> Any:
        s = hip_check(self.hip.hipStreamCreateWithFlags(self.hip.hipStreamNonBlocking), "create")
        self.streams.append(s)
        return s

    def event(self) -> Any:
        e = hip_check(self.hip.hipEventCreateWithFlags(self.hip.hipEventDisableTiming), "create")
        self.events.append(e)
        return e

    def destroy_event(self, event: Any) -> None:
        self.events.remove(event)
        hip_check(self.hip.hipEventDestroy(event), "hipEventDestroy")

    def destroy_stream(self, stream: Any) -> None:
        self.streams.remove(stream)
        hip_check(self.hip.hipStreamDestroy(stream), "hipStreamDestroy")

    def busy(self, stream: Any, us: float = LONG_US) -> None:
        """Device work of about `us` µs (a memset slowed by the bandwidth knob)."""
        nbytes = int(us * BYTES_PER_US)
        hip_check(self.hip.hipMemsetAsync(self.scratch, 0, nbytes, stream), "hipMemsetAsync")

    def host_fn(self, stream: Any, name: str, fn: Callable[[], object] | None = None) -> None:
        """Launch a host function that logs `name` (then runs `fn`) in `stream`."""

        def body() -> None:
            self.log.add(name)
            if fn is not None:
                fn()

        token = hostfn.register(body, name, None)
        hip_check(
            self.hip.hipLaunchHostFunc(stream, hostfn.TRAMPOLINE_ADDRESS, token),
            "hipLaunchHostFunc",
        )

    def query(self, event: Any) -> bool:
        from hipbackend.errors import hip_ready

        return hip_ready(self.hip.hipEventQuery(event), "hipEventQuery")

    def stream_idle(self, stream: Any) -> bool:
        from hipbackend.errors import hip_ready

        return hip_ready(self.hip.hipStreamQuery(stream), "hipStreamQuery")

    def close(self) -> None:
        hip_check(self.hip.hipDeviceSynchronize(), "hipDeviceSynchronize")
        for s in self.streams:
            hip_check(self.hip.hipStreamDestroy(s), "hipStreamDestroy")
        for e in self.events:
            hip_check(self.hip.hipEventDestroy(e), "hipEventDestroy")
        hip_check(self.hip.hipFree(self.scratch), "hipFree")
        self.streams, self.events = [], []


@pytest.fixture
def hip_kit(cpu_runtime: CpuRuntimeLib) -> Iterator[HipKit]:
    """Raw hip-python over the CPU runtime; checks that the test leaked nothing."""
    before = cpu_runtime.live_counts()
    kit = HipKit(cpu_runtime)
    try:
        yield kit
    finally:
        kit.close()
    assert cpu_runtime.live_counts() == before
