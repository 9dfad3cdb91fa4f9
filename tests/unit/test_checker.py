"""The checker: for every property, a good record passes and a bad record is flagged.

Records are built by hand with `_Run`, which hands out seq numbers in call order so that
each test reads like the run it describes.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from model.scenario.checker import (
    PROPERTIES,
    Violation,
    analyze,
    check,
    expected_outcomes,
)
from model.scenario.parse import parse_scenario
from model.scenario.record import PENDING, OpResult, PoolReport, RunRecord, ValueChange
from model.scenario.types import FORMAT, Scenario

# --------------------------------------------------------------------------- builders


def scenario(sems: dict[str, int], actors: dict[str, list[dict[str, Any]]]) -> Scenario:
    return parse_scenario(
        {"format": FORMAT, "name": "t", "semaphores": sems, "queues": ["q0"], "actors": actors}
    )


def pool() -> PoolReport:
    return PoolReport(capacity=32, created=2, destroyed=2, peak_in_use=1, misses=0, in_use_at_end=0)


class _Run:
    """Builds a RunRecord; every observation takes the next seq."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.seq = 0
        self.rec = RunRecord(scenario=sc.name, backend="sim", seed=0)
        self.rec.pools = {"event": pool(), "timepoint": pool()}
        self.rec.semaphores = {s: (v, "OK") for s, v in sc.semaphores.items()}
        self.actor = {op.id: a for a, _, op in sc.ops()}
        self.kind = {op.id: op.op for _, _, op in sc.ops()}
        for op_id in self.actor:
            self.rec.ops[op_id] = OpResult(op_id, self.actor[op_id], self.kind[op_id])

    def next(self) -> int:
        self.seq += 1
        return self.seq

    def call(self, op_id: str, t0: float, t1: float, status: str = "OK", **kw: Any) -> None:
        """A host call made at t0 and returning at t1 (seqs taken now, start then end)."""
        r = self.rec.ops[op_id]
        r.status, r.start_us, r.end_us = status, t0, t1
        r.start_seq, r.end_seq = self.next(), self.next()
        for k, v in kw.items():
            setattr(r, k, v)

    def begin(self, op_id: str, t0: float) -> None:
        r = self.rec.ops[op_id]
        r.start_us, r.start_seq = t0, self.next()

    def end(self, op_id: str, t1: float, status: str = "OK", **kw: Any) -> None:
        r = self.rec.ops[op_id]
        r.status, r.end_us, r.end_seq = status, t1, self.next()
        for k, v in kw.items():
            setattr(r, k, v)

    def submit(self, op_id: str, t: float) -> None:
        r = self.rec.ops[op_id]
        r.submit_us, r.submit_seq = t, self.next()

    def work(self, op_id: str, t0: float, t1: float, status: str = "OK") -> None:
        r = self.rec.ops[op_id]
        r.start_us, r.end_us, r.status = t0, t1, status

    def change(self, sem: str, value: int, t: float, status: str = "OK") -> None:
        self.rec.value_log.append(ValueChange(sem, value, status, t, self.next()))
        self.rec.semaphores[sem] = (value, status)

    def order(self, q: str, ids: list[str]) -> None:
        self.rec.ready_order[q] = list(ids)
        self.rec.issue_order[q] = list(ids)
        self.rec.stream_order[q] = [i for i in ids if self.rec.ops[i].start_us is not None]
        self.rec.completion_order[q] = [i for i in ids if self.rec.ops[i].status == "OK"]


def flagged(violations: list[Violation], prop: str, op: str | None) -> bool:
    return any(v.property == prop and v.op == op for v in violations)


def only(violations: list[Violation], prop: str) -> list[Violation]:
    return [v for v in violations if v.property == prop]


# --------------------------------------------------------------------------- scenarios

