"""Property `host-callback-api`: host functions are used as the design allows.

  * no device call from host-function context (HIP rule 6) — the calls are the device's
    own observation (`record.host_function_api_calls`);
  * in `thread` completion mode the core launches no host function at all (the setting
    exists to keep completions off the process-wide host-function thread); the runs are
    the device's observation (spans on the `host-function thread` track).
"""

from __future__ import annotations

from collections.abc import Iterator

from model.scenario.checker.views import Ctx, Violation
from model.scenario.record import HOST_FUNCTION_TRACK
from model.scenario.types import Completion


def check_host_callback_api(c: Ctx) -> Iterator[Violation]:
    for call in c.record.host_function_api_calls:
        yield Violation(
            "host-callback-api", None, f"device call from host-function context: {call}"
        )
    if c.scenario.settings.completion is Completion.THREAD:
        runs = [s for s in c.record.spans if s.track == HOST_FUNCTION_TRACK]
        if runs:
            first = runs[0]
            yield Violation(
                "host-callback-api", None,
                f"completion mode is thread, but the device ran {len(runs)} host "
                f"function(s), the first ({first.name}) at {first.start_us:.3f} us",
            )
