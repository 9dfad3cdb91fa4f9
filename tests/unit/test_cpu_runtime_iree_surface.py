"""The CPU runtime exports what IREE's HIP driver loader requires, and says so honestly.

The required set is derived from IREE's loader itself (`iree_surface.loader_required`:
relink with fewer exports until driver creation succeeds), so the tables in
hipbackend/cpu_runtime/iree_surface.py cannot drift from the iree-base-runtime installed.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from hipbackend.cpu_runtime import ensure_built
from hipbackend.cpu_runtime.iree_surface import (
    IMPLEMENTED,
    NOT_EXPORTED,
    NOT_SUPPORTED,
    exported,
    loader_required,
)

HIP_ERROR_NOT_SUPPORTED = 801


def test_the_tables_are_exactly_what_iree_s_loader_requires() -> None:
    pytest.importorskip("iree.runtime", reason="iree-base-runtime is not installed")
    required = set(loader_required())
    assert not IMPLEMENTED & NOT_SUPPORTED
    assert sorted(required - (IMPLEMENTED | NOT_SUPPORTED)) == [], "required, not exported"
    assert sorted((IMPLEMENTED | NOT_SUPPORTED) - required) == [], "listed, not required"


def test_the_library_exports_the_tables_and_not_the_optional_ones() -> None:
    names = exported(ensure_built())
    assert names >= (IMPLEMENTED | NOT_SUPPORTED)
    assert not names & NOT_EXPORTED


def test_the_optional_ones_are_in_iree_s_symbol_table() -> None:
    rt = pytest.importorskip("iree.runtime", reason="iree-base-runtime is not installed")
    binary = Path(rt._binding.__file__).read_bytes()
    for name in NOT_EXPORTED:
        assert name.encode() in binary, name


@pytest.mark.parametrize("name", sorted(NOT_SUPPORTED))
def test_unsupported_calls_answer_not_supported(name: str) -> None:
    lib = ctypes.CDLL(str(ensure_built()))
    fn = getattr(lib, name)
    fn.restype = ctypes.c_int
    args = [ctypes.c_void_p(0)] * 12  # the stubs read no argument
    assert fn(*args) == HIP_ERROR_NOT_SUPPORTED