# x waits W>=1 (released by the host signal "sw"), then signals S=1; w waits S>=1.
CHAIN: dict[str, list[dict[str, Any]]] = {
    "main": [
        {"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1}, "signal": {"S": 1},
         "duration_us": 10},
        {"op": "signal", "id": "sw", "semaphore": "W", "value": 1},
        {"op": "wait", "id": "w", "semaphores": {"S": 1}},
        {"op": "query", "id": "q", "semaphore": "S"},
    ]
}  # fmt: skip


def chain_run() -> tuple[Scenario, _Run]:
    sc = scenario({"W": 0, "S": 0}, CHAIN)
    run = _Run(sc)
    run.submit("x", 0.0)
    run.begin("sw", 2.0)
    run.change("W", 1, 3.0)
    run.end("sw", 4.0)
    run.begin("w", 4.0)
    run.work("x", 5.0, 15.0)
    run.change("S", 1, 18.0)
    run.end("w", 20.0)
    run.call("q", 21.0, 22.0, value=1)
    run.order("q0", ["x"])
    return sc, run


def test_chain_good_record_passes() -> None:
    sc, run = chain_run()
    assert check(sc, run.rec) == []


def test_properties_are_the_documented_ones() -> None:
    r"""docs/checker.md has one `### \`name\`` section per property, in checker order."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "checker.md").read_text()
    documented = tuple(re.findall(r"^### `([a-z-]+)`$", docs, flags=re.M))
    assert documented == PROPERTIES
    assert PROPERTIES[:4] == ("crash", "happens-before", "provenance", "causality")


# --------------------------------------------------------------------------- happens-before


def test_happens_before_flags_work_started_before_its_wait() -> None:
    sc, run = chain_run()
    run.work("x", 1.0, 11.0)  # before the host signal "sw" (call at 2.0)
    assert flagged(check(sc, run.rec), "happens-before", "x")


def test_happens_before_flags_work_when_nothing_signalled() -> None:
    sc, run = chain_run()
    run.rec.ops["sw"].status = PENDING
    vs = only(check(sc, run.rec), "happens-before")
    assert [v.op for v in vs] == ["x"] and "nothing ever signalled W >= 1" in vs[0].message


def test_happens_before_uses_execute_signal_end() -> None:
    sc, run = producer_consumer_run()
    run.work("p", 2, 7)
    run.work("c", 7, 7)  # barrier right at the producer's end: fine
    run.change("A", 1, 9)
    run.order("q0", ["p", "c"])
    assert check(sc, run.rec) == []
    run.work("c", 6, 6)
    assert flagged(check(sc, run.rec), "happens-before", "c")


# --------------------------------------------------------------------------- liveness


def test_liveness_chain_released_by_host_signal_must_complete() -> None:
    sc, run = chain_run()
    assert expected_outcomes(sc) == {
        "x": frozenset({"OK"}),
        "sw": frozenset({"OK"}),
        "w": frozenset({"OK"}),
        "q": frozenset({"OK"}),
    }
    run.rec.ops["w"].status = PENDING
    run.rec.ops["q"] = OpResult("q", "main", "query")
    vs = check(sc, run.rec)
    assert flagged(vs, "liveness", "w") and flagged(vs, "liveness", "q")


def test_liveness_wait_whose_signal_is_never_submitted() -> None:
    sc = scenario(
        {"W": 0},
        {
            "main": [
                {"op": "wait", "id": "w", "semaphores": {"W": 1}},
                {"op": "execute", "id": "x", "queue": "q0", "signal": {"W": 1}},
            ]
        },
    )
    assert expected_outcomes(sc) == {"w": frozenset({PENDING}), "x": frozenset({PENDING})}
    run = _Run(sc)
    run.begin("w", 0.0)
    assert check(sc, run.rec) == []
    run.end("w", 5.0)  # returned OK although nothing can signal W
    vs = check(sc, run.rec)
    assert flagged(vs, "liveness", "w")
    assert "allowed: PENDING" in only(vs, "liveness")[0].message


CASCADE: dict[str, list[dict[str, Any]]] = {
    "main": [
        {"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1}, "signal": {"S": 1}},
        {"op": "execute", "id": "y", "queue": "q0", "wait": {"S": 1}, "signal": {"T": 1}},
        {"op": "wait", "id": "w", "semaphores": {"T": 1}},
    ],
    "helper": [{"op": "sleep", "id": "z", "us": 50},
               {"op": "fail", "id": "f", "semaphore": "W", "code": "ABORTED"}],
}  # fmt: skip


def cascade_run() -> tuple[Scenario, _Run]:
    sc = scenario({"W": 0, "S": 0, "T": 0}, CASCADE)
    run = _Run(sc)
    run.submit("x", 0)
    run.submit("y", 1)
    run.begin("w", 2)
    run.begin("z", 0)
    run.end("z", 50)
    run.begin("f", 50)
    run.change("W", 0, 51, "ABORTED")
    run.end("f", 52)
    run.rec.ops["x"].status = "ABORTED"
    run.change("S", 0, 53, "ABORTED")
    run.rec.ops["y"].status = "ABORTED"
    run.change("T", 0, 54, "ABORTED")
    run.end("w", 55, "ABORTED")
    return sc, run


def test_liveness_failure_cascade() -> None:
    sc, run = cascade_run()
    exp = expected_outcomes(sc)
    assert exp["x"] == exp["y"] == exp["w"] == frozenset({"ABORTED"})
    assert check(sc, run.rec) == []
    run.rec.ops["y"].status = "OK"
    assert flagged(check(sc, run.rec), "liveness", "y")


def test_liveness_teardown_cancellation_counts_as_pending() -> None:
    sc = scenario(
        {"W": 0, "S": 0},
        {"main": [{"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1},
                   "signal": {"S": 1}}]},
    )  # fmt: skip
    run = _Run(sc)
    run.submit("x", 0)
    run.rec.ops["x"].status = "CANCELLED"
    run.change("S", 0, 100, "CANCELLED")
    assert flagged(check(sc, run.rec), "liveness", "x")
    run.rec.cancelled_at_teardown = ["x"]
    assert check(sc, run.rec) == []


def test_liveness_racy_host_signals_may_be_out_of_range() -> None:
    sc = scenario(
        {"W": 0},
        {
            "a": [{"op": "signal", "id": "s1", "semaphore": "W", "value": 1}],
            "b": [{"op": "signal", "id": "s2", "semaphore": "W", "value": 2}],
        },
    )
    exp = expected_outcomes(sc)
    assert exp["s1"] == frozenset({"OK", "OUT_OF_RANGE"})
    assert exp["s2"] == frozenset({"OK"})


def test_expected_outcomes_timeouts_and_blocked_actor() -> None:
    sc = scenario(
        {"W": 0, "A": 5},
        {
            "main": [
                {"op": "wait", "id": "poll", "semaphores": {"W": 1}, "timeout_us": 0},
                {"op": "wait", "id": "now", "semaphores": {"A": 5}, "timeout_us": 10},
                {"op": "wait", "id": "block", "semaphores": {"W": 1}},
                {"op": "query", "id": "after", "semaphore": "A"},
            ],
            "late": [
                {"op": "sleep", "id": "nap", "us": 5},
                {"op": "signal", "id": "sw", "semaphore": "W", "value": 1},
            ],
        },
    )
    exp = expected_outcomes(sc)
    assert exp["poll"] == frozenset({"OK", "DEADLINE_EXCEEDED"})
    assert exp["now"] == frozenset({"OK"})
    assert exp["block"] == frozenset({"OK"})
    assert exp["after"] == frozenset({"OK"})
    a = analyze(sc)
    assert a.may_reach("W", 1) and not a.may_reach("W", 2)


def test_expected_outcomes_deadlock_cycle() -> None:
    sc = scenario(
        {"A": 0, "B": 0},
        {"main": [
            {"op": "execute", "id": "x", "queue": "q0", "wait": {"A": 1}, "signal": {"B": 1}},
            {"op": "execute", "id": "y", "queue": "q0", "wait": {"B": 1}, "signal": {"A": 1}},
            {"op": "wait", "id": "w", "semaphores": {"A": 1, "B": 1}, "mode": "any"},
            {"op": "sleep", "id": "s", "us": 1},
        ]},
    )  # fmt: skip
    assert set(expected_outcomes(sc).values()) == {frozenset({PENDING})}


def test_expected_outcomes_fail_may_race_with_release() -> None:
    sc = scenario(
        {"W": 0, "S": 0},
        {
            "main": [
                {"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1}, "signal": {"S": 1}},
                {"op": "signal", "id": "sw", "semaphore": "W", "value": 1},
                {"op": "wait", "id": "w", "semaphores": {"S": 1}},
            ],
            "helper": [{"op": "fail", "id": "f", "semaphore": "W", "code": "CANCELLED"}],
        },
    )
    exp = expected_outcomes(sc)
    assert exp["x"] == frozenset({"OK", "CANCELLED"})  # settles either way: never PENDING
    assert exp["w"] == frozenset({"OK", "CANCELLED"})
    assert exp["sw"] == frozenset({"OK", "CANCELLED"})


# --------------------------------------------------------------------------- monotonic


def two_signals() -> tuple[Scenario, _Run]:
    sc = scenario(
        {"W": 0},
        {
            "main": [
                {"op": "signal", "id": "s1", "semaphore": "W", "value": 1},
                {"op": "query", "id": "q1", "semaphore": "W"},
                {"op": "signal", "id": "s2", "semaphore": "W", "value": 2},
                {"op": "query", "id": "q2", "semaphore": "W"},
            ]
        },
    )
    run = _Run(sc)
    run.begin("s1", 0)
    run.change("W", 1, 1)
    run.end("s1", 2)
    run.call("q1", 3, 4, value=1)
    run.begin("s2", 5)
    run.change("W", 2, 6)
    run.end("s2", 7)
    run.call("q2", 8, 9, value=2)
    return sc, run


def test_monotonic_good() -> None:
    sc, run = two_signals()
    assert check(sc, run.rec) == []


def test_monotonic_flags_decreasing_log() -> None:
    sc, run = two_signals()
    run.rec.value_log.append(ValueChange("W", 1, "OK", 7.5, 100))
    vs = only(check(sc, run.rec), "monotonic")
    assert vs and vs[0].op is None and "from 2 down to 1" in vs[0].message


def test_monotonic_flags_decreasing_queries() -> None:
    sc, run = two_signals()
    run.rec.ops["q1"].value = 2
    run.rec.ops["q2"].value = 1
    assert flagged(check(sc, run.rec), "monotonic", "q2")


def test_monotonic_flags_advance_after_failure() -> None:
    sc, run = two_signals()
    log = run.rec.value_log
    log.insert(1, ValueChange("W", 1, "ABORTED", 2.5, 5))  # between the two advances
    vs = only(check(sc, run.rec), "monotonic")
    assert any("after it failed with ABORTED" in v.message for v in vs)


# --------------------------------------------------------------------------- linearizable-wait


def test_linearizable_flags_wait_ok_before_value_visible() -> None:
    sc, run = chain_run()
    # The wait returned before S=1 was published on the host (device-event shortcut).
    s_change = run.rec.value_log[-1]
    run.rec.value_log[-1] = replace(s_change, seq=(run.rec.ops["w"].end_seq or 0) + 1, time_us=21)
    run.rec.ops["q"].start_seq = 100
    run.rec.ops["q"].end_seq = 101
    vs = check(sc, run.rec)
    assert flagged(vs, "linearizable-wait", "w")
    assert not flagged(vs, "linearizable-wait", "q")


def timeout_run(t_end: float, value_at: float) -> tuple[Scenario, _Run]:
    """w (timeout 10 us) times out at t_end; the helper's signal publishes W=1 at value_at."""
    sc = scenario(
        {"W": 0},
        {
            "main": [{"op": "wait", "id": "w", "semaphores": {"W": 1}, "timeout_us": 10}],
            "helper": [{"op": "signal", "id": "sw", "semaphore": "W", "value": 1}],
        },
    )
    run = _Run(sc)
    run.begin("w", 0)
    late = value_at > t_end
    if late:
        run.end("w", t_end, "DEADLINE_EXCEEDED")
    run.begin("sw", value_at - 0.5)
    run.change("W", 1, value_at)
    run.end("sw", value_at + 0.5)
    if not late:
        run.end("w", t_end, "DEADLINE_EXCEEDED")
    return sc, run


