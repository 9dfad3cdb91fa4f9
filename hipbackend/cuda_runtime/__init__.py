"""Build, find and load hipsem's CUDA runtime: the HIP subset hipsem uses, over libcudart.

`hip_cuda_runtime.c` exports the HIP symbols hip-python resolves for hipbackend and
forwards them to NVIDIA's CUDA runtime, loaded at run time with dlopen (see that file's
header: HIP semantics where CUDA differs, the one error table, the CUDA ABI it relies on).
It is compiled without CUDA headers, on demand, like the CPU runtime: `ensure_built()`
puts it in `<cache>/<hash>/lib/libamdhip64.so` (cache: `$HIPSEM_CUDA_RUNTIME_CACHE`,
`build/` next to this file, `$XDG_CACHE_HOME/hipsem/cuda_runtime`).

`find_libcudart()` picks the CUDA runtime library, first found of: `$HIPSEM_CUDART` (a
path); NVIDIA's PyPI package `nvidia-cuda-runtime-cu12` if installed (not a dependency
of hipsem); the system's (`ldconfig` names, `$CUDA_HOME`/`$CUDA_PATH`,
/usr/local/cuda). `probe_cuda()` loads it in a subprocess (so a broken driver cannot
hang or poison this process) and says what is missing: libcudart, the driver library
libcuda.so.1, or a device. Pointing hip-python at the library is
`hipbackend.runtime.select_runtime("cuda")`'s job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hipbackend import cbuild
from hipbackend.cbuild import LibrarySpec
from hipbackend.errors import RuntimeUnavailable

SOURCE_DIR = Path(__file__).resolve().parent
SOURCES = ("hip_cuda_runtime.c",)
LIBRARY_NAME = "libamdhip64.so"
CFLAGS = (
    "-O2", "-shared", "-fPIC", "-pthread", "-std=c11", "-Wall", "-Wextra", "-Werror",
    "-fvisibility=hidden", f"-Wl,-soname,{LIBRARY_NAME}",
)
LIBS = ("-ldl",)
PROBE_TIMEOUT_S = 60
CUDART_NAMES = ("libcudart.so.13", "libcudart.so.12", "libcudart.so")
CUDA_HINT = (
    "on a machine with an NVIDIA GPU and driver, install the CUDA runtime "
    "(`pip install nvidia-cuda-runtime-cu12`, or the CUDA toolkit) or set $HIPSEM_CUDART "
    "to a libcudart.so; or use the CPU runtime (--hip-runtime cpu)"
)
DRIVER_HINT = (
    "install the NVIDIA driver on a machine with an NVIDIA GPU (`nvidia-smi` must list "
    "it); or use the CPU runtime (--hip-runtime cpu)"
)
# hipError_t numbers the probe interprets (hip/driver_types.h).
HIP_INSUFFICIENT_DRIVER = 35
HIP_NO_DEVICE = 100


BUILD = LibrarySpec("hipsem CUDA runtime", SOURCE_DIR, SOURCES, CFLAGS,
                    cache_env="HIPSEM_CUDA_RUNTIME_CACHE", cache_name="cuda_runtime",
                    libs=LIBS, library_name=LIBRARY_NAME)


def source_digest() -> str:
    """Hex digest of the sources and flags; names the build folder."""
    return cbuild.source_digest(BUILD)


def cache_roots() -> list[Path]:
    """Candidate cache folders, most preferred first."""
    return cbuild.default_cache_roots(BUILD)


def ensure_built() -> Path:
    """Path of the CUDA-backed `libamdhip64.so` for the current sources, compiling it if
    needed (atomically, like the CPU runtime). Raises `CpuRuntimeBuildError` (UNAVAILABLE)."""
    return cbuild.ensure_built(BUILD, cache_roots())


# ------------------------------------------------------------------ finding libcudart


def _pypi_libcudart() -> list[str]:
    """libcudart of NVIDIA's `nvidia-cuda-runtime-cu12` package, if installed."""
    try:
        spec = importlib.util.find_spec("nvidia.cuda_runtime")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    found: list[str] = []
    for folder in spec.submodule_search_locations:
        found += sorted(glob.glob(os.path.join(folder, "lib", "libcudart.so*")))
    return found


