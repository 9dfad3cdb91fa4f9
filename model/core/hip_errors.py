"""The one table from HIP errors to IREE status codes, and the device-call error.

IREE's HIP driver turns every failing `hipError_t` into an `iree_status_t` through one
table (`hal/drivers/hip/status_util.c`); this module is hipsem's table, used by the core
(which fails actions with the mapped code), by the SimPy device (which raises the mapped
error for an injected fault) and by hipbackend (which raises it for a real HIP error).
Names missing from the table map to `INTERNAL`, as IREE's default does.

"Not ready" is an answer, not an error: `hipErrorNotReady` returned by hipEventQuery or
hipStreamQuery means "still running" and never reaches this table; returned by any other
call it maps to `UNAVAILABLE`.

`FATAL_ERRORS` are the errors that mean the device is gone (DESIGN.md, Faults: "a lost
device fails every pending and in-flight action"): the core stops issuing work once a
device call answers one of them.

Invariant: every value of `HIP_ERROR_STATUS` is a failure code (never `OK`, except for
`hipSuccess`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from model.core.status import DeviceError, StatusCode

_S = StatusCode

HIP_ERROR_STATUS: Mapping[str, StatusCode] = MappingProxyType(
    {
        "hipSuccess": _S.OK,
        "hipErrorInvalidValue": _S.INVALID_ARGUMENT,
        "hipErrorInvalidHandle": _S.INVALID_ARGUMENT,
        "hipErrorInvalidResourceHandle": _S.INVALID_ARGUMENT,
        "hipErrorInvalidDevice": _S.INVALID_ARGUMENT,
        "hipErrorInvalidDevicePointer": _S.INVALID_ARGUMENT,
        "hipErrorInvalidMemcpyDirection": _S.INVALID_ARGUMENT,
        "hipErrorInvalidConfiguration": _S.INVALID_ARGUMENT,
        "hipErrorInvalidPitchValue": _S.INVALID_ARGUMENT,
        "hipErrorInvalidSymbol": _S.INVALID_ARGUMENT,
        "hipErrorInvalidContext": _S.INVALID_ARGUMENT,
        "hipErrorOutOfMemory": _S.RESOURCE_EXHAUSTED,
        "hipErrorMemoryAllocation": _S.RESOURCE_EXHAUSTED,
        "hipErrorLaunchOutOfResources": _S.RESOURCE_EXHAUSTED,
        "hipErrorNotPermitted": _S.PERMISSION_DENIED,  # CUDA's 800; absent from HIP today
        "hipErrorIllegalState": _S.FAILED_PRECONDITION,
        "hipErrorContextIsDestroyed": _S.FAILED_PRECONDITION,
        "hipErrorNotReady": _S.UNAVAILABLE,  # only when a call other than a query says it
        "hipErrorNoDevice": _S.UNAVAILABLE,
        "hipErrorInsufficientDriver": _S.UNAVAILABLE,
        "hipErrorNotInitialized": _S.UNAVAILABLE,
        "hipErrorInitializationError": _S.UNAVAILABLE,
        "hipErrorDeinitialized": _S.UNAVAILABLE,
        "hipErrorNotSupported": _S.UNIMPLEMENTED,
        "hipErrorNotFound": _S.NOT_FOUND,
        "hipErrorLaunchTimeOut": _S.DEADLINE_EXCEEDED,
        "hipErrorLaunchFailure": _S.INTERNAL,
        "hipErrorIllegalAddress": _S.INTERNAL,
        "hipErrorAssert": _S.INTERNAL,
        "hipErrorECCNotCorrectable": _S.DATA_LOSS,
    }
)

# hipError_t numbers (hip_runtime_api.h) of the errors a fault plan may name.
HIP_ERROR_NUMBERS: Mapping[str, int] = MappingProxyType(
    {
        "hipErrorInvalidValue": 1,
        "hipErrorOutOfMemory": 2,
        "hipErrorNotInitialized": 3,
        "hipErrorDeinitialized": 4,
        "hipErrorInvalidContext": 201,
        "hipErrorContextIsDestroyed": 709,
        "hipErrorNoDevice": 100,
        "hipErrorInvalidDevice": 101,
        "hipErrorECCNotCorrectable": 214,
        "hipErrorInvalidHandle": 400,
        "hipErrorNotFound": 500,
        "hipErrorIllegalAddress": 700,
        "hipErrorLaunchOutOfResources": 701,
        "hipErrorLaunchTimeOut": 702,
        "hipErrorAssert": 710,
        "hipErrorLaunchFailure": 719,
        "hipErrorNotSupported": 801,
    }
)

FATAL_ERRORS = frozenset({"hipErrorNoDevice", "hipErrorDeinitialized",
                          "hipErrorContextIsDestroyed"})


def status_for(hip_name: str) -> StatusCode:
    """The IREE status code of a hipError_t name (default `INTERNAL`)."""
    return HIP_ERROR_STATUS.get(hip_name, StatusCode.INTERNAL)


class HipCallError(DeviceError):
    """A device call answered a HIP error; `code` is the error's IREE status code.

    `hip_name` is the hipError_t name; `fatal` says the device is gone (FATAL_ERRORS).
    The SimPy device raises it for injected faults; hipbackend's `HipError` derives
    from it, so the core handles both the same way.
    """

    def __init__(self, call: str, hip_name: str, message: str = "") -> None:
        text = message or f"{call} failed: {hip_name}"
        super().__init__(text, status_for(hip_name))
        self.call = call
        self.hip_name = hip_name
        self.text = text
        self.args = (call, hip_name, text)  # SimPy re-creates an exception from its args

    def __str__(self) -> str:
        return self.text

    @property
    def fatal(self) -> bool:
        return self.hip_name in FATAL_ERRORS
