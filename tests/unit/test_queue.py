"""The deferred queue, told through small scenarios run on the SimPy device."""

from __future__ import annotations

from model.core.defects import Defect
from model.scenario.record import RunRecord
from model.sim.runner import SimRun, run_sim
from tests.unit.helpers import execute, scenario


def statuses(record: RunRecord) -> dict[str, str]:
    return {k: v.status for k, v in record.ops.items()}


def test_wait_before_signal_across_queues_runs_after_its_producer() -> None:
    sc = scenario({"main": [
        execute("consumer", "q1", wait={"A": 1}, signal={"B": 1}),
        execute("producer", "q0", signal={"A": 1}, duration_us=50),
        {"op": "wait", "id": "w", "semaphores": {"B": 1}},
    ]}, {"A": 0, "B": 0}, ["q0", "q1"])
    for seed in range(5):
        rec = run_sim(sc, seed)
        assert statuses(rec) == {"consumer": "OK", "producer": "OK", "w": "OK"}
        producer, consumer = rec.ops["producer"], rec.ops["consumer"]
        assert consumer.start_us is not None and producer.end_us is not None
        assert consumer.start_us >= producer.end_us
        # the consumer was bound to the recorded producer event: no host round trip
        assert rec.semaphores == {"A": (1, "OK"), "B": (1, "OK")}


def test_a_parked_action_does_not_hold_back_later_ones() -> None:
    sc = scenario({"main": [
        execute("parked", wait={"N": 1}),
        execute("free", signal={"F": 1}),
        {"op": "wait", "id": "w", "semaphores": {"F": 1}},
    ]}, {"N": 0, "F": 0})
    rec = run_sim(sc, 1)
    assert statuses(rec) == {"parked": "PENDING", "free": "OK", "w": "OK"}
    assert rec.cancelled_at_teardown == ["parked"]
    assert rec.conservation_problems == []


def test_ready_actions_are_issued_in_the_order_they_became_ready() -> None:
    ops = [execute(f"x{i}", wait={"G": 1}, signal={"S": i + 1}) for i in range(4)]
    sc = scenario({"main": [*ops, {"op": "signal", "semaphore": "G", "value": 1},
                            {"op": "wait", "id": "w", "semaphores": {"S": 4}}]},
                  {"G": 0, "S": 0})
    rec = run_sim(sc, 2)
    assert rec.ready_order["q0"] == rec.issue_order["q0"] == ["x0", "x1", "x2", "x3"]
    assert rec.stream_order["q0"] == ["x0", "x1", "x2", "x3"]


def test_more_device_waits_than_the_limit_park_until_the_host_catches_up() -> None:
    producers = [execute(p, "q0", signal={p.upper(): 1}, duration_us=30) for p in "abc"]
    sc = scenario({"main": [
        execute("join", "q1", wait={"A": 1, "B": 1, "C": 1}, signal={"J": 1}), *producers,
        {"op": "wait", "id": "w", "semaphores": {"J": 1}},
    ]}, {"A": 0, "B": 0, "C": 0, "J": 0}, ["q0", "q1"], max_wait_events=1)
    rec = run_sim(sc, 0)
    assert statuses(rec)["join"] == "OK"
    join_start = rec.ops["join"].start_us
    assert join_start is not None
    assert all(join_start >= (rec.ops[p].end_us or 0) for p in "abc")


def test_failure_fails_parked_dependents_and_their_semaphores() -> None:
    sc = scenario({"main": [
        execute("x", wait={"W": 1}, signal={"S": 1}),
        execute("y", wait={"S": 1}, signal={"T": 1}),
        {"op": "fail", "semaphore": "W", "code": "ABORTED"},
        {"op": "wait", "id": "w", "semaphores": {"T": 1}},
    ]}, {"W": 0, "S": 0, "T": 0})
    rec = run_sim(sc, 0)
    assert statuses(rec)["x"] == statuses(rec)["y"] == statuses(rec)["w"] == "ABORTED"
    assert rec.semaphores["T"] == (0, "ABORTED")


