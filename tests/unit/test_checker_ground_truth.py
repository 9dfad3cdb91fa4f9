"""The ground-truth properties, on hand-built records: each rule flags a bad record that
the core's own logs would not betray, and accepts the matching good one.

Builders come from test_checker (`_Run` stamps seqs in call order).
"""

from __future__ import annotations

from typing import Any

from model.scenario.checker import check, not_run
from model.scenario.record import ValueChange
from model.scenario.types import Scenario, Wait, WaitMode
from tests.mutants import context_with
from tests.unit.test_checker import _Run, chain_run, only, scenario

# --------------------------------------------------------------------------- provenance


def test_provenance_flags_a_value_no_op_signalled() -> None:
    sc, run = chain_run()
    run.change("S", 7, 16.0)  # the log claims S = 7; nothing signals 7
    vs = only(check(sc, run.rec), "provenance")
    assert vs and "nothing signalled S = 7" in vs[0].message


def test_provenance_flags_a_value_shown_before_the_device_reached_it() -> None:
    sc, run = chain_run()
    run.rec.value_log = [c if c.semaphore != "S" else ValueChange("S", 1, "OK", 12.0, c.seq)
                         for c in run.rec.value_log]  # retire claimed while x still runs
    vs = only(check(sc, run.rec), "provenance")
    assert vs and "before execute x" in vs[0].message and "device end 15.000 us" in vs[0].message


def test_provenance_flags_a_wait_that_returned_before_its_signal() -> None:
    sc, run = chain_run()
    run.work("x", 5.0, 25.0)  # the device ended x after w and q returned OK
    vs = only(check(sc, run.rec), "provenance")
    assert {v.op for v in vs} >= {"w", "q"}
    assert any("first reached by execute x" in v.message for v in vs if v.op == "w")


# --------------------------------------------------------------------------- causality

CAUSAL: dict[str, list[dict[str, Any]]] = {
    "main": [
        {"op": "execute", "id": "x1", "queue": "q0", "signal": {"T": 20}, "duration_us": 10},
        {"op": "execute", "id": "r", "queue": "q0", "wait": {"T": 20}, "signal": {"R": 1},
         "duration_us": 10},
        {"op": "wait", "id": "w", "semaphores": {"R": 1}},
        {"op": "query", "id": "q", "semaphore": "T"},
    ],
    "other": [
        {"op": "wait", "id": "u", "semaphores": {"T": 20}, "timeout_us": 1},
    ],
}  # fmt: skip


def causal_run(t_read: int, u_status: str = "OK") -> tuple[Scenario, _Run]:
    """T=20 by x1 (device 0-30), r waits for it (device 30-40) and signals R=1; the host
    sees R = 1 at 60, then q reads T, and another actor's u waits T >= 20 at 70."""
    sc = scenario({"T": 0, "R": 0}, CAUSAL)
    run = _Run(sc)
    run.submit("x1", 0)
    run.submit("r", 1)
    run.begin("w", 2)
    run.work("x1", 20, 30)
    run.work("r", 30, 40)
    run.change("R", 1, 50)
    run.end("w", 60)
    if t_read == 20:
        run.change("T", 20, 60.5)
    run.call("q", 61, 62, value=t_read)
    run.call("u", 70, 71, u_status)
    if t_read != 20:
        run.change("T", 20, 100)
    run.rec.issue_order["q0"] = run.rec.ready_order["q0"] = ["x1", "r"]
    run.rec.stream_order["q0"] = ["x1", "r"]
    run.rec.completion_order["q0"] = ["x1", "r"]
    return sc, run


def test_causality_accepts_a_visible_past() -> None:
    sc, run = causal_run(20)
    assert only(check(sc, run.rec), "causality") == []