def test_linearizable_deadline_good() -> None:
    sc, run = timeout_run(10.0, 20.0)
    assert check(sc, run.rec) == []
    sc, run = timeout_run(10.0, 10.0)  # published at the deadline instant: a race, fine
    assert not only(check(sc, run.rec), "linearizable-wait")


def test_linearizable_flags_early_timeout() -> None:
    sc, run = timeout_run(5.0, 20.0)
    vs = only(check(sc, run.rec), "deadline")
    assert vs and vs[0].op == "w" and "before its deadline" in vs[0].message


def test_linearizable_flags_lost_wakeup() -> None:
    sc, run = timeout_run(10.0, 3.0)
    vs = only(check(sc, run.rec), "linearizable-wait")
    assert vs and vs[0].op == "w" and "held before the deadline" in vs[0].message


def test_linearizable_flags_query_out_of_range() -> None:
    sc, run = two_signals()
    run.rec.ops["q1"].value = 2  # W was 1 throughout q1's call
    assert flagged(check(sc, run.rec), "linearizable-wait", "q1")


def test_linearizable_flags_failure_not_seen() -> None:
    sc, run = cascade_run()
    run.rec.ops["w"].end_seq = 1  # returned ABORTED before any failure was visible
    assert flagged(check(sc, run.rec), "linearizable-wait", "w")


