"""The SimPy device reproduces DESIGN.md's HIP rules 1-8, deterministically per seed.

Most tests use a timing model where host API calls are free and nothing jitters, so
every time asserted below can be computed by hand from the work durations.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Generator
from dataclasses import fields
from typing import Any

import pytest
import simpy

from model.core.status import DeviceError
from model.device import Device, WorkItem
from model.sim import HOST_FUNCTION_TRACK, SeededEnvironment, SimDevice, Timing

Proc = Generator[simpy.Event, Any, Any]


def exact_timing(**overrides: float) -> Timing:
    """Free host API calls, no jitter; `overrides` set the costs a test cares about."""
    zero = {f.name: 0.0 for f in fields(Timing)}
    return Timing(**{**zero, **overrides})


def make(seed: int = 0, timing: Timing | None = None) -> tuple[SeededEnvironment, SimDevice]:
    env = SeededEnvironment(seed)
    return env, SimDevice(env, timing if timing is not None else exact_timing())


def charge(dev: SimDevice, op: str) -> simpy.Event:
    """What a platform does before each device call: spend the call's cost."""
    return dev.env.timeout(dev.timing.cost(op, dev.env.rng))


def run(env: SeededEnvironment, proc: Callable[[], Proc]) -> Any:
    """Run the host process `proc` and then the simulation to its end; its result."""
    p = env.process(proc())
    env.run()
    assert p.processed, "the host process never finished"
    return p.value


def test_device_satisfies_the_protocol() -> None:
    _, dev = make()
    assert isinstance(dev, Device)


def test_rule1_a_record_replaces_the_marker_but_earlier_waits_keep_the_old_one() -> None:
    env, dev = make()
    a, b, c = dev.create_stream("A"), dev.create_stream("B"), dev.create_stream("C")
    e = dev.create_event()
    seen: dict[str, bool] = {}

    def host() -> Proc:
        dev.launch_work(a, WorkItem("a1", 10))
        dev.record_event(e, a)  # record 1: done at 10
        dev.stream_wait_event(b, e)  # B waits for record 1
        dev.launch_work(a, WorkItem("a2", 50))
        dev.record_event(e, a)  # record 2 replaces it: done at 60
        dev.stream_wait_event(c, e)  # C waits for record 2
        dev.launch_work(b, WorkItem("b", 1))
        dev.launch_work(c, WorkItem("c", 1))
        yield env.timeout(30)
        # Record 1 is done, but the event now means record 2.
        seen["query at 30"] = dev.query_event(e)
        yield dev.synchronize_event_async(e)
        seen["synchronized at"] = env.now == 60
        return None

    run(env, host)
    assert dev.work_times["b"] == (10, 11)
    assert dev.work_times["c"] == (60, 61)
    assert seen == {"query at 30": False, "synchronized at": True}
    assert dev.query_event(e)


def test_rule2_a_never_recorded_event_is_an_empty_set_of_work() -> None:
    env, dev = make()
    producer, consumer = dev.create_stream("producer"), dev.create_stream("consumer")
    e = dev.create_event()

    def host() -> Proc:
        # The consumer "waits" for an event that the producer only records later.
        dev.stream_wait_event(consumer, e)
        dev.launch_work(consumer, WorkItem("too early", 5))
        assert dev.query_event(e)
        dev.synchronize_event(e)  # returns at once
        yield dev.synchronize_event_async(e)
        assert env.now == 0
        dev.launch_work(producer, WorkItem("produce", 100))
        dev.record_event(e, producer)
        return None

    run(env, host)
    # The wait was a no-op: the consumer ran while the producer was still working.
    assert dev.work_times["too early"] == (0, 5)
    assert dev.work_times["produce"] == (0, 100)
    assert not any(s.name.startswith("wait") for s in dev.spans)


def test_rule3_a_stream_wait_snapshots_the_current_record() -> None:
    env, dev = make()
    a, b, late = dev.create_stream("A"), dev.create_stream("B"), dev.create_stream("late")
    e = dev.create_event()

    def host() -> Proc:
        dev.launch_work(a, WorkItem("a", 10))
        dev.record_event(e, a)
        dev.stream_wait_event(b, e)
        dev.launch_work(b, WorkItem("b", 1))
        yield env.timeout(5)
        # Re-recording behind a long kernel does not move B's wait.
        dev.launch_work(late, WorkItem("long", 100))
        dev.record_event(e, late)
        return None

    run(env, host)
    assert dev.work_times["b"] == (10, 11)
    assert any(s.track == "B" and s.name == "wait e1@1" and s.end_us == 10 for s in dev.spans)


