"""Runs that would never end or never start are findings, not hung or refused runs: the
wall-clock watchdog stops a livelock (a `RunTimeout` crash), a core that raises while it
is built crashes the run in `setup`."""

from __future__ import annotations

import time

from model.core.context import CoreContext
from model.core.queue import DeferredQueue
from model.scenario.checker import check
from model.sim.runner import SimRun
from tests.unit.helpers import execute, scenario


class _SpinningQueue(DeferredQueue):
    def request_scan(self) -> None:
        while True:  # the mutant: a scan that never ends (zero simulated time)
            pass


class _Spins(CoreContext):
    def create_queue(self, name: str) -> DeferredQueue:
        queue = _SpinningQueue(self, name)
        self.queues[name] = queue
        return queue


def test_a_livelocked_run_is_stopped_and_reported_as_a_crash() -> None:
    sc = scenario({"h": [execute("x", signal={"A": 1})]}, {"A": 0})
    t0 = time.monotonic()
    record = SimRun(sc, 0, context_factory=_Spins, wall_limit_s=0.5).run()
    assert time.monotonic() - t0 < 5
    assert record.crash is not None and record.crash.type == "RunTimeout"
    violations = check(sc, record)
    assert violations[0].property == "crash" and "livelock" in violations[0].message


def test_a_livelock_in_a_worker_thread_is_stopped_too() -> None:
    """A Dask worker runs its tasks in threads, where SIGALRM cannot reach."""
    import threading

    sc = scenario({"h": [execute("x", signal={"A": 1})]}, {"A": 0})
    records = []
    t0 = time.monotonic()
    thread = threading.Thread(target=lambda: records.append(
        SimRun(sc, 0, context_factory=_Spins, wall_limit_s=0.5).run()), daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - t0 < 5
    assert records[0].crash is not None and records[0].crash.type == "RunTimeout"
    # a normal run in a thread is left alone, and nothing fires after it ended
    clean = SimRun(sc, 0, wall_limit_s=0.2)
    done = []
    thread = threading.Thread(target=lambda: (done.append(clean.run()), time.sleep(0.5),
                                              done.append("after")))
    thread.start()
    thread.join(10)
    assert done[0].crash is None and done[1] == "after"


def test_the_watchdog_leaves_a_normal_run_alone() -> None:
    sc = scenario({"h": [execute("x", signal={"A": 1})]}, {"A": 0})
    record = SimRun(sc, 0, wall_limit_s=5).run()
    assert record.crash is None and check(sc, record) == []


def test_a_core_that_rejects_valid_settings_crashes_the_run() -> None:
    from model.core.status import InvalidArgumentError

    class Picky(CoreContext):
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise InvalidArgumentError("setting completion must be one of ..., got 'callback'")

    sc = scenario({"h": [execute("x", signal={"A": 1})]}, {"A": 0})
    record = SimRun(sc, 0, context_factory=Picky).run()
    assert record.crash is not None and record.crash.where == "setup"
    assert check(sc, record)[0].property == "crash"