def _system_libcudart() -> list[str]:
    found = []
    name = ctypes.util.find_library("cudart")  # ldconfig's cache
    if name:
        found.append(name)
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            found += sorted(glob.glob(os.path.join(os.environ[var], "lib64", "libcudart.so*")))
    found += sorted(glob.glob("/usr/local/cuda/lib64/libcudart.so*"))
    return found


def libcudart_candidates() -> list[str]:
    """Where libcudart is looked for, in order (see the module docstring)."""
    env = os.environ.get("HIPSEM_CUDART")
    if env:
        return [env]
    return [*_pypi_libcudart(), *_system_libcudart(), *CUDART_NAMES]


def find_libcudart() -> str:
    """The first libcudart that loads; raises `RuntimeUnavailable` naming where it looked."""
    tried = []
    for cand in libcudart_candidates():
        try:
            ctypes.CDLL(cand, mode=os.RTLD_LOCAL)
        except OSError as exc:
            tried.append(f"{cand} ({exc})" if "/" in cand else cand)
            continue
        return cand
    raise RuntimeUnavailable(
        "the CUDA runtime library libcudart was not found (tried: " + "; ".join(tried)
        + f"); {CUDA_HINT}"
    )


# ------------------------------------------------------------------ probing

_PROBE = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.hipsemCudaLoadError.restype = ctypes.c_char_p
if not lib.hipsemCudaLoad(sys.argv[2].encode()):
    print("load", lib.hipsemCudaLoadError().decode())
    sys.exit(0)
n = ctypes.c_int(0)
err = lib.hipGetDeviceCount(ctypes.byref(n))
lib.hipGetErrorString.restype = ctypes.c_char_p
try:
    ctypes.CDLL("libcuda.so.1")
    driver = "yes"
except OSError:
    driver = "no"
