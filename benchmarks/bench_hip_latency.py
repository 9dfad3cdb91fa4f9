"""HIP backend latencies behind diff's and the record's constants (docs/hardware.md).

1. Issue overhead: on publish-before-record.json (x0 on q0, x1 on q1 waiting for it),
   submit-to-launch of x0, x1's launch after x0's launch, launch-to-device-start of
   each, and the record's clock tolerance, over `--runs` runs.
2. Timed-wait lateness: 3 actors, each an execute, a 2 ms timed wait that times out and a
   sleep; how late each wait returned past its deadline.

    .venv/bin/python benchmarks/bench_hip_latency.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from hipbackend.runner import run_hip
from model.scenario.parse import load_scenario
from model.scenario.types import Execute, Scenario, Sleep, Wait, WaitMode

MINIMAL = Path(__file__).resolve().parent.parent / "tests" / "property" / "minimal"


def summary(name: str, xs: list[float]) -> None:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
    print(f"{name:44s} median {statistics.median(xs):8.0f} us  p99 {p99:8.0f}  "
          f"max {xs[-1]:8.0f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=30)
    runs = p.parse_args().runs
    s = load_scenario(MINIMAL / "publish-before-record.json")
    gaps, lat, tol, dev = [], [], [], []
    for i in range(runs):
        r = run_hip(s, i)
        start, submit = r.ops["x0"].start_us, r.ops["x0"].submit_start_us
        assert start is not None and submit is not None
        gaps.append(r.launched_us["x1"] - r.launched_us["x0"])
        dev += [(r.ops[x].start_us or 0.0) - r.launched_us[x] for x in ("x0", "x1")]
        lat.append(r.launched_us["x0"] - submit)
        tol.append(r.clock_tolerance_us)
    summary("submit -> launch (x0)", lat)
    summary("consumer launch - producer launch", gaps)
    summary("launch -> device start", dev)
    summary("clock tolerance", tol)
    late_s = Scenario("late", {"S": 0}, ["q0"], {
        f"h{i}": [Execute(f"x{i}", "q0", {}, {}, 3000.0),
                  Wait(f"w{i}", {"S": 1}, WaitMode.ALL, 2000.0), Sleep(f"z{i}", 1000.0)]
        for i in range(3)})
    late = []
    for k in range(runs):
        r = run_hip(late_s, k)
        for i in range(3):
            o = r.ops[f"w{i}"]
            assert o.start_us is not None and o.end_us is not None
            late.append(o.end_us - o.start_us - 2000.0)
    summary("timed wait (2 ms) returned late by", late)


if __name__ == "__main__":
    main()
