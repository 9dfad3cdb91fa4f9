"""Per-execute host overhead of the HIP backend, next to raw hip-python calls, one run.

Runs `--executes` zero-duration executes (barriers) through the whole core on the HIP
backend — one actor submitting to `--queues` queues, each execute waiting on its queue's
previous one (bound to the recorded producer event) — and reports wall time per execute,
from the first submission to the last retirement. In the same process it times raw
hip-python calls (hipEventRecord + hipStreamWaitEvent pairs, the core's cheapest issue
step) so the ratio says how many raw HIP call pairs one execute costs.

The default runtime is hipsem's CPU runtime, a test vehicle: its calls are cheaper than
ROCm's, so the figure is the core's and hip-python's overhead, not a GPU's.

    .venv/bin/python benchmarks/bench_hip.py [--executes 5000] [--queues 2] [--runtime cpu]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

from hip import hip

from hipbackend.errors import hip_check
from hipbackend.runner import HipRun
from hipbackend.runtime import select_runtime
from model.scenario.parse import parse_scenario


def scenario(executes: int, queues: int) -> Any:
    ops = []
    for i in range(executes):
        q = i % queues
        k = i // queues
        ops.append({"op": "execute", "id": f"x{i}", "queue": f"q{q}",
                    "wait": {f"S{q}": k} if k else {}, "signal": {f"S{q}": k + 1},
                    "duration_us": 0})
    last = {f"S{q}": (executes - 1 - q) // queues + 1 for q in range(min(queues, executes))}
    ops.append({"op": "wait", "id": "end", "semaphores": last})
    return parse_scenario({"format": "hipsem/scenario-1", "name": "bench-hip",
                           "semaphores": {f"S{q}": 0 for q in range(queues)},
                           "queues": [f"q{q}" for q in range(queues)],
                           "actors": {"main": ops}})


def per_execute(executes: int, queues: int, runtime: str) -> tuple[float, float, float]:
    """Wall µs, process CPU µs and voluntary context switches (thread hand-offs that
    blocked) per execute, over the whole run."""
    run = HipRun(scenario(executes, queues), runtime=runtime)
    cpu0, before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
    record = run.run()
    cpu, after = time.process_time() - cpu0, resource.getrusage(resource.RUSAGE_SELF)
    elapsed = record.ops["end"].end_us
    assert record.ops["end"].status == "OK", record.ops["end"]
    assert elapsed is not None
    switches = after.ru_nvcsw - before.ru_nvcsw
    return elapsed / executes, cpu / executes * 1e6, switches / executes


def raw_pair_us(pairs: int) -> float:
    stream = hip_check(hip.hipStreamCreateWithFlags(hip.hipStreamNonBlocking), "create")
    event = hip_check(hip.hipEventCreateWithFlags(hip.hipEventDisableTiming), "create")
    t0 = time.perf_counter()
    for _ in range(pairs):
        hip_check(hip.hipEventRecord(event, stream), "hipEventRecord")
        hip_check(hip.hipStreamWaitEvent(stream, event, 0), "hipStreamWaitEvent")
    elapsed = time.perf_counter() - t0
    hip_check(hip.hipStreamSynchronize(stream), "sync")
    hip_check(hip.hipEventDestroy(event), "destroy")
    hip_check(hip.hipStreamDestroy(stream), "destroy")
    return elapsed / pairs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executes", type=int, default=5000)
    parser.add_argument("--queues", type=int, default=2)
    parser.add_argument("--runtime", choices=["cpu", "rocm"], default="cpu")
    args = parser.parse_args()
    info = select_runtime(args.runtime)
    raw = raw_pair_us(args.executes)
    per, cpu, switches = per_execute(args.executes, args.queues, args.runtime)
    print(f"runtime                          {info.description}")
    print(f"raw record+wait pair (us)        {raw:10.2f}")
    print(f"HIP backend per execute (us)     {per:10.2f}")
    print(f"  process CPU per execute (us)   {cpu:10.2f}")
    print(f"  voluntary context switches     {switches:10.2f} per execute")
    print(f"ratio execute / raw pair         {per / raw:10.1f}")


if __name__ == "__main__":
    main()
