"""Regenerate kineto_small.json: a small trace in the PyTorch profiler (Kineto) format.

No GPU was available where hipsem's tests were written, so this trace is synthesized in
the exact shape of a Kineto Chrome-trace export of a few training iterations: process and
thread metadata ("M"), CPU ops and runtime launch calls ("X", cat cpu_op / cuda_runtime,
with `args.correlation`), GPU kernels and copies ("X", cat kernel / gpu_memcpy, with
`args.stream`, `args.device`, `args.correlation`) on two streams (7: compute, 20: copies),
and launch-to-kernel flow events ("s"/"f", cat ac2g). Deterministic: run it again and the
file is byte-identical.

Facts the tests rely on: 3 iterations x (1 H2D copy on stream 20 + 12 kernels on stream
7) = 39 GPU slices; the first launch call starts at ts = 1000.0 µs; kernel durations are
listed in KERNELS.
"""

from __future__ import annotations

import json
from pathlib import Path

KERNELS = [("volta_sgemm_128x64_nn", 42.0), ("elementwise_kernel", 6.0),
           ("vectorized_elementwise_kernel", 4.0), ("softmax_warp_forward", 9.0)] * 3
T0, PID, TID = 1000.0, 4242, 4242


def iteration(i: int, t: float, corr: int) -> tuple[list[dict[str, object]], float, int]:
    events: list[dict[str, object]] = []
    step_start = t
    copy = [("Memcpy HtoD (Pageable -> Device)", 18.0, "gpu_memcpy", 20, "cudaMemcpyAsync")]
    launches = copy + [(n, d, "kernel", 7, "cudaLaunchKernel") for n, d in KERNELS]
    gpu_free = {7: t + 30.0, 20: t + 10.0}
    for name, dur, cat, stream, call in launches:
        events.append({"ph": "X", "cat": "cuda_runtime", "name": call, "pid": PID, "tid": TID,
                       "ts": round(t, 3), "dur": 5.0, "args": {"correlation": corr}})
        start = max(gpu_free[stream], t + 8.0)
        events.append({"ph": "X", "cat": cat, "name": name, "pid": 0, "tid": stream,
                       "ts": round(start, 3), "dur": dur,
                       "args": {"device": 0, "stream": stream, "correlation": corr,
                                "External id": corr + 10000}})
        events.append({"ph": "s", "id": corr, "pid": PID, "tid": TID, "ts": round(t, 3),
                       "cat": "ac2g", "name": "ac2g"})
        events.append({"ph": "f", "id": corr, "pid": 0, "tid": stream, "ts": round(start, 3),
                       "cat": "ac2g", "name": "ac2g", "bp": "e"})
        gpu_free[stream] = start + dur
        corr += 1
        t += 7.0
    events.append({"ph": "X", "cat": "cpu_op", "name": f"ProfilerStep#{i}", "pid": PID,
                   "tid": TID, "ts": round(step_start - 1.0, 3), "dur": round(t - step_start, 3),
                   "args": {"External id": 9000 + i}})
    return events, max(gpu_free.values()) + 40.0, corr


def main() -> None:
    events: list[dict[str, object]] = [
        {"ph": "M", "name": "process_name", "pid": PID, "tid": 0, "args": {"name": "python3"}},
        {"ph": "M", "name": "process_name", "pid": 0, "tid": 0, "args": {"name": "GPU 0"}},
        {"ph": "M", "name": "thread_name", "pid": 0, "tid": 7, "args": {"name": "stream 7"}},
        {"ph": "M", "name": "thread_name", "pid": 0, "tid": 20, "args": {"name": "stream 20"}},
    ]
    t, corr = T0, 100
    for i in range(3):
        more, t, corr = iteration(i, t, corr)
        events += more
    doc = {"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "synthetic GPU"}],
           "traceEvents": events, "traceName": "kineto_small"}
    out = Path(__file__).with_name("kineto_small.json")
    out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
