"""Choosing the HIP runtime hip-python talks to: hipsem's CPU build or a real ROCm.

hip-python (`from hip import hip`) opens libamdhip64 lazily, on its first HIP call, and
keeps that library for the rest of the process: **one runtime per process, chosen before
the first HIP call and never switched**. `select_runtime("cpu" | "rocm")` makes the choice
explicit, binds hip-python at once (it makes a first call, hipInit(0)), verifies that the
bound library is the one asked for, and remembers it; a second, different choice raises
`RuntimeConflictError`.

How hip-python is pointed at a library, in order (all in-process, no re-exec needed):
1. hip-python >= 10 resolves the path with `rocm.bindings.util.paths.get_library_path`,
   looked up at call time; during the binding call hipbackend substitutes a resolver
   returning the wanted file, then restores the original.
2. `ROCM_PATH` is set to the library's tree (`<root>/lib/libamdhip64.so`) for the duration
   of the binding call (the resolver's ROCM_PATH rule; also what 6.x users set).
3. The CPU library is preloaded with RTLD_GLOBAL; its soname is `libamdhip64.so`, so a
   loader that dlopens the bare name (hip-python 6.x, or 10.x's last-resort fallback)
   gets it too.
The CPU runtime counts its API calls; if hipInit(0) through hip-python did not reach it,
hip-python is bound elsewhere and `RuntimeConflictError` says so.

`select_runtime("rocm")` requires `$ROCM_PATH` (or `$ROCM_HOME`, or /opt/rocm) with
`lib/libamdhip64.so` and hipGetDeviceCount > 0 (probed in a subprocess first, so that a
missing GPU cannot bind or hang this process); else `RuntimeUnavailable`.
`select_runtime("cuda")` builds hipsem's CUDA-backed library (hipbackend.cuda_runtime),
finds libcudart and probes it the same way (no libcudart, no libcuda.so.1 driver, no
device: `RuntimeUnavailable` saying which), then binds hip-python to it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from hipbackend.cpu_runtime import LIBRARY_NAME, CpuRuntimeLib, ensure_built
from hipbackend.errors import RuntimeConflictError, RuntimeUnavailable, hip_check
from model.core.status import InvalidArgumentError

if TYPE_CHECKING:
    from hipbackend.cuda_runtime import CudaRuntimeLib

RuntimeKind = Literal["cpu", "rocm", "cuda"]
RUNTIME_KINDS: tuple[RuntimeKind, ...] = ("cpu", "rocm", "cuda")
ROCM_PROBE_TIMEOUT_S = 60
ROCM_HINT = (
    "install ROCm (https://rocm.docs.amd.com, 'Quick start installation guide') on a "
    "machine with a supported AMD GPU, and set ROCM_PATH if it is not in /opt/rocm; "
    "or use hipsem's CPU runtime instead: --hip-runtime cpu (the default of hipsem run "
    "--backend hip and hipsem diff, and of pytest tests/hardware)"
)


class HostFunctionGuard(Protocol):
    """A runtime library that counts (and by default refuses) HIP calls made from inside
    host functions (rule 6): the CPU runtime and the CUDA-backed runtime."""

    allow_host_function_calls: bool

    def host_function_api_calls(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RuntimeInfo:
    """The runtime hip-python is bound to in this process."""

    kind: RuntimeKind
    library: Path
    device_count: int
    description: str
    cpu: CpuRuntimeLib | None = None  # the hipsem* extras, CPU runtime only
    cuda: CudaRuntimeLib | None = None  # the hipsemCuda* extras, CUDA runtime only

    @property
    def host_function_guard(self) -> HostFunctionGuard | None:
        """The library's rule-6 counter and policy (None on ROCm: HIP does not check)."""
        return self.cpu if self.cpu is not None else self.cuda


_lock = threading.Lock()
_active: RuntimeInfo | None = None


def active_runtime() -> RuntimeInfo | None:
    """The runtime selected in this process, or None before `select_runtime`."""
    return _active


