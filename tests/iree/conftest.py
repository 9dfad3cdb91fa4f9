"""tests/iree need IREE's Python runtime (installed by scripts/setup.sh)."""

from __future__ import annotations

import pytest

pytest.importorskip("iree.runtime", reason="iree-base-runtime is not installed "
                    "(scripts/setup.sh installs it; CPython 3.11 on x86-64 only)")