def test_no_failure_propagation_defect_leaves_downstream_semaphores_healthy() -> None:
    sc = scenario({"main": [
        execute("x", wait={"W": 1}, signal={"S": 1}),
        {"op": "fail", "semaphore": "W", "code": "ABORTED"},
    ]}, {"W": 0, "S": 0})
    rec = run_sim(sc, 0, [Defect.NO_FAILURE_PROPAGATION])
    assert rec.semaphores["S"] == (0, "OK")


def test_pool_surplus_is_never_destroyed_inside_a_host_function() -> None:
    ops = [execute(f"x{i}", signal={"S": i + 1}) for i in range(5)]
    sc = scenario({"main": [*ops, {"op": "wait", "id": "w", "semaphores": {"S": 5}}]},
                  {"S": 0}, event_pool_capacity=0, completion="callback")
    clean = run_sim(sc, 0)
    assert clean.host_function_api_calls == []
    assert clean.pools["event"].destroyed == clean.pools["event"].created == 5
    seeded = run_sim(sc, 0, [Defect.CALLBACK_POOL_RELEASE])
    assert seeded.host_function_api_calls, "the seeded defect destroys events in callbacks"


def test_thread_completion_mode_completes_in_issue_order() -> None:
    ops = [execute(f"x{i}", signal={"S": i + 1}, duration_us=5) for i in range(3)]
    sc = scenario({"main": [*ops, {"op": "wait", "id": "w", "semaphores": {"S": 3}}]},
                  {"S": 0}, completion="thread")
    rec = run_sim(sc, 0)
    assert [c.value for c in rec.value_log] == [1, 2, 3]


def test_runs_are_reproducible_from_the_seed() -> None:
    sc = scenario({"a": [execute("x", signal={"S": 1})],
                   "b": [{"op": "wait", "id": "w", "semaphores": {"S": 1}}]}, {"S": 0})
    assert run_sim(sc, 7) == run_sim(sc, 7)


def test_invariants_hold_after_a_run() -> None:
    sc = scenario({"main": [execute("x", wait={"W": 1}),
                            {"op": "signal", "semaphore": "W", "value": 1}]}, {"W": 0})
    run = SimRun(sc, 0)
    run.run()
    run.ctx.check_invariants()
    q = run.ctx.queues["q0"].statistics()
    assert (q.submitted, q.completed, q.pending) == (1, 1, 0)


def test_teardown_survives_a_defect_that_drops_pending_actions() -> None:
    """Regression: cancelling at shutdown while the scan-error defect drops actions."""
    from pathlib import Path

    from model.scenario.parse import load_scenario

    sc = load_scenario(Path(__file__).parent / "data" / "scan-error-teardown.json")
    for seed in range(5):
        rec = run_sim(sc, seed, [Defect.SCAN_ERROR_DROPS_REST])
        assert rec.conservation_problems, "dropped actions must show up as lost"


def test_failure_fails_a_parked_action_whose_failed_wait_was_already_reached() -> None:
    sc = scenario({"main": [
        execute("x", wait={"A": 1, "B": 1}),
        {"op": "signal", "semaphore": "A", "value": 1},
        {"op": "fail", "semaphore": "A", "code": "DATA_LOSS"},
    ]}, {"A": 0, "B": 0})
    rec = run_sim(sc, 0)
    assert rec.ops["x"].status == "DATA_LOSS"


def test_queue_and_semaphore_invariant_checks_raise_on_corruption() -> None:
    import pytest

    from model.core.pools import InvariantError

    sc = scenario({"main": [execute("x", signal={"S": 1})]}, {"S": 0})
    run = SimRun(sc, 0)
    run.run()
    queue, sem = run.ctx.queues["q0"], run.ctx.semaphores["S"]
    queue.check_invariants()
    sem.check_invariants()
    queue._submitted += 1  # an action that vanished
    with pytest.raises(InvariantError, match=r"submitted but \d+ accounted for"):
        queue.check_invariants()
    sem.value = -1
    with pytest.raises(InvariantError, match="out of range"):
        sem.check_invariants()