# --------------------------------------------------------------------------- failure-propagation


def test_failure_propagation_flags_signal_semaphore_left_ok() -> None:
    sc, run = cascade_run()
    run.rec.semaphores["S"] = (0, "OK")
    vs = only(check(sc, run.rec), "failure-propagation")
    assert any(v.op == "x" and "S, ended OK" in v.message for v in vs)


def test_failure_propagation_flags_failure_without_cause() -> None:
    sc, run = chain_run()
    run.rec.semaphores["S"] = (1, "INTERNAL")
    vs = only(check(sc, run.rec), "failure-propagation")
    assert vs and vs[0].op is None and "no fail op" in vs[0].message


def test_failure_propagation_flags_wrong_code() -> None:
    sc, run = cascade_run()
    run.rec.ops["y"].status = "INTERNAL"
    assert flagged(check(sc, run.rec), "failure-propagation", "y")


def test_failure_propagation_flags_ok_after_failed_wait() -> None:
    sc = scenario(
        {"W": 0, "S": 0},
        {
            "main": [
                {"op": "fail", "id": "f", "semaphore": "W", "code": "ABORTED"},
                {"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1}, "signal": {"S": 1}},
            ],
            "helper": [{"op": "signal", "id": "sw", "semaphore": "W", "value": 1}],
        },
    )
    run = _Run(sc)
    run.begin("f", 0)
    run.change("W", 0, 1, "ABORTED")
    run.end("f", 2)
    run.submit("x", 3)
    run.call("sw", 4, 5, "ABORTED")
    run.rec.ops["x"].status = "ABORTED"
    run.change("S", 0, 6, "ABORTED")
    assert check(sc, run.rec) == []
    run.rec.ops["x"].status = "OK"
    run.rec.semaphores["S"] = (1, "OK")
    assert flagged(check(sc, run.rec), "failure-propagation", "x")


# --------------------------------------------------------------------------- conservation


def test_conservation_flags_pools_problems_and_lost_actions() -> None:
    sc, run = chain_run()
    run.rec.pools["event"] = replace(pool(), in_use_at_end=1)
    run.rec.pools["timepoint"] = replace(pool(), created=3)
    run.rec.conservation_problems = ["semaphore S: 1 timepoint(s) still registered"]
    del run.rec.ops["x"]
    vs = only(check(sc, run.rec), "conservation")
    msgs = " | ".join(v.message for v in vs)
    assert "still in use" in msgs and "not destroyed" in msgs and "still registered" in msgs
    assert flagged(vs, "conservation", "x")


def test_conservation_flags_destroying_more_than_created() -> None:
    sc, run = chain_run()
    run.rec.pools["event"] = replace(pool(), destroyed=3)
    vs = only(check(sc, run.rec), "conservation")
    assert len(vs) == 1 and "destroyed 3 but created only 2" in vs[0].message


# --------------------------------------------------------------------------- host-callback-api


def test_host_callback_api_flags_each_call() -> None:
    sc, run = chain_run()
    run.rec.host_function_api_calls = ["destroy_event (host function of q0)"]
    vs = only(check(sc, run.rec), "host-callback-api")
    assert len(vs) == 1 and "destroy_event" in vs[0].message


# --------------------------------------------------------------------------- fifo


def fifo_run() -> tuple[Scenario, _Run]:
    sc = scenario(
        {"S": 0},
        {
            "main": [
                {"op": "execute", "id": "a", "queue": "q0", "signal": {"S": 1}, "duration_us": 1},
                {"op": "execute", "id": "b", "queue": "q0", "signal": {"S": 2}, "duration_us": 1},
            ]
        },
    )
    run = _Run(sc)
    run.submit("a", 0)
    run.submit("b", 1)
    run.work("a", 2, 3)
    run.change("S", 1, 4)
    run.work("b", 3, 4)
    run.change("S", 2, 5)
    run.order("q0", ["a", "b"])
    return sc, run


def test_fifo_good() -> None:
    sc, run = fifo_run()
    assert check(sc, run.rec) == []


def test_fifo_flags_issue_order_not_ready_order() -> None:
    sc, run = fifo_run()
    run.rec.issue_order["q0"] = ["b", "a"]
    vs = only(check(sc, run.rec), "fifo")
    # From ground truth: a was ready (submitted, no waits) before b was even submitted.
    assert flagged(vs, "fifo", "a") and "before b could be ready" in vs[0].message
    # And the launch order contradicts the core's own ready order.
    assert any(v.op == "b" and "the core's ready order" in v.message for v in vs)


def test_fifo_flags_stream_order() -> None:
    sc, run = fifo_run()
    run.rec.stream_order["q0"] = ["b", "a"]
    assert flagged(check(sc, run.rec), "fifo", "b")


def test_fifo_flags_same_actor_ready_out_of_submission_order() -> None:
    sc, run = fifo_run()
    run.order("q0", ["b", "a"])  # consistent logs, but b was submitted after a
    vs = only(check(sc, run.rec), "fifo")
    assert [v.op for v in vs] == ["a", "b"]
    assert "before b could be ready" in vs[0].message and "before a" in vs[1].message


# --------------------------------------------------------------------------- hardware records


def test_happens_before_uses_observation_matrix_when_present() -> None:
    sc, run = producer_consumer_run()
    # Device times agree; the device's own observation must agree too.
    run.work("p", 2, 9)
    run.work("c", 9.5, 10)
    run.change("A", 1, 9.2)
    run.order("q0", ["p", "c"])
    run.rec.observed_before = {"p": set(), "c": {"p"}}
    assert check(sc, run.rec) == []
    run.rec.observed_before = {"p": set(), "c": set()}
    vs = only(check(sc, run.rec), "happens-before")
    assert [v.op for v in vs] == ["c"] and "done when it began: none" in vs[0].message


def test_teardown_cancellation_is_a_failure_cause() -> None:
    sc = scenario(
        {"W": 0, "S": 0},
        {"main": [{"op": "execute", "id": "x", "queue": "q0", "wait": {"W": 1},
                   "signal": {"S": 1}}]},
    )  # fmt: skip
    run = _Run(sc)
    run.submit("x", 0)
    run.rec.cancelled_at_teardown = ["x"]
    run.rec.teardown.statuses = {"x": "CANCELLED"}
    run.rec.semaphores["S"] = (0, "CANCELLED")  # snapshot taken after teardown
    run.rec.teardown.semaphores = {"W": (0, "OK"), "S": (0, "CANCELLED")}
    assert check(sc, run.rec) == []


# --------------------------------------------------------------------------- races in the analysis


def test_overtaken_execute_may_be_rejected_and_then_signals_nothing() -> None:
    sc = scenario(
        {"S": 0, "T": 0},
        {
            "a": [{"op": "signal", "id": "big", "semaphore": "S", "value": 5}],
            "b": [
                {"op": "execute", "id": "x", "queue": "q0", "signal": {"S": 2, "T": 1}},
                {"op": "wait", "id": "w", "semaphores": {"T": 1}},
            ],
        },
    )
    exp = expected_outcomes(sc)
    assert exp["x"] == frozenset({"OK", "OUT_OF_RANGE"})
    # x may be rejected, so T may never be signalled: w may block.
    assert exp["w"] == frozenset({"OK", PENDING})
    run = _Run(sc)
    run.call("big", 0, 1)
    run.rec.value_log.append(ValueChange("S", 5, "OK", 0.5, run.next()))
    run.rec.semaphores["S"] = (5, "OK")
    run.submit("x", 2)
    run.rec.ops["x"].status = run.rec.ops["x"].submit_status = "OUT_OF_RANGE"
    run.begin("w", 3)
    assert check(sc, run.rec) == []
    # A rejection the host-visible values do not justify is flagged.
    run.rec.ops["x"].submit_seq = 0
    assert flagged(check(sc, run.rec), "linearizable-wait", "x")


def test_failure_after_a_pair_was_reached_need_not_wake_an_all_wait() -> None:
    sc = scenario(
        {"S": 0, "T": 0},
        {
            "a": [
                {"op": "signal", "id": "s1", "semaphore": "S", "value": 1},
                {"op": "wait", "id": "w", "semaphores": {"S": 1, "T": 1}},
            ],
            "b": [{"op": "fail", "id": "f", "semaphore": "S", "code": "ABORTED"}],
        },
    )
    # S may be reached before it fails, so the failure proves nothing: w may block.
    assert expected_outcomes(sc)["w"] == frozenset({"ABORTED", PENDING})
    sc2 = scenario(
        {"S": 0, "T": 0},
        {
            "a": [{"op": "wait", "id": "w", "semaphores": {"S": 1, "T": 1}}],
            "b": [{"op": "fail", "id": "f", "semaphore": "S", "code": "ABORTED"}],
        },
    )
    # Nothing can reach S >= 1: w is still waiting on S when it fails.
    assert expected_outcomes(sc2)["w"] == frozenset({"ABORTED"})


def producer_consumer_run() -> tuple[Scenario, _Run]:
    """p signals A=1 (5 us of work), c waits for A>=1; both submitted, nothing run yet."""
    sc = scenario(
        {"A": 0},
        {
            "main": [
                {"op": "execute", "id": "p", "queue": "q0", "signal": {"A": 1}, "duration_us": 5},
                {"op": "execute", "id": "c", "queue": "q0", "wait": {"A": 1}},
            ]
        },
    )
    run = _Run(sc)
    run.submit("p", 0)
    run.submit("c", 1)
    return sc, run
