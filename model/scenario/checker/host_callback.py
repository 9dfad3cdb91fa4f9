"""Property `host-callback-api`: no device call from host-function context (HIP rule 6).

The calls are the device's own observation (`record.host_function_api_calls`).
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.views import Ctx, Violation


def check_host_callback_api(c: Ctx) -> Iterator[Violation]:
    for call in c.record.host_function_api_calls:
        yield Violation(
            "host-callback-api", None, f"device call from host-function context: {call}"
        )


# =========================================================================== fifo
