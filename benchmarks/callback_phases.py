"""Where a callback-mode action's event-pool hold goes: measured phases vs the tandem model.

One planning run (`model.planning.simulate.PlanningRun`, the real core over the SimPy
device, exactly as `hipsem plan` runs it) of the grid workload of
benchmarks/analytic_grid.py (one Poisson process per queue, exponential 30 µs kernels,
callback completion, the callback stream at utilization --rho), with the simulated
platform's calls time-stamped as they take effect. For every action whose event was
acquired in the measurement window it splits the event's hold (acquire to release, the
interval the event pool's occupancy counts) into its phases:

  acquire            the worker's launch to the event's acquisition (a miss creates one)
  kernel wait        acquisition to the kernel's start (queued on the kernel stream)
  kernel             the kernel's run
  enqueue wait       kernel end to max(kernel end, host function enqueued): the host
                     function is launched D = record + stream wait + launch_host_func
                     after the launch, so a short kernel waits for it
  callback wait      then to the start of the host-callback latency on the callback
                     stream (its earlier host functions still occupying it)
  latency            the host-callback latency (uniform, jitter)
  host-thread wait   the one host-function thread busy with another queue's function
  hand-off to query  the host function's start (hand-off) to the completion loop's
                     `query_event` taking effect: the loop's wake-up plus the call's cost
  query to release   the query's return to the event's release (retirement)

and prints each phase's mean beside the tandem model's term for it (models.py), and the
mean hold beside the model's (Little's law: mean in use / acquire rate). The time from
the hand-off to the host function's return (the body, which occupies the callback stream
after the event may already be released) is printed too.

    .venv/bin/python benchmarks/callback_phases.py                     # 16 queues, 0.5
    .venv/bin/python benchmarks/callback_phases.py --queues 4 --rho 0.7 --duration-s 0.5
    .venv/bin/python benchmarks/callback_phases.py --queues 4 --timing '{"query_event_us": 25}'

It wraps the device's calls and two of its internals (the jitter draw that starts a host
callback's latency, and the host-function thread's queue) to time-stamp them; the
simulation's behaviour is unchanged (same calls, same draws, same order).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.analytic_grid import grid_workload  # noqa: E402
from model.planning import queueing as qt  # noqa: E402
from model.planning.models import ModelChoice, choose  # noqa: E402
from model.planning.simulate import PlanningRun  # noqa: E402
from model.sim.device import _Mailbox  # noqa: E402

PHASES = ("acquire", "kernel wait", "kernel", "enqueue wait", "callback wait", "latency",
          "host-thread wait", "hand-off to query", "query to release")


class PhaseClock:
    """Time stamps of each action's steps in one `PlanningRun` (see the module docstring)."""

    def __init__(self, run: PlanningRun) -> None:
        self.run = run
        env, device = run.env, run.device
        self.stamps: dict[str, dict[str, float]] = defaultdict(dict)
        self.body: list[float] = []  # host-function body draws (hand-off to its return)
        self.query_cost: list[float] = []  # the platform's query_event cost draws
        self._last_launch: dict[Any, str] = {}  # kernel stream -> last launched tag
        self._handle_tag: dict[Any, str] = {}  # event handle -> its current action's tag
        self._acquired: dict[Any, float] = {}  # event handle -> acquisition time
        self._latency_end: dict[float, float] = {}  # latency end time -> its start
        latency, body = device.timing.callback_latency_us, device.timing.host_function_us

        def wrap(obj: Any, name: str, before: Callable[..., None] | None = None,
                 after: Callable[..., None] | None = None) -> None:
            orig = getattr(obj, name)

            def wrapped(*args: Any) -> Any:
                if before is not None:
                    before(*args)
                out = orig(*args)
                if after is not None:
                    after(out, *args)
                return out

            setattr(obj, name, wrapped)

        def launch(stream: Any, work: Any) -> None:
            self._last_launch[stream] = work.tag
            self.stamps[work.tag]["launch"] = env.now

        def record(_: Any, handle: Any, stream: Any) -> None:
            tag = self._last_launch[stream]
            self._handle_tag[handle] = tag
            self.stamps[tag]["acquired"] = self._acquired.pop(handle)


        def query(handle: Any) -> None:
            self.stamps[self._handle_tag[handle]]["query"] = env.now

        wrap(device, "launch_work", before=launch)
        wrap(device, "record_event", after=record)
        launch_host_func = device.launch_host_func
        fn_tag: dict[Callable[[], None], str] = {}

        def host_func(stream: Any, fn: Callable[[], None]) -> None:
            tag = fn.args[0].work.tag  # type: ignore[attr-defined]  # partial(_handoff, a)
            self.stamps[tag]["enqueued"] = env.now

            def handoff() -> None:
                self.stamps[tag]["hand-off"] = env.now
                fn()

            fn_tag[handoff] = tag
            launch_host_func(stream, handoff)

        device.launch_host_func = host_func  # type: ignore[method-assign]
        wrap(device, "query_event", before=query)

        def jittered(out: float, base: float) -> None:
            if base == latency:
                self._latency_end[env.now + out] = env.now
            elif base == body:
                self.body.append(out)

        wrap(device, "_jittered", after=jittered)

        stamps, latency_end = self.stamps, self._latency_end

        class TimedMailbox(_Mailbox):
            """The host-function thread's queue, time-stamping each latency's end."""

            __slots__ = ()

            def put(self, item: Any) -> None:
                tag = fn_tag.pop(item.fn)
                stamps[tag]["latency start"] = latency_end.pop(env.now)
                stamps[tag]["latency end"] = env.now
                super().put(item)

        device._host_queue = TimedMailbox(env)  # before the run: its thread takes from it

        def cost(out: float, op: str) -> None:
            if op == "query_event":
                self.query_cost.append(out)

        wrap(run.platform, "cost", after=cost)

        starts, ends = device.on_work_start, device.on_work_end

        def work_start(tag: str, stream: str, now: float) -> None:
            self.stamps[tag]["kernel start"] = now
            if starts is not None:
                starts(tag, stream, now)

        def work_end(tag: str, stream: str, now: float) -> None:
            self.stamps[tag]["kernel end"] = now
            if ends is not None:
                ends(tag, stream, now)

        device.on_work_start, device.on_work_end = work_start, work_end
        pool = run.events
        acquire, release = pool.acquire, pool.release

        def timed_acquire() -> Generator[Any, Any, Any]:
            event = yield from acquire()
            self._acquired[event.handle] = env.now
            return event

        def timed_release(event: Any) -> None:
            release(event)
            if event.refs == 0:
                self.stamps[self._handle_tag.pop(event.handle)]["released"] = env.now

        pool.acquire, pool.release = timed_acquire, timed_release  # type: ignore[method-assign]

    def phases(self, start_us: float, end_us: float) -> dict[str, list[float]]:
        """Per phase, its duration for every action acquired in [start_us, end_us)."""
        out: dict[str, list[float]] = {p: [] for p in (*PHASES, "hold")}
        for s in self.stamps.values():
            if "released" not in s or not start_us <= s["acquired"] < end_us:
                continue
            ready = max(s["kernel end"], s["enqueued"])
            for name, a, b in (
                    ("acquire", s["launch"], s["acquired"]),
                    ("kernel wait", s["acquired"], s["kernel start"]),
                    ("kernel", s["kernel start"], s["kernel end"]),
                    ("enqueue wait", s["kernel end"], ready),
                    ("callback wait", ready, s["latency start"]),
                    ("latency", s["latency start"], s["latency end"]),
                    ("host-thread wait", s["latency end"], s["hand-off"]),
                    ("hand-off to query", s["hand-off"], s["query"]),
                    ("query to release", s["query"], s["released"]),
                    ("hold", s["acquired"], s["released"])):
                out[name].append(b - a)
        return out


