"""Status codes and the error tree shared by the core, the devices and the CLI.

The numbers and names are IREE's (`runtime/src/iree/base/status.h`), so that a report
read next to an IREE log uses the same words. `PENDING` is not a status code: reports use
it for an operation that never finished.

Invariant: every exception the library raises on purpose derives from `HipsemError` and
carries a `StatusCode`.
"""

from __future__ import annotations

import enum


class StatusCode(enum.IntEnum):
    """IREE status codes (fixed numbers, `iree_status_code_t`)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16
    DEFERRED = 17
    INCOMPATIBLE = 18

    @classmethod
    def parse(cls, name: str) -> StatusCode:
        """Look a code up by its name; raises `InvalidArgumentError` naming the value."""
        try:
            return cls[name]
        except KeyError:
            names = ", ".join(c.name for c in cls)
            raise InvalidArgumentError(
                f"unknown status code {name!r}; expected one of {names}"
            ) from None


class HipsemError(Exception):
    """Root of hipsem's errors; `code` is the IREE status code the error maps to."""

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str, code: StatusCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(HipsemError, ValueError):
    """A caller passed a value the API never accepts (bad name, bad type, bad mode)."""

    code = StatusCode.INVALID_ARGUMENT


class OutOfRangeError(HipsemError, ValueError):
    """A timeline value above the maximum, or a signal that does not increase the value.

    Differs from `InvalidArgumentError` in that the same call with another value (or at
    another time) would have been accepted.
    """

    code = StatusCode.OUT_OF_RANGE


class DeadlineExceededError(HipsemError, TimeoutError):
    """A host wait's timeout expired before its condition held."""

    code = StatusCode.DEADLINE_EXCEEDED


class SemaphoreFailedError(HipsemError):
    """The operation observed a semaphore that was failed; `code` is that failure's code."""


class DeviceError(HipsemError, RuntimeError):
    """A device (HIP runtime or SimPy device) call returned an error."""

    code = StatusCode.INTERNAL