def test_rule4_destroying_an_event_returns_at_once_and_pending_waits_complete() -> None:
    env, dev = make()
    a, b = dev.create_stream("A"), dev.create_stream("B")
    e = dev.create_event()

    def host() -> Proc:
        dev.launch_work(a, WorkItem("a", 20))
        dev.record_event(e, a)
        dev.stream_wait_event(b, e)
        dev.launch_work(b, WorkItem("b", 1))
        dev.destroy_event(e)
        assert env.now == 0 and dev.live_events == 0
        yield env.timeout(0)
        return None

    run(env, host)
    assert dev.work_times["b"] == (20, 21)
    assert (dev.events_created, dev.events_destroyed) == (1, 1)
    assert dev.quiescent()


def test_rule5_host_functions_follow_their_stream_and_are_serialized_process_wide() -> None:
    env, dev = make(timing=exact_timing(callback_latency_us=100, host_function_us=10))
    a, b = dev.create_stream("A"), dev.create_stream("B")
    started: dict[str, float] = {}

    def note_start(label: str) -> None:
        started[label] = env.now

    def host() -> Proc:
        for s in (a, b):
            dev.launch_work(s, WorkItem(f"{s.label}1", 10))
            dev.launch_host_func(s, functools.partial(note_start, s.label))
            dev.launch_work(s, WorkItem(f"{s.label}2", 5))
        yield env.timeout(0)
        return None

    run(env, host)
    # Both functions reach the host thread at 10 + 100; the one thread runs them in turn.
    first, second = sorted(started, key=started.__getitem__)
    assert (started[first], started[second]) == (110, 120)
    # Each stream's later work waited for its own function to return.
    assert dev.work_times[f"{first}2"] == (120, 125)
    assert dev.work_times[f"{second}2"] == (130, 135)
    host_spans = [s for s in dev.spans if s.track == HOST_FUNCTION_TRACK]
    assert [(s.start_us, s.end_us) for s in host_spans] == [(110, 120), (120, 130)]
    assert dev.host_function_api_calls == 0


def test_rule6_device_calls_from_a_host_function_are_violations_that_still_take_effect() -> None:
    env, dev = make(timing=exact_timing(callback_latency_us=100))
    s = dev.create_stream("q")
    pooled, pending = dev.create_event(), dev.create_event()
    inside: list[bool] = []

    def release_to_full_pool() -> None:  # the seed's defect: a pool destroys an event
        inside.append(dev.in_host_function)
        dev.destroy_event(pooled)

    def wait_in_callback() -> None:
        dev.synchronize_event(pending)  # would hang in HIP

    def host() -> Proc:
        dev.launch_host_func(s, release_to_full_pool)
        dev.launch_host_func(s, wait_in_callback)
        other = dev.create_stream("other")
        dev.launch_work(other, WorkItem("long", 1000))
        dev.record_event(pending, other)
        yield env.timeout(0)
        return None

    run(env, host)
    assert inside == [True] and not dev.in_host_function
    assert dev.host_function_api_calls == 2
    assert dev.host_function_api_call_log == [
        "destroy_event(e1) at 100.0us (host function from stream q)",
        "synchronize_event(e2) at 200.0us (host function from stream q)",
    ]
    assert dev.live_events == 1  # the destroy took effect, as in HIP
    assert len(dev.host_function_errors) == 1
    assert "would block inside a host function" in dev.host_function_errors[0]


def test_rule7_a_stream_runs_in_order_and_streams_are_independent() -> None:
    env, dev = make()
    a, b = dev.create_stream("A"), dev.create_stream("B")

    def host() -> Proc:
        for tag, d in (("a1", 10), ("a2", 5), ("a3", 0)):
            dev.launch_work(a, WorkItem(tag, d))
        yield env.timeout(2)
        assert not dev.quiescent()
        dev.launch_work(b, WorkItem("b1", 3))
        return None

    run(env, host)
    assert dev.stream_order == {"A": ["a1", "a2", "a3"], "B": ["b1"]}
    assert dev.work_times == {"a1": (0, 10), "a2": (10, 15), "a3": (15, 15), "b1": (2, 5)}
    assert dev.quiescent()


def test_rule8_destroying_a_stream_waits_for_its_work() -> None:
    env, dev = make(timing=exact_timing(destroy_stream_us=2))
    busy, idle = dev.create_stream("busy"), dev.create_stream("idle")

    def host() -> Proc:
        dev.launch_work(busy, WorkItem("k", 50))
        with pytest.raises(DeviceError, match="would block"):
            dev.destroy_stream(busy)  # a plain call cannot block
        dev.destroy_stream(idle)  # nothing queued: fine
        yield charge(dev, "destroy_stream")
        yield dev.destroy_stream_async(busy)
        return env.now

    assert run(env, host) == 50
    assert dev.live_streams == 0 and dev.streams_destroyed == 2
    with pytest.raises(DeviceError, match="destroyed"):
        dev.launch_work(busy, WorkItem("late", 1))


