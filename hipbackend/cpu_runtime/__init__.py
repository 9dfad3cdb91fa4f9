"""Build and load hipsem's CPU runtime, a test vehicle with the HIP runtime's C ABI.

`hip_cpu_runtime.c` implements the subset of HIP that hipbackend uses, on host threads
(see that file's header for the semantics). `ensure_built()` compiles it with the system
C compiler into `<cache>/<hash>/lib/libamdhip64.so`, where `<hash>` digests the sources
and flags, so a changed source gets a new folder and a library already loaded by some
process is never overwritten. Concurrent builds (several pytest workers) are safe: each
compiles to a private temporary name and renames it into place atomically.

Cache folder, first usable of: `$HIPSEM_CPU_RUNTIME_CACHE`; `build/` next to this file
(git-ignored); `$XDG_CACHE_HOME/hipsem/cpu_runtime` (default `~/.cache/...`).
Compiler: `$CC`, else `cc`, `gcc`, `clang` on PATH.

`CpuRuntimeLib` wraps the hipsem* extras (bandwidth knob, rule-6 counter, live object
counts) through ctypes. Pointing hip-python at the library is `hipbackend.runtime`'s job
(`activate_cpu_runtime`, re-exported here).
"""

from __future__ import annotations

import ctypes
import os
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

from hipbackend import cbuild
from hipbackend.cbuild import INSTALL_HINT, LibrarySpec

if TYPE_CHECKING:
    from hipbackend.runtime import RuntimeInfo

SOURCE_DIR = Path(__file__).resolve().parent
# The first is the translation unit; it includes hip_cpu_runtime_iree.c (the IREE-only
# surface and the command trace). All of them name the build folder.
SOURCES = ("hip_cpu_runtime.c", "hip_cpu_runtime.h", "hip_cpu_runtime_iree.c",
           "hip_cpu_runtime_iree.h")
LIBRARY_NAME = "libamdhip64.so"
CFLAGS = (
    "-O2",
    "-shared",
    "-fPIC",
    "-pthread",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-fvisibility=hidden",
    f"-Wl,-soname,{LIBRARY_NAME}",
)
BUILD = LibrarySpec("hipsem CPU runtime", SOURCE_DIR, SOURCES, CFLAGS,
                    cache_env="HIPSEM_CPU_RUNTIME_CACHE", cache_name="cpu_runtime",
                    library_name=LIBRARY_NAME, compile_hint=INSTALL_HINT)


class LiveKind(IntEnum):
    """`hipsemCpuLiveCount` kinds (hip_cpu_runtime.h, enum hipsemCpuLiveKind)."""

    STREAMS = 0
    EVENTS = 1
    MARKERS = 2
    ALLOCATIONS = 3
    COMMANDS = 4


def source_digest() -> str:
    """Hex digest of the sources and flags; names the build folder."""
    return cbuild.source_digest(BUILD)


def find_compiler() -> str:
    """Path of the C compiler to use; raises `CpuRuntimeBuildError` if none is found."""
    return cbuild.find_compiler(BUILD.what)


def cache_roots() -> list[Path]:
    """Candidate cache folders, most preferred first (module docstring)."""
    return cbuild.default_cache_roots(BUILD)


def built_library() -> Path | None:
    """The already-built library for the current sources, if any cache holds one."""
    return cbuild.built_library(BUILD, cache_roots())


def ensure_built() -> Path:
    """Path of `libamdhip64.so` built from the current sources, compiling it if needed.

    Raises `CpuRuntimeBuildError` (status UNAVAILABLE) naming what is missing.
    """
    existing = built_library()
    return existing if existing is not None else cbuild.ensure_built(
        BUILD, cache_roots(), find_compiler())


FAULT_STREAM_ERROR = 1  # hipsemCpuFaultKind (hip_cpu_runtime.h)
FAULT_SKIPPED = 2