def test_causality_flags_a_query_behind_an_observed_dependency() -> None:
    sc, run = causal_run(0)
    vs = only(check(sc, run.rec), "causality")
    assert [v.op for v in vs][:1] == ["q"]
    message = vs[0].message
    # both sides: the query, what it read, the observation and the dependency
    assert "read T = 0" in message and "T >= 20" in message
    assert "w (actor main) observed all of R>=1" in message
    assert "execute r waited for T >= 20" in message


def test_causality_flags_a_timed_wait_that_missed_a_visible_past() -> None:
    sc, run = causal_run(20, u_status="DEADLINE_EXCEEDED")
    vs = only(check(sc, run.rec), "causality")
    assert [v.op for v in vs] == ["u"] and "already visible" in vs[0].message


# --------------------------------------------------------------------------- failed-semaphore


def failed_run(q_status: str, w_status: str) -> tuple[Scenario, _Run]:
    sc = scenario({"S": 0}, {"main": [
        {"op": "fail", "id": "f", "semaphore": "S", "code": "ABORTED"},
        {"op": "query", "id": "q", "semaphore": "S"},
        {"op": "wait", "id": "w", "semaphores": {"S": 1}, "timeout_us": 5},
    ]})  # fmt: skip
    run = _Run(sc)
    run.begin("f", 0)
    run.change("S", 0, 0.5, "ABORTED")
    run.end("f", 1)
    run.call("q", 2, 3, q_status, value=0 if q_status == "OK" else None)
    run.call("w", 4, 9 if w_status == "DEADLINE_EXCEEDED" else 4, w_status)
    return sc, run


def test_failed_semaphore_accepts_failure_answers() -> None:
    sc, run = failed_run("ABORTED", "ABORTED")
    assert check(sc, run.rec) == []


def test_failed_semaphore_flags_a_value_and_a_timeout_after_the_failure() -> None:
    sc, run = failed_run("OK", "DEADLINE_EXCEEDED")
    vs = only(check(sc, run.rec), "failed-semaphore")
    assert [v.op for v in vs] == ["q", "w"]
    assert "after S had failed (fail f returned at 1.000 us)" in vs[0].message


# --------------------------------------------------------------------------- deadline


def deadline_run(signal_at: float, w_end: float, w_status: str,
                 log: bool = True) -> tuple[Scenario, _Run]:
    sc = scenario({"W": 0}, {
        "main": [{"op": "wait", "id": "w", "semaphores": {"W": 1}, "timeout_us": 10}],
        "helper": [{"op": "signal", "id": "sw", "semaphore": "W", "value": 1}],
    })  # fmt: skip
    run = _Run(sc)
    run.begin("w", 0)
    run.begin("sw", signal_at)
    if log:
        run.change("W", 1, signal_at + 0.5)
    run.end("sw", signal_at + 1)
    run.end("w", w_end, w_status)
    run.rec.ops["w"].end_seq = run.rec.ops["sw"].end_seq + 1  # type: ignore[operator]
    return sc, run


def test_deadline_flags_ok_after_the_deadline() -> None:
    sc, run = deadline_run(40, 41.5, "OK")  # woke by a signal that came 30 us late
    vs = only(check(sc, run.rec), "deadline")
    assert [v.op for v in vs] == ["w"] and "first held after the deadline" in vs[0].message
    assert "host signal sw" in vs[0].message


def test_deadline_flags_a_late_timeout() -> None:
    sc, run = deadline_run(40, 30, "DEADLINE_EXCEEDED")  # deadline 10, returned at 30
    vs = only(check(sc, run.rec), "deadline")
    assert vs and "after its deadline" in vs[0].message


def test_deadline_flags_a_timeout_though_a_host_call_had_shown_the_value() -> None:
    # The core's log omits the change (it lies), so linearizable-wait has nothing to
    # compare; the host signal that returned at 4 us is ground truth.
    sc, run = deadline_run(3, 10, "DEADLINE_EXCEEDED", log=False)
    vs = only(check(sc, run.rec), "deadline")
    assert vs and "host-visible before it: W = 1 shown by sw" in vs[0].message


