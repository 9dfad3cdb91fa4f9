"""HIP errors for hipbackend: one checker, one status table, typed exceptions.

Every HIP call hipbackend makes goes through `hip_check` (or `hip_ready` for the two calls
whose `hipErrorNotReady` is an answer, not an error: hipEventQuery and hipStreamQuery).
hip-python returns a tuple `(err,)` or `(err, value, ...)`; `hip_check` raises `HipError`
unless `err` is `hipSuccess` and otherwise returns the value(s).

`HIP_ERROR_STATUS` is the single table from `hipError_t` names to IREE status codes
(`model.core.status.StatusCode`); names missing from it map to `INTERNAL`. A failure
raised while the calling thread runs a host function launched by hipbackend is reported
as `PERMISSION_DENIED` whatever HIP returned: the call itself was the violation
(DESIGN.md rule 6; the CPU runtime answers such calls with `hipErrorIllegalState`,
because HIP's `hipError_t` has no `hipErrorNotPermitted` and hip-python cannot return
a value outside its enum).

References: hipError_t in hip/hip_runtime_api.h; hipGetErrorName/hipGetErrorString.
"""

from __future__ import annotations

from typing import Any

from hipbackend import hostfn
from model.core.hip_errors import HIP_ERROR_STATUS, HipCallError, status_for  # noqa: F401 (re-export)
from model.core.status import DeviceError, HipsemError, StatusCode

# The one HIP error -> IREE status table lives in the core (model.core.hip_errors).

NOT_READY = "hipErrorNotReady"


class HipError(HipCallError):
    """A HIP runtime call failed. The message names the call, HIP's error name, number
    and error string; `code` comes from `HIP_ERROR_STATUS`."""

    def __init__(
        self, call: str, hip_name: str, hip_value: int, hip_string: str, code: StatusCode
    ) -> None:
        super().__init__(call, hip_name, f"{call} failed: {hip_name} ({hip_value}): {hip_string}")
        self.code = code
        self.args = (call, hip_name, hip_value, hip_string, code)
        self.hip_value = hip_value
        self.hip_string = hip_string


class HostFunctionApiCallError(DeviceError):
    """A device method was called from host-function context (DESIGN.md rule 6)."""

    code = StatusCode.PERMISSION_DENIED


class RuntimeUnavailable(HipsemError):
    """The requested HIP runtime (CPU build or ROCm) cannot be used in this process."""

    code = StatusCode.UNAVAILABLE


class CpuRuntimeBuildError(RuntimeUnavailable):
    """The CPU runtime could not be compiled (no C compiler, compile error, no cache)."""


class RuntimeConflictError(HipsemError):
    """hip-python in this process is already bound to another libamdhip64 than asked."""

    code = StatusCode.FAILED_PRECONDITION


def hip_check(result: Any, call: str) -> Any:
    """Unwrap a hip-python result; raise `HipError` unless it is `hipSuccess`.

    `result` is `(err,)`, `(err, value)`, `(err, v1, v2, ...)` or a bare `err`.
    Returns None, `value`, or the tuple `(v1, v2, ...)` respectively.
    """
    err, values = _split(result)
    if int(err) != 0:
        raise _error(err, call)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def hip_ready(result: Any, call: str) -> bool:
    """For hipEventQuery/hipStreamQuery: True on success, False on hipErrorNotReady."""
    err, _ = _split(result)
    if int(err) == 0:
        return True
    if _name_of(err) == NOT_READY:
        return False
    raise _error(err, call)


def _split(result: Any) -> tuple[Any, tuple[Any, ...]]:
    if isinstance(result, tuple):
        if not result:
            raise DeviceError("hip-python returned an empty tuple")
        return result[0], result[1:]
    return result, ()


def _name_of(err: Any) -> str:
    name = getattr(err, "name", None)
    if isinstance(name, str):
        return name
    try:
        from hipbackend._hip import hip

        return str(hip.hipError_t(int(err)).name)
    except (ImportError, ValueError):
        return f"hipError({int(err)})"


def _error(err: Any, call: str) -> HipError:
    name = _name_of(err)
    code = status_for(name)
    text = _library_text("hipGetErrorString", err) or name
    name = _library_text("hipGetErrorName", err) or name
    where = hostfn.current_host_function()
    if where is not None:
        code = StatusCode.PERMISSION_DENIED
        text = f"{text} [called from host function {where}]"
    return HipError(call, name, int(err), text, code)


def _library_text(function: str, err: Any) -> str | None:
    """HIP's own text for `err` (hipGetErrorName/hipGetErrorString), None if unavailable."""
    try:
        from hipbackend._hip import hip

        res = getattr(hip, function)(hip.hipError_t(int(err)))
        return str(res[1]) if res[1] is not None else None
    except Exception:  # the library may be missing or the value unknown to hip-python
        return None
