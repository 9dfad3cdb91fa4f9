"""The host-function trampoline: Python callables as HIP host functions.

hipLaunchHostFunc takes a C function pointer `void (*)(void*)` and a `void*` user datum.
hipbackend passes ONE process-wide ctypes trampoline (`TRAMPOLINE_ADDRESS`) and, as the
user datum, an integer token naming a registered Python callable. When HIP's
host-function thread calls the trampoline, it takes the callable out of the registry
(so the registry keeps every callable alive exactly until it has run), marks the thread
as being in host-function context, runs it, and clears the mark.

Invariants:
* The trampoline never raises into C: any exception of the callable is logged and handed
  to the `on_error` hook given at registration.
* `current_host_function()` is not None exactly while a callable runs on this thread;
  hipbackend refuses device calls made then (DESIGN.md rule 6).
* Token 0 is never used (it would be a NULL user datum).

Threading: the trampoline runs on HIP's host-function thread (one per process on
ROCm/Linux and in the CPU runtime) and takes the GIL for the callable's duration; a host
thread blocked in a HIP call releases the GIL (hip-python calls HIP `with nogil`), so a
blocking call such as hipStreamDestroy can wait for host functions without deadlock.

References: hipLaunchHostFunc / hipHostFn_t in hip/hip_runtime_api.h; cudaLaunchHostFunc.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

HostFnErrorHook = Callable[[str, BaseException], None]


@dataclass(frozen=True, slots=True)
class _Pending:
    fn: Callable[[], None]
    label: str
    on_error: HostFnErrorHook | None


_registry: dict[int, _Pending] = {}
_registry_lock = threading.Lock()
_tokens = itertools.count(1)
_context = threading.local()


def current_host_function() -> str | None:
    """Label of the host function running on this thread, or None outside one."""
    label = getattr(_context, "label", None)
    return label if isinstance(label, str) else None


def register(fn: Callable[[], None], label: str, on_error: HostFnErrorHook | None) -> int:
    """Keep `fn` alive until the trampoline runs it; returns its user-datum token."""
    token = next(_tokens)
    with _registry_lock:
        _registry[token] = _Pending(fn, label, on_error)
    return token


def unregister(token: int) -> None:
    """Forget a token whose hipLaunchHostFunc failed (it will never run)."""
    with _registry_lock:
        _registry.pop(token, None)


def pending_count() -> int:
    """Registered callables that have not run yet (all devices)."""
    with _registry_lock:
        return len(_registry)


def _trampoline(user_data: int | None) -> None:
    token = user_data or 0
    with _registry_lock:
        pending = _registry.pop(token, None)
    if pending is None:
        logger.error("host-function trampoline called with unknown token %d", token)
        return
    _context.label = pending.label
    try:
        pending.fn()
    except BaseException as exc:  # never propagate into C
        logger.exception("host function %s raised", pending.label)
        if pending.on_error is not None:
            try:
                pending.on_error(pending.label, exc)
            except BaseException:
                logger.exception("on_error hook of host function %s raised", pending.label)
    finally:
        _context.label = None


HOST_FN_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_TRAMPOLINE = HOST_FN_TYPE(_trampoline)  # module global: lives as long as the process
TRAMPOLINE_ADDRESS: int = ctypes.cast(_TRAMPOLINE, ctypes.c_void_p).value or 0
