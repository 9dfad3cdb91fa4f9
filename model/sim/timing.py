"""The timing model of the simulated HIP runtime. Time unit: microseconds (floats).

Defaults come from DESIGN.md ("Timing"): a host API call costs about 2 µs
(hipEventRecord) to 6 µs (hipLaunchHostFunc), a kernel launch 4-17 µs, and a host
callback starts about 100 µs after the device reached it. They are to be calibrated on
hardware; every figure is a field so that a run can use another calibration.

Every cost is multiplied by a factor drawn uniformly from [1 - jitter, 1 + jitter] with
the run's random generator, so that different seeds explore different interleavings.

Invariant: every field is finite and non-negative, `jitter` is at most 1 (a cost never
becomes negative) and `launch_work_min_us <= launch_work_max_us`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

from model.core.status import InvalidArgumentError

# Operations whose cost is a plain `<op>_us` field (besides "launch_work", which is drawn).
OPS = (
    "create_stream",
    "destroy_stream",
    "create_event",
    "destroy_event",
    "record_event",
    "stream_wait_event",
    "query_event",
    "synchronize_event",
    "launch_host_func",
    "host_op",
    "callback_latency",
    "host_function",
)


@dataclass(frozen=True, slots=True)
class Timing:
    """Costs in µs of host API calls and of the runtime's own latencies.

    `host_op_us` is the host-side cost of one core operation (a semaphore signal, query
    or execute submission). `callback_latency_us` is the delay from the device reaching a
    host function to the function starting; `host_function_us` how long its body takes.
    `sync_poll_us` is the spin granularity of hipEventSynchronize (0: returns exactly at
    completion).
    """

    create_stream_us: float = 5.0
    destroy_stream_us: float = 5.0
    create_event_us: float = 3.0
    destroy_event_us: float = 2.0
    record_event_us: float = 2.0
    stream_wait_event_us: float = 2.0
    query_event_us: float = 1.0
    synchronize_event_us: float = 2.0
    launch_host_func_us: float = 6.0
    launch_work_min_us: float = 4.0
    launch_work_max_us: float = 17.0
    host_op_us: float = 1.0
    callback_latency_us: float = 100.0
    host_function_us: float = 1.0
    sync_poll_us: float = 1.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidArgumentError(f"Timing.{f.name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise InvalidArgumentError(
                    f"Timing.{f.name} must be finite and non-negative, got {value!r}"
                )
        if self.jitter > 1:
            raise InvalidArgumentError(f"Timing.jitter must be at most 1, got {self.jitter!r}")
        if self.launch_work_min_us > self.launch_work_max_us:
            raise InvalidArgumentError(
                f"Timing.launch_work_min_us ({self.launch_work_min_us!r}) exceeds "
                f"launch_work_max_us ({self.launch_work_max_us!r})"
            )

    def cost(self, op: str, rng: random.Random) -> float:
        """The cost in µs of one `op` (a name in `OPS`, or "launch_work"), with jitter.

        Draws from `rng` only where something is random (launch_work, jitter > 0), so a
        run with zero jitter and no launches draws nothing.
        """
        if op == "launch_work":
            if self.launch_work_min_us == self.launch_work_max_us:
                base = self.launch_work_min_us
            else:
                base = rng.uniform(self.launch_work_min_us, self.launch_work_max_us)
        elif op in OPS:
            base = float(getattr(self, f"{op}_us"))
        else:
            known = ", ".join((*OPS, "launch_work"))
            raise InvalidArgumentError(f"unknown timed operation {op!r}; expected one of {known}")
        if self.jitter == 0 or base == 0:
            return base
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