def model_terms(choice: ModelChoice, queue: int = 0) -> dict[str, float]:
    """The tandem model's mean µs per phase for one queue (models.py, queueing.py)."""
    rate, _, kernel = choice.inputs[queue][0]
    assert choice.callback is not None
    cb = choice.callback
    kernel_sojourn = qt.mean(qt.mg1(rate, kernel)) / rate  # Little's law on the M/M/1
    cb_sojourn = qt.mean(qt.mg1(rate, cb)) / rate
    body = choice.host_function_us
    total_rate = sum(r * b for ins in choice.inputs.values() for r, b, _ in ins)
    host_wait = total_rate * body * body / (2 * (1 - total_rate * body))
    return {
        "acquire": 0.0,
        "kernel wait": kernel_sojourn - kernel.mean,
        "kernel": kernel.mean,
        "enqueue wait": qt.enqueue_wait(
            choice.enqueue_us, kernel_sojourn, kernel.mean,
            choice.loads[queue].worker_utilization if choice.chain_launch_us else 0.0,
            choice.chain_launch_us or (0.0, 0.0), choice.jitter),
        "callback wait": cb_sojourn - cb.mean,
        "latency": cb.mean - host_wait - body,
        "host-thread wait": host_wait,
        # the body B is left out (the event may be released before it ends) and the
        # query Q counted: the model's hold there is S - B + Q (thinning + M/G/inf phase)
        "hand-off to query": choice.retire_us,
        "query to release": 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=16)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--capacity", type=int, default=18)
    ap.add_argument("--duration-s", type=float, default=0.3)
    ap.add_argument("--warmup-s", type=float, default=0.01)
    ap.add_argument("--replications", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timing", default="{}",
                    help='timing fields to override, as JSON: \'{"query_event_us": 25}\'')
    ap.add_argument("--kernel-us", type=float, default=30.0,
                    help="the exponential kernels' mean")
    ap.add_argument("--exact-calls", action="store_true",
                    help="simulate every device call separately (no coalescing)")
    args = ap.parse_args(argv)
    w = grid_workload(args.queues, args.rho, "callback",
                      kernel={"kind": "exponential", "mean_us": args.kernel_us},
                      timing=json.loads(args.timing))
    choice = choose(w, coalesced=not args.exact_calls)
    terms = model_terms(choice)
    started = time.perf_counter()
    per_run: dict[str, list[float]] = defaultdict(list)  # phase -> mean of each run
    actions = 0
    for r in range(args.replications):
        run = PlanningRun(w, args.capacity, args.seed + r, not args.exact_calls)
        clock = PhaseClock(run)
        result = run.run(args.duration_s, args.warmup_s)
        phases = clock.phases(args.warmup_s * 1e6, args.duration_s * 1e6)
        n = len(phases["hold"])
        actions += n
        for name, values in phases.items():
            per_run[name].append(sum(values) / n)
        events = result.event
        per_run["little"].append(events.mean_in_use * events.window_us / events.acquires)
        per_run["body"].append(sum(clock.body) / max(1, len(clock.body)))
        per_run["query cost"].append(sum(clock.query_cost) / max(1, len(clock.query_cost)))
    print(f"{w.name}: capacity {args.capacity}, {args.replications} replications of "
          f"{args.duration_s:g} s from seed {args.seed} ({actions:,} actions in the "
          f"windows, {time.perf_counter() - started:.0f} s wall); model {choice.name}")
    print(f"{'phase (mean us)':20} {'measured':>9} {'+-95%':>7} {'model':>9} "
          f"{'measured - model':>17}")
    for name in PHASES:
        m, half = _mean_ci(per_run[name])
        print(f"{name:20} {m:9.3f} {half:7.3f} {terms[name]:9.3f} {m - terms[name]:17.3f}")
    m, half = _mean_ci(per_run["hold"])
    modelled = sum(terms.values())
    print(f"{'hold (sum)':20} {m:9.3f} {half:7.3f} {modelled:9.3f} {m - modelled:17.3f}")
    m, half = _mean_ci(per_run["little"])
    print(f"{'hold (Little)':20} {m:9.3f} {half:7.3f}   (mean in use / acquire rate)")
    print(f"host-function body (hand-off to its return; the callback stream is still busy): "
          f"{_mean_ci(per_run['body'])[0]:.3f} us; query_event cost "
          f"{_mean_ci(per_run['query cost'])[0]:.3f} us")
    return 0


def _mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of Student's 95% interval across runs."""
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, float("nan")
    sd = (sum((v - m) ** 2 for v in values) / (n - 1)) ** 0.5
    return m, float(stats.t.ppf(0.975, n - 1)) * sd / n ** 0.5


if __name__ == "__main__":
    sys.exit(main())
