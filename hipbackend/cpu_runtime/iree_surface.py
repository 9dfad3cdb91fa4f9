"""Which HIP symbols IREE's HIP driver loads, and what the CPU runtime does with each.

IREE's driver (runtime/src/iree/hal/drivers/hip/dynamic_symbols.c, table in
dynamic_symbol_tables.h) dlopens `libamdhip64.so` and resolves every symbol of its table
when the driver is created: a missing REQUIRED symbol fails driver creation, naming it
("symbol 'hipCtxSetCurrent' not found in library"); a missing OPTIONAL one is skipped.

The tables below are the CPU runtime's answer for iree-base-runtime 3.13.0:
  IMPLEMENTED    exported, with HIP's semantics on the CPU device (hip_cpu_runtime.c and
                 hip_cpu_runtime_iree.c);
  NOT_SUPPORTED  exported, always hipErrorNotSupported (no kernels, modules, graphs);
  NOT_EXPORTED   optional to IREE's loader and deliberately absent.

`loader_required(...)` derives the required set from the loader itself, not from a hand
list: it links the CPU runtime with only some symbols exported (a linker version
script), creates IREE's `hip` driver over it, and adds the symbol the loader names as
missing, until creation succeeds. tests/unit/test_cpu_runtime_iree_surface.py holds the
tables to exactly that set.

    .venv/bin/python -m hipbackend.cpu_runtime.iree_surface   # prints the derived set
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from hipbackend.cpu_runtime import CFLAGS, SOURCE_DIR, SOURCES, find_compiler

IMPLEMENTED = frozenset({
    # contexts and device identity
    "hipCtxSetCurrent", "hipCtxGetCurrent", "hipCtxPushCurrent", "hipCtxPopCurrent",
    "hipDevicePrimaryCtxRetain", "hipDevicePrimaryCtxRelease", "hipDeviceGet",
    "hipDeviceGetAttribute", "hipDeviceGetName", "hipDeviceGetUuid",
    "hipDeviceCanAccessPeer", "hipDeviceEnablePeerAccess", "hipGetDeviceCount",
    "hipInit", "hipSetDevice", "hipGetLastError", "hipGetErrorName", "hipGetErrorString",
    # memory
    "hipMalloc", "hipFree", "hipHostMalloc", "hipHostFree", "hipMallocManaged",
    "hipMallocAsync", "hipMallocFromPoolAsync", "hipFreeAsync", "hipMemPoolCreate",
    "hipMemPoolDestroy", "hipMemPoolGetAttribute", "hipMemPoolSetAttribute",
    "hipMemPoolTrimTo", "hipMemPrefetchAsync", "hipHostRegister", "hipHostUnregister",
    "hipHostGetDevicePointer",
    # copies and memsets
    "hipMemcpy", "hipMemcpyAsync", "hipMemcpyHtoDAsync", "hipMemset", "hipMemsetAsync",
    "hipMemsetD8Async", "hipMemsetD16Async", "hipMemsetD32Async",
    # streams, events, host functions
    "hipStreamCreateWithFlags", "hipStreamDestroy", "hipStreamSynchronize",
    "hipStreamWaitEvent", "hipLaunchHostFunc", "hipEventCreate", "hipEventCreateWithFlags",
    "hipEventDestroy", "hipEventElapsedTime", "hipEventQuery", "hipEventRecord",
    "hipEventSynchronize",
})

NOT_SUPPORTED = frozenset({
    "hipFuncGetAttribute", "hipFuncSetAttribute", "hipLaunchKernel", "hipModuleLoadData",
    "hipModuleLoadDataEx", "hipModuleUnload", "hipModuleGetFunction", "hipModuleGetGlobal",
    "hipModuleLaunchKernel", "hipGraphCreate", "hipGraphDestroy", "hipGraphAddEmptyNode",
    "hipGraphAddEventRecordNode", "hipGraphAddKernelNode", "hipGraphAddMemsetNode",
    "hipGraphInstantiate", "hipGraphExecDestroy", "hipGraphLaunch",
})

# Optional to IREE 3.13's loader: absent on purpose. hipGetDeviceProperties fills a
# large, version-dependent struct that IREE only prints (dump_device_info);
# hipDrvGraphAddMemcpyNode serves graph command buffers, which the CPU device lacks.
NOT_EXPORTED = frozenset({"hipGetDeviceProperties", "hipDrvGraphAddMemcpyNode"})

_MISSING = re.compile(r"symbol '(\w+)' not found")
MAX_ROUNDS = 200


def _hip_symbols_in_sources() -> list[str]:
    """Every HIP entry point the CPU runtime defines (hip* functions, not hipsem*)."""
    text = "".join((SOURCE_DIR / name).read_text() for name in SOURCES if name.endswith(".c"))
    return sorted(set(re.findall(r"^hipError_t (hip[A-Z]\w*)\(", text, re.M)) |
                  set(re.findall(r"^const char\* (hip[A-Z]\w*)\(", text, re.M)))


def _link(obj: Path, exports: set[str], out: Path) -> None:
    script = out.with_suffix(".map")  # a linker version script: these and hipsem*
    names = [*sorted(exports), "hipsem*"]
    script.write_text("{ global: " + " ".join(f"{n};" for n in names) + " local: *; };\n")
    subprocess.run([find_compiler(), "-shared", "-pthread", "-o", str(out), str(obj),
                    f"-Wl,--version-script={script}"],
                   check=True, capture_output=True)


def loader_required(max_rounds: int = MAX_ROUNDS) -> list[str]:
    """The HIP symbols IREE's HIP driver REQUIRES, found by its loader's own behaviour
    (module docstring). Needs `iree.runtime` and a C compiler; runs in this process."""
    import iree.runtime as rt  # imported here: only this derivation needs IREE

    binding = rt._binding  # create_hal_driver: a fresh (uncached) driver per call
    with tempfile.TemporaryDirectory(prefix="hipsem-iree-surface-") as tmp:
        root = Path(tmp)
        obj = root / "runtime.o"
        flags = [f for f in CFLAGS if f not in ("-shared",) and not f.startswith("-Wl,")]
        subprocess.run([find_compiler(), *flags, "-c", "-o", str(obj),
                        str(SOURCE_DIR / SOURCES[0])], check=True, capture_output=True)
        required: set[str] = set()
        # --hip_dylib_path is a list flag (each parse appends a path to try), so every
        # round relinks the same path; IREE unloads a library whose symbols it rejected.
        folder = root / "lib"
        folder.mkdir()
        rt.flags.parse_flags(f"--hip_dylib_path={folder}")
        for round_ in range(max_rounds):
            staged = root / f"r{round_}.so"
            _link(obj, required, staged)
            staged.replace(folder / "libamdhip64.so")
            try:
                binding.create_hal_driver("hip")
            except (RuntimeError, ValueError) as error:
                found = _MISSING.search(str(error))
                if found is None or found.group(1) in required:
                    raise RuntimeError(f"IREE's loader failed otherwise: {error}") from error
                required.add(found.group(1))
                continue
            return sorted(required)
    raise RuntimeError(f"still missing symbols after {max_rounds} rounds")


def exported(library: Path) -> set[str]:
    """hip* symbols a built library exports (nm -D)."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(library)], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if line.split() and line.split()[-1].startswith("hip")
            and not line.split()[-1].startswith("hipsem")}


if __name__ == "__main__":
    names = loader_required()
    print(f"{len(names)} symbols required by IREE's HIP driver loader:")
    print("\n".join(names))
    sys.exit(0)
