"""Command-line options of the whole test suite.

Only option registration lives here: pytest parses the command line before it collects
tests/hardware, so `--hip-runtime` must be registered by a conftest at the test root.
The fixtures that use it are in tests/hardware/conftest.py.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hip-runtime",
        choices=("cpu", "rocm", "cuda"),
        default=None,
        help="HIP runtime for tests/hardware: 'cpu' (hipsem's CPU test vehicle, the "
        "default; also $HIPSEM_HIP_RUNTIME), 'rocm' (a real AMD GPU) or 'cuda' (an NVIDIA "
        "GPU through hipsem's CUDA-backed runtime); rocm and cuda skip if absent",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `thorough` run only with HIPSEM_PROFILE=thorough (long campaigns)."""
    import os

    if os.environ.get("HIPSEM_PROFILE") == "thorough":
        return
    skip = pytest.mark.skip(reason="long campaign: set HIPSEM_PROFILE=thorough to run it")
    for item in items:
        if "thorough" in item.keywords:
            item.add_marker(skip)