print("count", err, n.value, driver, lib.hipGetErrorString(err).decode())
"""


@dataclass(frozen=True, slots=True)
class CudaProbe:
    """What `probe_cuda` found: the libcudart used and the device count."""

    libcudart: str
    device_count: int


def probe_cuda(lib: Path) -> CudaProbe:
    """Load `lib` over libcudart in a subprocess; raises `RuntimeUnavailable` saying what
    is missing (libcudart, the NVIDIA driver library libcuda.so.1, or a CUDA device)."""
    cudart = find_libcudart()
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(lib), cudart],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeUnavailable(
            f"hipGetDeviceCount over {cudart} did not return within {PROBE_TIMEOUT_S} s; "
            f"check the NVIDIA driver (nvidia-smi); {CUDA_HINT}") from None
    words = proc.stdout.split(maxsplit=4)
    if proc.returncode != 0 or not words:
        raise RuntimeUnavailable(f"probing the CUDA runtime ({cudart}) failed: "
                                 f"{proc.stderr.strip()[-500:]}; {CUDA_HINT}")
    if words[0] == "load":
        raise RuntimeUnavailable(f"libcudart could not be used: {' '.join(words[1:])}; "
                                 f"{CUDA_HINT}")
    err, count, driver = int(words[1]), int(words[2]), words[3]
    text = words[4] if len(words) > 4 else ""
    if err == HIP_INSUFFICIENT_DRIVER and driver == "no":
        raise RuntimeUnavailable(
            f"the NVIDIA driver library libcuda.so.1 was not found ({cudart} loaded, "
            "hipGetDeviceCount: hipErrorInsufficientDriver): no NVIDIA driver is installed "
            f"on this machine; {DRIVER_HINT}")
    if err == HIP_INSUFFICIENT_DRIVER:
        raise RuntimeUnavailable(
            f"the NVIDIA driver is older than {cudart} needs ({text}); update the driver or "
            "install a matching nvidia-cuda-runtime-cu12")
    if err == HIP_NO_DEVICE or (err == 0 and count <= 0):
        raise RuntimeUnavailable(
            f"no CUDA device: hipGetDeviceCount over {cudart} reports "
            f"{'hipErrorNoDevice' if err else '0 devices'} ({text}); check nvidia-smi "
            f"and CUDA_VISIBLE_DEVICES; {DRIVER_HINT}")
    if err != 0:
        raise RuntimeUnavailable(f"hipGetDeviceCount over {cudart} failed: hipError_t "
                                 f"{err} ({text}); {CUDA_HINT}")
    return CudaProbe(cudart, count)


# ------------------------------------------------------------------ the loaded library


class CudaRuntimeLib:
    """ctypes view of the hipsemCuda* extras of the loaded CUDA-backed library."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lib = ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        lib = self._lib
        for name in ("hipsemCudaRuntimeName", "hipsemCudaLoadError", "hipsemCudaLoadedPath"):
            getattr(lib, name).restype = ctypes.c_char_p
        lib.hipsemCudaLoad.argtypes = [ctypes.c_char_p]
        lib.hipsemCudaLoad.restype = ctypes.c_int
        for name in ("hipsemCudaHostFunctionApiCalls", "hipsemCudaHostFunctionsRun",
                     "hipsemCudaApiCalls"):
            getattr(lib, name).restype = ctypes.c_ulonglong
        lib.hipsemCudaSetHostFunctionPolicy.argtypes = [ctypes.c_int]
        lib.hipsemCudaSetHostFunctionPolicy.restype = None
        lib.hipsemCudaResetHostFunctionApiCalls.restype = None
        lib.hipsemCudaErrorRow.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                           ctypes.POINTER(ctypes.c_int),
                                           ctypes.POINTER(ctypes.c_char_p)]
        lib.hipsemCudaTranslate.argtypes = [ctypes.c_int]

    def load(self, libcudart: str) -> None:
        """Load `libcudart` (before the first HIP call); raises `RuntimeUnavailable`."""
        if not self._lib.hipsemCudaLoad(os.fsencode(libcudart)):
            raise RuntimeUnavailable(
                f"libcudart could not be used: {self.load_error}; {CUDA_HINT}")

    @property
    def name(self) -> str:
        return bytes(self._lib.hipsemCudaRuntimeName()).decode()

    @property
    def load_error(self) -> str:
        return bytes(self._lib.hipsemCudaLoadError()).decode()

    @property
    def libcudart(self) -> str:
        """The libcudart loaded ("" before the first HIP call or `load`)."""
        return bytes(self._lib.hipsemCudaLoadedPath()).decode()

    def host_function_api_calls(self) -> int:
        """HIP calls made from inside host functions (rule 6), refused or let through."""
        return int(self._lib.hipsemCudaHostFunctionApiCalls())

    def reset_host_function_api_calls(self) -> None:
        self._lib.hipsemCudaResetHostFunctionApiCalls()

    @property
    def allow_host_function_calls(self) -> bool:
        """False (default): HIP calls inside a host function are refused (and counted);
        True: they are counted and forwarded to CUDA (process-wide)."""
        return bool(self._lib.hipsemCudaGetHostFunctionPolicy())

    @allow_host_function_calls.setter
    def allow_host_function_calls(self, allow: bool) -> None:
        self._lib.hipsemCudaSetHostFunctionPolicy(1 if allow else 0)

    def host_functions_run(self) -> int:
        return int(self._lib.hipsemCudaHostFunctionsRun())

    def api_calls(self) -> int:
        """HIP entry points called so far (any thread)."""
        return int(self._lib.hipsemCudaApiCalls())

    def error_table(self) -> list[tuple[int, int, str]]:
        """The library's (cudaError_t, hipError_t, HIP name) rows."""
        rows = []
        cuda, hip, name = ctypes.c_int(), ctypes.c_int(), ctypes.c_char_p()
        i = 0
        while self._lib.hipsemCudaErrorRow(i, ctypes.byref(cuda), ctypes.byref(hip),
                                           ctypes.byref(name)):
            rows.append((cuda.value, hip.value, bytes(name.value or b"").decode()))
            i += 1
        return rows

    def translate(self, cuda_error: int) -> int:
        """The hipError_t the library returns for `cuda_error`."""
        return int(self._lib.hipsemCudaTranslate(int(cuda_error)))


__all__ = [
    "CudaProbe",
    "CudaRuntimeLib",
    "ensure_built",
    "find_libcudart",
    "libcudart_candidates",
    "probe_cuda",
    "source_digest",
]