def select_runtime(kind: str) -> RuntimeInfo:
    """Bind hip-python to the CPU runtime ("cpu") or a real ROCm install ("rocm").

    Idempotent for the same kind; raises `RuntimeConflictError` for a different kind
    than an earlier choice, `RuntimeUnavailable` if the runtime cannot be used, and
    `InvalidArgumentError` for an unknown kind.
    """
    if kind == "cpu":
        return activate_cpu_runtime()
    if kind == "rocm":
        return activate_rocm_runtime()
    if kind == "cuda":
        return activate_cuda_runtime()
    raise InvalidArgumentError(
        f"unknown HIP runtime {kind!r}; expected one of {', '.join(RUNTIME_KINDS)}"
    )


def activate_cpu_runtime() -> RuntimeInfo:
    """Build the CPU runtime (if needed) and bind hip-python to it."""
    global _active
    with _lock:
        if _active is not None:
            return _same_or_conflict(_active, "cpu")
        lib_path = ensure_built()
        _refuse_foreign_library(lib_path, "cpu")
        cpu = CpuRuntimeLib(lib_path)  # preload: satisfies bare-name dlopen too
        before = cpu.api_calls()
        _bind(lib_path)
        if cpu.api_calls() == before:
            raise RuntimeConflictError(
                "hip-python is bound to another HIP runtime than hipsem's CPU runtime "
                f"({lib_path}); a HIP call was made in this process before "
                "select_runtime('cpu'). Select the runtime before any HIP call, or run "
                "in a fresh process."
            )
        _active = RuntimeInfo("cpu", lib_path, 1, cpu.name, cpu)
        return _active


def activate_rocm_runtime() -> RuntimeInfo:
    """Bind hip-python to a real ROCm install with at least one GPU."""
    global _active
    with _lock:
        if _active is not None:
            return _same_or_conflict(_active, "rocm")
        lib_path, _ = probe_rocm()
        _refuse_foreign_library(lib_path, "rocm")
        _bind(lib_path)
        from hipbackend._hip import hip

        bound_count = int(hip_check(hip.hipGetDeviceCount(), "hipGetDeviceCount"))
        _active = RuntimeInfo("rocm", lib_path, bound_count, f"ROCm ({lib_path})")
        return _active


def activate_cuda_runtime() -> RuntimeInfo:
    """Build the CUDA-backed runtime and bind hip-python to it (NVIDIA GPU needed)."""
    from hipbackend import cuda_runtime

    global _active
    with _lock:
        if _active is not None:
            return _same_or_conflict(_active, "cuda")
        lib_path = cuda_runtime.ensure_built()
        probe = cuda_runtime.probe_cuda(lib_path)
        _refuse_foreign_library(lib_path, "cuda")
        cuda = cuda_runtime.CudaRuntimeLib(lib_path)  # preload: bare-name dlopen too
        cuda.load(probe.libcudart)
        before = cuda.api_calls()
        _bind(lib_path)
        if cuda.api_calls() == before:
            raise RuntimeConflictError(
                "hip-python is bound to another HIP runtime than hipsem's CUDA runtime "
                f"({lib_path}); select the runtime before any HIP call, or run in a fresh "
                "process.")
        from hipbackend._hip import hip

        count = int(hip_check(hip.hipGetDeviceCount(), "hipGetDeviceCount"))
        _active = RuntimeInfo("cuda", lib_path, count,
                              f"{cuda.name} over {cuda.libcudart}", cuda=cuda)
        return _active


def rocm_root() -> Path:
    """The ROCm install hip-python would use: $ROCM_PATH, $ROCM_HOME or /opt/rocm."""
    root = os.environ.get("ROCM_PATH") or os.environ.get("ROCM_HOME") or "/opt/rocm"
    return Path(root)


def probe_rocm() -> tuple[Path, int]:
    """(library path, GPU count) of the ROCm install; raises `RuntimeUnavailable`."""
    root = rocm_root()
    lib = root / "lib" / LIBRARY_NAME
    if not lib.exists():
        raise RuntimeUnavailable(
            f"ROCm runtime not found: {lib} does not exist (ROCM_PATH="
            f"{os.environ.get('ROCM_PATH')!r}); {ROCM_HINT}"
        )
    count, detail = _probe_device_count(lib)
    if count <= 0:
        raise RuntimeUnavailable(
            f"ROCm at {root} reports no usable GPU ({detail}); check that an AMD GPU is "
            "present, the amdgpu driver is loaded, and this user can open /dev/kfd and "
            f"/dev/dri/* (groups video/render); {ROCM_HINT}"
        )
    return lib, count


