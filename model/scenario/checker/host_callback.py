"""Property `host-callback-api`: host functions are used as the design allows.

  * no device call from host-function context (HIP rule 6) — the calls are the device's
    own observation (`record.host_function_api_calls`);
  * in `thread` completion mode the core launches no host function at all (the setting
    exists to keep completions off the process-wide host-function thread); in `callback`
    mode each launched execute's completion is handed off by one host function, so by
    the time the run settled the device ran as many host functions as it saw launches.
    The runs are the device's observation (spans on the `host-function thread` track).
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
    runs = [s for s in c.record.spans if s.track == HOST_FUNCTION_TRACK]
    launches = sum(len(ids) for ids in c.record.issue_order.values())
    callback = c.scenario.settings.completion is Completion.CALLBACK
    settled = c.record.crash is None and not c.record.conservation_problems
    # Under faults an issue can fail after its launch (no hand-off): at most one each.
    faulted = bool(c.record.faults)
    if callback and settled and c.record.spans and (
            len(runs) > launches if faulted else len(runs) != launches):
        yield Violation(
            "host-callback-api", None,
            f"completion mode is callback, but the device ran {len(runs)} host function(s) "
            f"for {launches} launched execute(s) (one hand-off each)",
        )
    if not callback and runs:
        first = runs[0]
        yield Violation(
            "host-callback-api", None,
            f"completion mode is thread, but the device ran {len(runs)} host "
            f"function(s), the first ({first.name}) at {first.start_us:.3f} us",
        )
