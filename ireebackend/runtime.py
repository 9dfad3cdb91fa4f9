"""Load IREE's Python runtime and create its HIP device over hipsem's CPU runtime.

`require_iree()` imports `iree.runtime` or raises `IreeUnavailable` (status UNAVAILABLE,
exit 2) naming the missing distribution and how to install it. `open_device()` builds the
CPU runtime (`hipbackend.cpu_runtime.ensure_built`), passes its folder to IREE's HIP
driver with the `--hip_dylib_path` runtime flag (the driver dlopens `libamdhip64.so`
there) and creates the default device. The flags are process-wide, so one process opens
one device: `ireebackend.worker` is that process.

Flags set (IREE `runtime/src/iree/hal/drivers/hip/registration/driver_module.c`):
`--hip_use_streams=true` (stream command buffers: fills become hipMemsetD32Async on the
dispatch stream; graphs are not supported by the CPU runtime), `--hip_async_allocations`
left at its default.
"""

from __future__ import annotations

import ctypes
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hipbackend.errors import RuntimeUnavailable

DISTRIBUTION = "iree-base-runtime"
VERSION = "3.13.0"
INSTALL_HINT = (f"install it with `.venv/bin/pip install {DISTRIBUTION}=={VERSION}` "
                "(scripts/setup.sh does; CPython 3.11 on manylinux x86-64)")


class IreeUnavailable(RuntimeUnavailable):
    """IREE's Python runtime, or its HIP driver, cannot be loaded (UNAVAILABLE, exit 2)."""


def require_iree() -> ModuleType:
    """`iree.runtime`, or `IreeUnavailable` naming what is missing."""
    try:
        return importlib.import_module("iree.runtime")
    except ImportError as error:
        raise IreeUnavailable(
            f"--backend iree needs the Python package {DISTRIBUTION} (module iree.runtime "
            f"could not be imported: {error}); {INSTALL_HINT}") from error


def iree_available() -> bool:
    try:
        require_iree()
    except IreeUnavailable:
        return False
    return True


@dataclass(slots=True)
class IreeDevice:
    """IREE's HIP device over the CPU runtime, and the CPU runtime's own handle."""

    rt: ModuleType
    driver: Any
    device: Any
    library: Path
    cpu: ctypes.CDLL
    iree_version: str


def open_device() -> IreeDevice:
    """Create IREE's `hip` device over the CPU runtime (once per process)."""
    from hipbackend.cpu_runtime import ensure_built

    rt = require_iree()
    library = ensure_built()
    cpu = ctypes.CDLL(str(library), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
    rt.flags.parse_flags(f"--hip_dylib_path={library.parent}", "--hip_use_streams=true")
    try:
        driver = rt.get_driver("hip")
        device = driver.create_default_device()
    except (RuntimeError, ValueError) as error:
        raise IreeUnavailable(
            f"IREE's HIP driver could not start over the CPU runtime {library}: {error}"
        ) from error
    version = getattr(importlib.import_module("iree.runtime.version"), "VERSION", "?")
    return IreeDevice(rt, driver, device, library, cpu, str(version))
