"""hipbackend.errors: hip_check unwrapping, the status table, HipError messages."""

from __future__ import annotations

import pytest

from hipbackend.errors import (
    HIP_ERROR_STATUS,
    HipError,
    hip_check,
    hip_ready,
    status_for,
)
from hipbackend.runtime import RuntimeInfo
from model.core.status import DeviceError, HipsemError, StatusCode


@pytest.fixture
def hip(hip_runtime: RuntimeInfo) -> object:
    from hipbackend._hip import hip

    return hip


def test_unwraps_every_result_shape(hip: object) -> None:
    ok = hip.hipError_t.hipSuccess  # type: ignore[attr-defined]
    assert hip_check((ok,), "f") is None
    assert hip_check((ok, 5), "f") == 5
    assert hip_check((ok, 5, "x"), "f") == (5, "x")
    assert hip_check(ok, "f") is None
    assert hip_check(0, "f") is None


def test_error_message_names_call_hip_name_and_string(hip: object) -> None:
    err = hip.hipError_t.hipErrorInvalidValue  # type: ignore[attr-defined]
    with pytest.raises(HipError) as info:
        hip_check((err,), "hipStreamWaitEvent")
    exc = info.value
    assert exc.call == "hipStreamWaitEvent"
    assert exc.hip_name == "hipErrorInvalidValue"
    assert exc.hip_value == 1
    assert exc.hip_string  # HIP's own text, from hipGetErrorString
    assert str(exc) == f"hipStreamWaitEvent failed: hipErrorInvalidValue (1): {exc.hip_string}"
    assert exc.code == StatusCode.INVALID_ARGUMENT
    assert isinstance(exc, DeviceError) and isinstance(exc, HipsemError)


def test_cpu_runtime_error_strings(hip: object, cpu_runtime: object) -> None:
    err = hip.hipError_t.hipErrorInvalidHandle  # type: ignore[attr-defined]
    with pytest.raises(HipError) as info:
        hip_check((err, None), "hipEventQuery")
    assert info.value.hip_string == "invalid resource handle"
    assert str(info.value) == (
        "hipEventQuery failed: hipErrorInvalidHandle (400): invalid resource handle"
    )


def test_bare_int_error_is_named(hip: object) -> None:
    with pytest.raises(HipError, match=r"hipErrorOutOfMemory \(2\)") as info:
        hip_check(2, "hipMalloc")
    assert info.value.code == StatusCode.RESOURCE_EXHAUSTED


def test_not_ready_is_an_answer_for_queries(hip: object) -> None:
    e = hip.hipError_t  # type: ignore[attr-defined]
    assert hip_ready((e.hipSuccess,), "hipEventQuery") is True
    assert hip_ready((e.hipErrorNotReady,), "hipEventQuery") is False
    with pytest.raises(HipError) as info:
        hip_ready((e.hipErrorInvalidHandle,), "hipEventQuery")
    assert info.value.code == StatusCode.INVALID_ARGUMENT
    with pytest.raises(HipError):  # elsewhere, not ready is an error
        hip_check((e.hipErrorNotReady,), "hipMemcpy")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("hipErrorInvalidValue", StatusCode.INVALID_ARGUMENT),
        ("hipErrorInvalidHandle", StatusCode.INVALID_ARGUMENT),
        ("hipErrorInvalidResourceHandle", StatusCode.INVALID_ARGUMENT),
        ("hipErrorOutOfMemory", StatusCode.RESOURCE_EXHAUSTED),
        ("hipErrorNotPermitted", StatusCode.PERMISSION_DENIED),
        ("hipErrorIllegalState", StatusCode.FAILED_PRECONDITION),
        ("hipErrorNoDevice", StatusCode.UNAVAILABLE),
        ("hipErrorNotSupported", StatusCode.UNIMPLEMENTED),
        ("hipErrorLaunchFailure", StatusCode.INTERNAL),
        ("hipErrorSomethingNew", StatusCode.INTERNAL),
    ],
)
def test_status_table(name: str, code: StatusCode) -> None:
    assert status_for(name) == code


def test_table_names_are_hip_names_where_hip_python_knows_them(hip: object) -> None:
    known = {e.name for e in hip.hipError_t}  # type: ignore[attr-defined]
    aliases = {"hipErrorInvalidResourceHandle", "hipErrorMemoryAllocation",
               "hipErrorInitializationError"}
    unknown = set(HIP_ERROR_STATUS) - known - aliases
    assert unknown == {"hipErrorNotPermitted"}  # CUDA's 800; kept for a future HIP
