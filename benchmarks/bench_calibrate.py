"""The timing model measured on a HIP runtime, side by side with DESIGN.md's figures.

Runs `hipbackend.calibrate.measure` on the selected runtime and prints, for each figure
DESIGN.md publishes, the measured median (with its confidence interval) and the ratio
measured / published, in one run (docs/calibration.md). On the CPU runtime the ratios
describe the test vehicle, not a GPU.

    .venv/bin/python benchmarks/bench_calibrate.py [--hip-runtime cpu|rocm|cuda] [--repeats 200]
"""

from __future__ import annotations

import argparse

from hipbackend.calibrate import measure, timing_from
from hipbackend.runtime import select_runtime

# DESIGN.md "Timing": one number per figure (the middle of a published range).
PUBLISHED_US = {
    "record_event": 2.0,
    "launch_host_func": 6.0,
    "launch_work": (4.0 + 17.0) / 2,
    "callback_latency": 100.0,
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hip-runtime", choices=["cpu", "rocm", "cuda"], default="cpu")
    p.add_argument("--repeats", type=int, default=200)
    args = p.parse_args()
    info = select_runtime(args.hip_runtime)
    _, measured = timing_from(measure(info, args.repeats), 0.95, 0)
    print(f"runtime: {info.description} ({args.repeats} repeats)")
    for name, published in PUBLISHED_US.items():
        m = measured[name]
        print(f"{name:18s} measured {m.median_us:8.1f} us ({m.ci_low_us:.1f}-"
              f"{m.ci_high_us:.1f})  published {published:6.1f} us  "
              f"ratio {m.median_us / published:5.2f}")


if __name__ == "__main__":
    main()