def test_deadline_accepts_a_signal_racing_the_deadline() -> None:
    sc, run = deadline_run(9.5, 10, "DEADLINE_EXCEEDED")  # returned at 10.5: after
    assert only(check(sc, run.rec), "deadline") == []


# --------------------------------------------------------------------------- teardown

PARKED: dict[str, list[dict[str, Any]]] = {
    "main": [{"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1}, "signal": {"S": 1}}],
}


def parked_run() -> tuple[Scenario, _Run]:
    sc = scenario({"W": 0, "S": 0}, PARKED)
    run = _Run(sc)
    run.submit("x", 0)
    return sc, run


def test_teardown_flags_a_dropped_action() -> None:
    sc, run = parked_run()
    run.rec.teardown.semaphores = {"W": (0, "OK"), "S": (0, "OK")}
    vs = only(check(sc, run.rec), "teardown")
    assert [v.op for v in vs] == ["x"] and "dropped" in vs[0].message
    assert not_run(sc, run.rec) == {"x": "dropped: submitted, never finished"}


def test_teardown_flags_a_cancellation_that_does_not_fail_its_signals() -> None:
    sc, run = parked_run()
    run.rec.teardown.statuses = {"x": "CANCELLED"}
    run.rec.cancelled_at_teardown = ["x"]
    run.rec.teardown.semaphores = {"W": (0, "OK"), "S": (0, "OK")}
    vs = only(check(sc, run.rec), "teardown")
    assert [v.op for v in vs] == ["x"] and "S, was not failed after teardown" in vs[0].message
    assert not_run(sc, run.rec)["x"].startswith("CANCELLED at teardown")


def test_teardown_flags_a_failure_without_cause() -> None:
    sc, run = parked_run()
    run.rec.teardown.statuses = {"x": "CANCELLED"}
    run.rec.cancelled_at_teardown = ["x"]
    run.rec.teardown.value_log = [ValueChange("S", 0, "CANCELLED", 30, 90),
                                  ValueChange("W", 0, "CANCELLED", 30, 91)]
    run.rec.teardown.semaphores = {"W": (0, "CANCELLED"), "S": (0, "CANCELLED")}
    vs = only(check(sc, run.rec), "teardown")
    assert len(vs) == 1 and "semaphore W failed with CANCELLED during teardown" in vs[0].message


# --------------------------------------------------------------------------- fifo


def test_fifo_flags_a_completion_order_other_than_the_launch_order() -> None:
    sc = scenario({"A": 0}, {"main": [
        {"op": "execute", "id": "a", "queue": "q0"},
        {"op": "execute", "id": "b", "queue": "q0"},
    ]})  # fmt: skip
    run = _Run(sc)
    run.submit("a", 0)
    run.submit("b", 1)
    run.work("a", 2, 3)
    run.work("b", 3, 4)
    run.order("q0", ["a", "b"])
    assert check(sc, run.rec) == []
    run.rec.completion_order["q0"] = ["b", "a"]
    vs = only(check(sc, run.rec), "fifo")
    assert [v.op for v in vs] == ["b"] and "completion order" in vs[0].message


# --------------------------------------------------------------------------- empty waits


def test_empty_waits_hold_in_both_modes() -> None:
    waits = [Wait("all0", {}, WaitMode.ALL, None), Wait("any0", {}, WaitMode.ANY, 0.0)]
    sc = Scenario("empty", {"S": 0}, ["q0"], {"main": list(waits)})
    run = _Run(sc)
    run.call("all0", 0, 0)
    run.call("any0", 1, 1)
    assert check(sc, run.rec) == []
    run.call("any0", 1, 1, "DEADLINE_EXCEEDED")
    vs = check(sc, run.rec)
    assert [(v.property, v.op) for v in vs] == [
        ("liveness", "any0"), ("linearizable-wait", "any0"), ("deadline", "any0")]


# --------------------------------------------------------------------------- pool vs device


def test_conservation_checks_the_event_pool_against_the_device_counts() -> None:
    from model.scenario.record import PoolReport

    sc, run = chain_run()
    run.rec.pools["event"] = PoolReport(capacity=4, created=1, destroyed=1, peak_in_use=5,
                                        misses=1, in_use_at_end=0, acquires=7, prefilled=4,
                                        closed=4)
    run.rec.device_events = (5, 5, 7)
    assert only(check(sc, run.rec), "conservation") == []
    run.rec.device_events = (5, 5, 8)
    vs = only(check(sc, run.rec), "conservation")
    assert len(vs) == 1 and "8 record_event calls" in vs[0].message
    run.rec.device_events = (6, 5, 7)  # the pool under-reports what it created
    vs = only(check(sc, run.rec), "conservation")
    assert len(vs) == 1 and "the device saw 6 create_event calls" in vs[0].message


# --------------------------------------------------------------------------- cores that
# ignore a setting or a rule, run on the SimPy backend


def test_a_core_that_ignores_the_completion_mode_is_caught() -> None:
    from model.core.queue import DeferredQueue
    from model.sim.runner import run_sim
    from tests.unit.helpers import execute
    from tests.unit.helpers import scenario as build

    class Inverted(DeferredQueue):
        @property
        def callback_mode(self) -> bool:
            return self.ctx.settings.completion != "callback"

    for mode in ("callback", "thread"):
        sc = build({"h": [execute("x", signal={"A": 1})]}, {"A": 0}, completion=mode)
        assert check(sc, run_sim(sc, 0)) == []
        vs = only(check(sc, run_sim(sc, 0, context_factory=context_with(Inverted))),
                  "host-callback-api")
        assert len(vs) == 1 and f"completion mode is {mode}" in vs[0].message


def test_a_core_that_accepts_a_stale_signal_at_submit_is_caught() -> None:
    from model.core.queue import DeferredQueue
    from model.sim.runner import run_sim
    from tests.unit.helpers import execute
    from tests.unit.helpers import scenario as build

    class Accepting(DeferredQueue):
        def execute(self, ident: str, waits: Any, signals: Any, work: Any) -> Any:
            stale = [(s, v) for s, v in signals if v <= s.value]
            fresh = [(s, v) for s, v in signals if v > s.value]
            del stale  # the mutant: the overtaken signal is silently dropped
            return super().execute(ident, waits, fresh, work)

    sc = build({"h": [{"op": "signal", "id": "s", "semaphore": "A", "value": 5},
                      execute("x", signal={"A": 3})]}, {"A": 0})
    good = run_sim(sc, 0)
    assert good.ops["x"].status == "OUT_OF_RANGE" and check(sc, good) == []
    vs = only(check(sc, run_sim(sc, 0, context_factory=context_with(Accepting))), "causality")
    assert [v.op for v in vs] == ["x"] and "must be rejected with OUT_OF_RANGE" in vs[0].message


# --------------------------------------------------------------------------- codes, log


def test_the_core_status_table_is_held_to_iree() -> None:
    import enum

    from model.core.status import StatusCode
    from model.scenario.checker.iree_status import IREE_STATUS_CODES, status_table_problems

    assert status_table_problems(StatusCode) == ()
    Renumbered = enum.IntEnum(  # type: ignore[misc]
        "Renumbered", {**IREE_STATUS_CODES, "ABORTED": 11, "OUT_OF_RANGE": 12})
    problems = status_table_problems(Renumbered)
    assert "status code ABORTED is 11, IREE's is 10" in problems
    assert any(p.startswith("status code UNIMPLEMENTED (12) is an alias") for p in problems)


def test_monotonic_flags_an_advance_to_the_same_value() -> None:
    sc, run = chain_run()
    run.change("S", 1, 19.0)  # a second "advance" to 1
    vs = only(check(sc, run.rec), "monotonic")
    assert len(vs) == 1 and "the value it already had" in vs[0].message