def test_synchronize_spins_at_the_poll_granularity() -> None:
    for poll, expected in ((0.0, 10.0), (3.0, 12.0)):
        env, dev = make(timing=exact_timing(sync_poll_us=poll))
        s, e = dev.create_stream(), dev.create_event()
        dev.launch_work(s, WorkItem("k", 10))
        dev.record_event(e, s)

        def host(e: Any = e, dev: SimDevice = dev, env: SeededEnvironment = env) -> Proc:
            with pytest.raises(DeviceError, match="would block"):
                dev.synchronize_event(e)
            yield dev.synchronize_event_async(e)
            return env.now

        assert run(env, host) == pytest.approx(expected)


def test_using_a_destroyed_event_is_an_error() -> None:
    _, dev = make()
    s, e = dev.create_stream(), dev.create_event()
    dev.destroy_event(e)
    for call in (
        lambda: dev.record_event(e, s),
        lambda: dev.stream_wait_event(s, e),
        lambda: dev.query_event(e),
        lambda: dev.synchronize_event(e),
        lambda: dev.synchronize_event_async(e),
        lambda: dev.destroy_event(e),
    ):
        with pytest.raises(DeviceError, match="e1 was destroyed"):
            call()
    with pytest.raises(DeviceError, match="not a stream"):
        dev.launch_work("s0", WorkItem("x", 1))  # type: ignore[arg-type]


def _interleaving(seed: int) -> tuple[list[str], list[tuple[str, str, float, float]]]:
    """Four streams whose host functions reach the host thread at the same instant."""
    timing = Timing(launch_work_min_us=5, launch_work_max_us=5, jitter=0)
    env, dev = make(seed, timing)
    order: list[str] = []

    def host() -> Proc:
        streams = [dev.create_stream(f"s{i}") for i in range(4)]
        for s in streams:
            dev.launch_work(s, WorkItem(f"k{s.label}", 10))
            dev.launch_host_func(s, functools.partial(order.append, s.label))
        yield env.timeout(0)
        return None

    run(env, host)
    return order, [(s.track, s.name, s.start_us, s.end_us) for s in dev.spans]


def test_same_seed_same_run_and_seeds_explore_simultaneous_orders() -> None:
    assert _interleaving(7) == _interleaving(7)
    orders = {tuple(_interleaving(seed)[0]) for seed in range(20)}
    assert len(orders) > 1


def test_seeded_environment_breaks_ties_randomly_but_reproducibly() -> None:
    def fired(seed: int) -> list[int]:
        env = SeededEnvironment(seed)
        out: list[int] = []
        for i in range(8):
            env.timeout(1, value=i).callbacks.append(lambda ev: out.append(ev.value))
        env.run()
        return out

    assert fired(1) == fired(1)
    assert sorted(fired(1)) == list(range(8))
    assert len({tuple(fired(seed)) for seed in range(10)}) > 1
    assert isinstance(SeededEnvironment(3).rng, random.Random)


def test_work_hooks_and_spans() -> None:
    env, dev = make()
    seen: list[tuple[str, str, str, float]] = []
    dev.on_work_start = lambda tag, label, t: seen.append(("start", tag, label, t))
    dev.on_work_end = lambda tag, label, t: seen.append(("end", tag, label, t))
    s = dev.create_stream("q0")
    dev.launch_work(s, WorkItem("x", 4))
    env.run()
    assert seen == [("start", "x", "q0", 0), ("end", "x", "q0", 4)]
    assert [(sp.track, sp.name, sp.start_us, sp.end_us) for sp in dev.spans] == [("q0", "x", 0, 4)]


def test_repeated_stream_labels_stay_distinct() -> None:
    _, dev = make()
    assert [dev.create_stream("q").label for _ in range(2)] == ["q", "q#1"]
    assert dev.create_stream().label == "stream2"


# ------------------------------------------------------------------------- Timing


def test_timing_defaults_follow_the_design() -> None:
    t = Timing()
    rng = random.Random(0)
    assert t.cost("record_event", random.Random(0)) == pytest.approx(2.0, rel=0.1)
    assert t.cost("launch_host_func", rng) == pytest.approx(6.0, rel=0.1)
    assert t.callback_latency_us == 100 and t.jitter == 0.1
    draws = [t.cost("launch_work", rng) for _ in range(200)]
    assert min(draws) >= 4 * 0.9 and max(draws) <= 17 * 1.1
    assert Timing(jitter=0).cost("query_event", rng) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"record_event_us": -1.0}, "record_event_us.*-1.0"),
        ({"callback_latency_us": math.nan}, "callback_latency_us.*nan"),
        ({"jitter": 1.5}, "jitter.*1.5"),
        ({"launch_work_min_us": 20.0}, "launch_work_min_us.*20.0"),
        ({"host_op_us": "1"}, "host_op_us.*'1'"),
    ],
)
def test_timing_rejects_bad_fields(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Timing(**kwargs)


def test_timing_rejects_unknown_operations() -> None:
    with pytest.raises(ValueError, match="unknown timed operation 'hipMalloc'"):
        Timing().cost("hipMalloc", random.Random(0))