class CpuRuntimeLib:
    """ctypes view of the hipsem* extras of a loaded CPU runtime library."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lib = ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        lib = self._lib
        lib.hipsemCpuRuntimeName.restype = ctypes.c_char_p
        lib.hipsemCpuSetBandwidth.argtypes = [ctypes.c_double]
        lib.hipsemCpuSetBandwidth.restype = None
        lib.hipsemCpuGetBandwidth.restype = ctypes.c_double
        for name in (
            "hipsemCpuHostFunctionApiCalls",
            "hipsemCpuHostFunctionsRun",
            "hipsemCpuApiCalls",
        ):
            getattr(lib, name).restype = ctypes.c_ulonglong
        lib.hipsemCpuResetHostFunctionApiCalls.restype = None
        lib.hipsemCpuLiveCount.argtypes = [ctypes.c_int]
        lib.hipsemCpuLiveCount.restype = ctypes.c_longlong
        lib.hipsemCpuInHostFunction.restype = ctypes.c_int
        lib.hipsemCpuSetHostFunctionPolicy.argtypes = [ctypes.c_int]
        lib.hipsemCpuSetHostFunctionPolicy.restype = None
        lib.hipsemCpuGetHostFunctionPolicy.restype = ctypes.c_int
        lib.hipsemCpuFailNextCall.argtypes = [ctypes.c_int]
        lib.hipsemCpuFailNextCall.restype = None
        lib.hipsemCpuSetDeviceLost.argtypes = [ctypes.c_double, ctypes.c_int]
        lib.hipsemCpuSetDeviceLost.restype = None
        lib.hipsemCpuDeviceLost.restype = ctypes.c_int
        lib.hipsemCpuClearFaults.restype = None
        lib.hipsemCpuFailNextCommand.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.hipsemCpuFailNextCommand.restype = None
        lib.hipsemCpuTagNextCommand.argtypes = [ctypes.c_void_p, ctypes.c_ulonglong]
        lib.hipsemCpuTagNextCommand.restype = None
        lib.hipsemCpuStreamError.argtypes = [ctypes.c_void_p]
        lib.hipsemCpuStreamError.restype = ctypes.c_int
        lib.hipsemCpuFaultLogEntry.argtypes = [
            ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulonglong), ctypes.POINTER(ctypes.c_longlong)]
        lib.hipsemCpuFaultLogEntry.restype = ctypes.c_int
        lib.hipsemCpuClearFaultLog.restype = None

    @property
    def name(self) -> str:
        return bytes(self._lib.hipsemCpuRuntimeName()).decode()

    @property
    def bandwidth(self) -> float:
        """Bytes per µs of memcpy/memset async on a stream thread; 0: no extra time."""
        return float(self._lib.hipsemCpuGetBandwidth())

    @bandwidth.setter
    def bandwidth(self, bytes_per_us: float) -> None:
        self._lib.hipsemCpuSetBandwidth(float(bytes_per_us))

    def host_function_api_calls(self) -> int:
        """HIP calls refused because they were made inside a host function (rule 6)."""
        return int(self._lib.hipsemCpuHostFunctionApiCalls())

    def reset_host_function_api_calls(self) -> None:
        self._lib.hipsemCpuResetHostFunctionApiCalls()

    @property
    def allow_host_function_calls(self) -> bool:
        """False (default): HIP calls inside a host function are refused (and counted);
        True: they are counted and performed, as real HIP would (process-wide)."""
        return bool(self._lib.hipsemCpuGetHostFunctionPolicy())

    @allow_host_function_calls.setter
    def allow_host_function_calls(self, allow: bool) -> None:
        self._lib.hipsemCpuSetHostFunctionPolicy(1 if allow else 0)

    # Fault injection (docs/faults.md): the knob the HIP backend's FaultInjector turns.
    def fail_next_call(self, hip_error: int) -> None:
        """The next HIP call of the calling thread returns `hip_error` (a hipError_t)."""
        self._lib.hipsemCpuFailNextCall(int(hip_error))

    def set_device_lost(self, after_us: float, hip_error: int) -> None:
        """From `after_us` from now, every HIP call but releases returns `hip_error`."""
        self._lib.hipsemCpuSetDeviceLost(float(after_us), int(hip_error))

    @property
    def device_lost(self) -> bool:
        return bool(self._lib.hipsemCpuDeviceLost())

    def clear_faults(self) -> None:
        """Undo `set_device_lost` (process-wide) and this thread's `fail_next_call`."""
        self._lib.hipsemCpuClearFaults()

    def clear_fault_log(self) -> None:
        """Empty the fault log (`fault_log`)."""
        self._lib.hipsemCpuClearFaultLog()

    def fail_next_command(self, stream: int, hip_error: int) -> None:
        """The next command enqueued on `stream` (a hipStream_t address) fails with
        `hip_error` when the stream runs it: the stream enters its sticky error state."""
        self._lib.hipsemCpuFailNextCommand(ctypes.c_void_p(stream), int(hip_error))

    def tag_next_command(self, stream: int, cookie: int) -> None:
        """The next command enqueued on `stream` carries `cookie` (> 0) into the fault log."""
        self._lib.hipsemCpuTagNextCommand(ctypes.c_void_p(stream), int(cookie))

    def stream_error(self, stream: int) -> int:
        """The stream's sticky error state (a hipError_t; 0: none)."""
        return int(self._lib.hipsemCpuStreamError(ctypes.c_void_p(stream)))

    def fault_log(self) -> list[tuple[int, int, int, int]]:
        """The runtime's fault log: (kind, hipError_t, cookie, CLOCK_MONOTONIC ns) per
        entry, kind 1 a stream entered its error state, 2 an errored stream skipped a
        tagged command (FAULT_STREAM_ERROR, FAULT_SKIPPED)."""
        out: list[tuple[int, int, int, int]] = []
        kind, err = ctypes.c_int(), ctypes.c_int()
        cookie, t_ns = ctypes.c_ulonglong(), ctypes.c_longlong()
        while self._lib.hipsemCpuFaultLogEntry(len(out), ctypes.byref(kind), ctypes.byref(err),
                                               ctypes.byref(cookie), ctypes.byref(t_ns)):
            out.append((kind.value, err.value, cookie.value, t_ns.value))
        return out

    def host_functions_run(self) -> int:
        return int(self._lib.hipsemCpuHostFunctionsRun())

    def api_calls(self) -> int:
        """HIP entry points called so far (any thread)."""
        return int(self._lib.hipsemCpuApiCalls())

    def live(self, kind: LiveKind) -> int:
        """Objects of `kind` currently alive (streams exclude the NULL stream)."""
        return int(self._lib.hipsemCpuLiveCount(int(kind)))

    def live_counts(self) -> dict[str, int]:
        return {k.name.lower(): self.live(k) for k in LiveKind}


def activate_cpu_runtime() -> RuntimeInfo:
    """Build the CPU runtime and bind hip-python to it (see `hipbackend.runtime`)."""
    from hipbackend.runtime import activate_cpu_runtime as activate

    return activate()


__all__ = [
    "CpuRuntimeLib",
    "LiveKind",
    "activate_cpu_runtime",
    "built_library",
    "ensure_built",
    "find_compiler",
    "source_digest",
]
