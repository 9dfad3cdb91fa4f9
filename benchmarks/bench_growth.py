"""Growth of `hipsem run --json` with scenario size, and cost per execute in SimPy timeouts.

Each family is run end to end in one process as `hipsem run FILE --json` runs it (parse
the scenario file, simulate, check, build the report, encode it as JSON), at growing
sizes; the script prints the CPU time (process time: steady on a shared machine) and wall
time of each size and the exponent of a least-squares fit of log(time) against log(size)
(1.0: linear). Families:

  chain N     N executes on one queue, each waiting on the previous one's signal,
              submitted in reverse (every one parks first: wait before signal);
  parked N    N actions on 4 queues parked on one semaphore at N distinct values, then a
              host actor signals it 1, 2, ..., N (each signal releases one action);
  hostwait N  N host actors each waiting on one semaphore at its own value, and one actor
              signalling it 1..N;
  queues Q    Q queues with a 256-execute chain each (total work grows with Q).

Next to every point it measures raw SimPy timeouts per CPU second (a short burst right
before) and also gives each point in raw-timeout units. It reports a 4096-hop
chain's end-to-end cost per execute in raw SimPy timeouts (a machine-independent ratio),
and the wall time of a 100,000-execute chain end to end (`--big`).

    .venv/bin/python benchmarks/bench_growth.py            # the full table (about 2 min)
    .venv/bin/python benchmarks/bench_growth.py --quick    # small sizes (seconds)
    .venv/bin/python benchmarks/bench_growth.py --big 100000
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import simpy

Doc = dict[str, Any]


def chain(n: int, queues: int = 1, length: int | None = None) -> Doc:
    """`n` executes over `queues` queues, one chain per queue, submitted in reverse."""
    ops = []
    for i in reversed(range(n)):
        q, k = i % queues, i // queues
        ops.append({"op": "execute", "id": f"x{i}", "queue": f"q{q}",
                    "wait": {f"S{q}": k} if k else {}, "signal": {f"S{q}": k + 1},
                    "duration_us": 3})
    last = {f"S{q}": (n - 1 - q) // queues + 1 for q in range(min(queues, n))}
    ops.append({"op": "wait", "id": "end", "semaphores": last})
    return {"format": "hipsem/scenario-1", "name": f"chain-{n}",
            "queues": [f"q{q}" for q in range(queues)],
            "semaphores": {f"S{q}": 0 for q in range(queues)}, "actors": {"main": ops}}


def parked(n: int) -> Doc:
    ops: list[Doc] = [{"op": "execute", "id": f"x{i}", "queue": f"q{i % 4}",
                       "wait": {"G": i + 1}, "signal": {f"S{i % 4}": i // 4 + 1},
                       "duration_us": 1} for i in range(n)]
    ops += [{"op": "signal", "id": f"s{v}", "semaphore": "G", "value": v}
            for v in range(1, n + 1)]
    return {"format": "hipsem/scenario-1", "name": f"parked-{n}",
            "queues": [f"q{q}" for q in range(4)],
            "semaphores": {"G": 0, "S0": 0, "S1": 0, "S2": 0, "S3": 0},
            "actors": {"main": ops}}


def hostwait(n: int) -> Doc:
    actors: dict[str, list[Doc]] = {
        f"h{i}": [{"op": "wait", "id": f"w{i}", "semaphores": {"G": i + 1}}] for i in range(n)}
    actors["signaller"] = [{"op": "sleep", "id": "z", "us": 10}] + [
        {"op": "signal", "id": f"s{v}", "semaphore": "G", "value": v} for v in range(1, n + 1)]
    return {"format": "hipsem/scenario-1", "name": f"hostwait-{n}", "queues": ["q0"],
            "semaphores": {"G": 0}, "actors": actors}


def queues(q: int) -> Doc:
    return chain(256 * q, q)


FAMILIES: dict[str, tuple[Callable[[int], Doc], list[int], list[int]]] = {
    # name: (scenario, full sizes, --quick sizes)
    "chain": (chain, [1000, 4000, 16000, 64000], [250, 1000, 4000]),
    "parked": (parked, [1000, 4000, 16000, 64000], [250, 1000, 4000]),
    "hostwait": (hostwait, [16, 64, 256, 1024, 4096], [16, 64, 256]),
    "queues": (queues, [1, 4, 16, 64], [1, 4, 16]),
}


def end_to_end(doc: Doc, workdir: Path,
               clock: Callable[[], float] = time.process_time) -> tuple[float, dict[str, Any]]:
    """Seconds of `clock` for `hipsem run FILE --json` (in process): parse, run, check,
    report, JSON."""
    from model.cli import run_scenario_file

    path = workdir / f"{doc['name']}.json"
    path.write_text(json.dumps(doc))
    t0 = clock()
    report = run_scenario_file(path, wall_limit_s=None)
    json.dumps(report, indent=2)
    return clock() - t0, report


def fitted_exponent(sizes: list[int], seconds: list[float]) -> float:
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
            / sum((x - mx) ** 2 for x in xs))


def simpy_timeouts_per_second(n: int = 200_000,
                              clock: Callable[[], float] = time.perf_counter) -> float:
    """Raw SimPy timeouts per second of `clock` (a plain Environment, one process)."""
    env = simpy.Environment()

    def proc() -> Any:
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc())
    t0 = clock()
    env.run()
    return n / (clock() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--big", type=int, default=0, metavar="N",
                        help="also an N-execute chain end to end (e.g. 100000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        end_to_end(chain(200), work)  # warm-up: imports, caches
        cpu = time.process_time
        raw = simpy_timeouts_per_second(clock=cpu)
        print(f"raw SimPy timeouts per CPU s: {raw:,.0f}")
        print(f"  {'family':<9} {'size':>7}  {'cpu s':>8}  {'wall s':>8}  {'cpu us/unit':>11}  "
              f"{'raw timeouts/unit':>17}")
        for name in args.families.split(","):
            make, full, quick = FAMILIES[name]
            sizes = quick if args.quick else full
            seconds, walls = [], []
            for size in sizes:
                rate = simpy_timeouts_per_second(clock=cpu)
                w0 = time.perf_counter()
                t, report = end_to_end(make(size), work)
                wall = time.perf_counter() - w0
                assert report["ok"], (name, size, report.get("violations"))
                seconds.append(t)
                walls.append(wall)
                print(f"  {name:<9} {size:>7}  {t:8.3f}  {wall:8.3f}  {t / size * 1e6:11.1f}  "
                      f"{t * rate / size:17.1f}", flush=True)
            print(f"{name:<9} fitted exponent {fitted_exponent(sizes, seconds):.2f} (cpu), "
                  f"{fitted_exponent(sizes, walls):.2f} (wall); sizes "
                  f"{sizes[0]}..{sizes[-1]}", flush=True)
        hops = 1024 if args.quick else 4096
        rate = simpy_timeouts_per_second(clock=cpu)
        t, _ = end_to_end(chain(hops), work)
        print(f"{hops}-hop chain end to end: {t / hops * 1e6:.1f} cpu us per execute = "
              f"{t / hops * rate:.1f} raw SimPy timeouts per execute")
        if args.big:
            w0 = time.perf_counter()
            t, _ = end_to_end(chain(args.big), work)
            print(f"{args.big}-execute chain end to end: {t:.1f} s cpu, "
                  f"{time.perf_counter() - w0:.1f} s wall")


if __name__ == "__main__":
    main()
