"""hip-python's HIP module (`from hip import hip`), typed as Any for mypy --strict.

hip-python ships .pyi stubs whose functions are unannotated, so strict mypy rejects
every call; hipbackend imports `hip` from here instead. Importing it loads no library:
hip-python opens libamdhip64 on the first HIP call (see `hipbackend.runtime`).
"""

from __future__ import annotations

from typing import Any

from hip import hip as _hip_module  # hip-python 6.x and the 10.x compat package

hip: Any = _hip_module