_PROBE = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
n = ctypes.c_int(0)
err = lib.hipGetDeviceCount(ctypes.byref(n))
print(err, n.value)
"""


def _probe_device_count(lib: Path) -> tuple[int, str]:
    """hipGetDeviceCount of `lib`, called in a subprocess; (count, explanation)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, str(lib)],
            capture_output=True,
            text=True,
            timeout=ROCM_PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return 0, f"hipGetDeviceCount did not return within {ROCM_PROBE_TIMEOUT_S} s"
    if proc.returncode != 0:
        return 0, f"loading {lib} failed: {proc.stderr.strip()[-500:]}"
    try:
        err, count = (int(x) for x in proc.stdout.split())
    except ValueError:
        return 0, f"unexpected probe output {proc.stdout!r}"
    if err != 0:
        return 0, f"hipGetDeviceCount returned hipError_t {err}"
    return count, f"{count} device(s)"


def _same_or_conflict(active: RuntimeInfo, wanted: RuntimeKind) -> RuntimeInfo:
    if active.kind == wanted:
        return active
    raise RuntimeConflictError(
        f"cannot select the {wanted!r} HIP runtime: this process already bound hip-python "
        f"to the {active.kind!r} runtime ({active.library}), and hip-python cannot switch "
        "libraries once loaded. Run the other runtime in a separate process (e.g. a "
        "separate pytest run with --hip-runtime)."
    )


def loaded_hip_libraries() -> list[Path]:
    """Every libamdhip64 mapped into this process (Linux /proc/self/maps; else [])."""
    found: set[Path] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/maps").read_text().splitlines():
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and Path(parts[5]).name.startswith("libamdhip64"):
                found.add(Path(parts[5]))
    return sorted(found)


def _refuse_foreign_library(wanted: Path, kind: RuntimeKind) -> None:
    for loaded in loaded_hip_libraries():
        if loaded.exists() and not loaded.samefile(wanted):
            raise RuntimeConflictError(
                f"cannot select the {kind!r} HIP runtime ({wanted}): this process already "
                f"loaded {loaded}, and hip-python cannot switch libraries once loaded. Run "
                "in a separate process."
            )


def _bind(lib_path: Path) -> None:
    """Make hip-python's first call (hipInit(0)) open `lib_path`."""
    try:
        from hipbackend._hip import hip
    except ImportError as exc:
        raise RuntimeUnavailable(
            f"hip-python is not importable ({exc}); install it: pip install hip-python"
        ) from exc
    with _library_resolution(lib_path):
        try:
            result = hip.hipInit(0)
        except RuntimeError as exc:  # hip-python's dlopen/dlsym failure
            raise RuntimeUnavailable(f"hip-python could not load {lib_path}: {exc}") from exc
    hip_check(result, "hipInit")


@contextlib.contextmanager
def _library_resolution(lib_path: Path) -> Iterator[None]:
    """Point hip-python's lazy library lookup at `lib_path` for the duration."""
    root = str(lib_path.parent.parent)
    saved_env = os.environ.get("ROCM_PATH")
    paths: Any = None
    saved_resolver: Any = None
    with contextlib.suppress(ImportError):
        paths = importlib.import_module("rocm.bindings.util.paths")  # hip-python >= 10
        saved_resolver = paths.get_library_path
    os.environ["ROCM_PATH"] = root
    if saved_resolver is not None:
        paths.get_library_path = _resolver(saved_resolver, lib_path)
    try:
        yield
    finally:
        if saved_resolver is not None:
            paths.get_library_path = saved_resolver
        if saved_env is None:
            os.environ.pop("ROCM_PATH", None)
        else:
            os.environ["ROCM_PATH"] = saved_env


def _resolver(original: Any, lib_path: Path) -> Any:
    def get_library_path(shortname: str, *args: Any, **kwargs: Any) -> Any:
        if shortname == "amdhip64":
            return os.fsencode(lib_path)
        return original(shortname, *args, **kwargs)

    return get_library_path
