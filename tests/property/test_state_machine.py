"""A RuleBasedStateMachine drives the semaphore and queue API on the SimPy platform and
compares it with a simple reference model of timeline semaphores.

The model: each semaphore has a value (the max of everything applied) and a failed flag;
each submitted execute is pending, done or failed. An action the core has made ready is
*committed* (observed after every step): it completes whatever fails afterwards. At
quiescence (`settle`), the model's fixpoint decides every other action: a pending action
with a failed wait semaphore fails and
fails its signal semaphores; one whose waits are all reached completes and applies its
signals (max, never on a failed semaphore). Failures are injected only at quiescence, so
the model is exact there. `check_invariants()` of the core runs after every step, and
host-visible values must never decrease.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from model.core.context import CoreContext, CoreSettings
from model.core.effects import drive_sync
from model.core.queue import Action, ActionState
from model.core.semaphore import wait_semaphores
from model.core.status import HipsemError, SemaphoreFailedError, StatusCode
from model.device import WorkItem
from model.sim.device import SimDevice
from model.sim.env import SeededEnvironment
from model.sim.platform import SimPlatform
from model.sim.timing import Timing

SEMS = ("A", "B", "C")
QUEUES = ("q0", "q1")


@dataclass
class _Model:
    value: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEMS, 0))
    planned: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEMS, 0))
    failed: set[str] = field(default_factory=set)
    actions: dict[str, tuple[dict[str, int], dict[str, int]]] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)  # pending / done / failed
    # Actions the core made ready (waits reached or bound to a recorded producer event)
    # before any of their wait semaphores failed: they run to completion whatever fails
    # later. Observed after every step (the `track_committed` invariant).
    committed: set[str] = field(default_factory=set)

    def settle(self) -> None:
        changed = True
        while changed:
            changed = False
            for ident, (waits, signals) in self.actions.items():
                if self.state[ident] == "pending" and self._step(ident, waits, signals):
                    changed = True

    def _step(self, ident: str, waits: dict[str, int], signals: dict[str, int]) -> bool:
        if any(s in self.failed for s in waits) and ident not in self.committed:
            self.state[ident] = "failed"
            self.failed |= set(signals)
            return True
        if ident in self.committed or all(self.value[s] >= v for s, v in waits.items()):
            self.state[ident] = "done"
            for s, v in signals.items():
                if s not in self.failed:
                    self.value[s] = max(self.value[s], v)
            return True
        return False


_STATES = {ActionState.COMPLETED: "done", ActionState.FAILED: "failed"}
_COMMITTED = {ActionState.READY, ActionState.ISSUING, ActionState.IN_FLIGHT,
              ActionState.COMPLETED}


class TimelineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.env = SeededEnvironment(0)
        self.device = SimDevice(self.env, Timing(jitter=0.0))
        self.platform = SimPlatform(self.env, self.device)
        settings = CoreSettings(event_pool_capacity=2, timepoint_pool_capacity=2,
                                max_wait_events=2)
        self.ctx = CoreContext(self.device, settings)
        self.model = _Model()
        self.handles: dict[str, Action] = {}
        self.seen = dict.fromkeys(SEMS, 0)
        self.env.process(self.platform.drive(self.ctx.initialize()))
        self.env.run()
        for s in SEMS:
            self.ctx.create_semaphore(s)
        for q in QUEUES:
            queue = self.ctx.create_queue(q)
            self.env.process(self.platform.drive(queue.start()))
            self.env.run()
            self.platform.spawn(queue.worker())
            self.platform.spawn(queue.completion())

    # -- rules -------------------------------------------------------------------------
    @rule(sem=st.sampled_from(SEMS), step=st.integers(1, 3))
    def host_signal(self, sem: str, step: int) -> None:
        target = max(self.model.planned[sem], self.ctx.semaphores[sem].value) + step
        try:
            self.ctx.semaphores[sem].signal(target)
        except SemaphoreFailedError:
            assert sem in self.model.failed or self.ctx.semaphores[sem].failure is not None
            return
        self.model.planned[sem] = target
        self.model.value[sem] = max(self.model.value[sem], target)

    @rule(queue=st.sampled_from(QUEUES), waits=st.dictionaries(
        st.sampled_from(SEMS), st.integers(1, 6), max_size=2),
        signal=st.sampled_from(SEMS), duration=st.sampled_from((0.0, 10.0, 100.0)))
    def execute(self, queue: str, waits: dict[str, int], signal: str, duration: float) -> None:
        ident = f"x{len(self.model.actions)}"
        value = max(self.model.planned[signal], self.ctx.semaphores[signal].value) + 1
        sems = self.ctx.semaphores
        action = self.ctx.queues[queue].execute(
            ident, [(sems[s], v) for s, v in waits.items()], [(sems[signal], value)],
            WorkItem(ident, duration))
        self.model.planned[signal] = value
        self.model.actions[ident] = (dict(waits), {signal: value})
        self.model.state[ident] = "pending"
        self.handles[ident] = action

    @rule(us=st.sampled_from((1.0, 20.0, 150.0)))
    def advance(self, us: float) -> None:
        self.env.run(until=self.env.now + us)

    @rule()
    def settle(self) -> None:
        self.env.run()
        self.model.settle()
        for s in SEMS:
            sem = self.ctx.semaphores[s]
            assert (sem.failure is not None) == (s in self.model.failed), s
            if s not in self.model.failed:
                assert sem.value == self.model.value[s], (s, sem.value, self.model.value[s])
        for ident, action in self.handles.items():
            assert _STATES.get(action.state, "pending") == self.model.state[ident], ident

    @precondition(lambda self: len(self.model.failed) < len(SEMS))
    @rule(sem=st.sampled_from(SEMS))
    def fail(self, sem: str) -> None:
        self.settle()  # the model is exact at quiescence
        self.ctx.semaphores[sem].fail(StatusCode.ABORTED, "injected")
        self.model.failed.add(sem)
        self.model.settle()

    @rule(sem=st.sampled_from(SEMS), ahead=st.integers(0, 2))
    def poll(self, sem: str, ahead: int) -> None:
        s = self.ctx.semaphores[sem]
        target = max(1, s.value + ahead - 1)
        code, _ = drive_sync(wait_semaphores(self.ctx, [(s, target)], False, 0))
        if s.failure is not None and s.value < target:
            assert code is s.failure[0]
        elif s.failure is None:
            assert (code is StatusCode.OK) == (s.value >= target)

    @rule(sem=st.sampled_from(SEMS))
    def query(self, sem: str) -> None:
        try:
            value = self.ctx.semaphores[sem].query()
        except HipsemError:
            assert self.ctx.semaphores[sem].failure is not None
            return
        assert value <= max(self.model.planned[sem], 0)

    # -- invariants --------------------------------------------------------------------
    @invariant()
    def core_invariants_hold(self) -> None:
        self.ctx.check_invariants()

    @invariant()
    def track_committed(self) -> None:
        for ident, action in self.handles.items():
            if action.state in _COMMITTED and self.model.state[ident] == "pending":
                self.model.committed.add(ident)

    @invariant()
    def values_never_decrease(self) -> None:
        for s in SEMS:
            value = self.ctx.semaphores[s].value
            assert value >= self.seen[s], (s, value, self.seen[s])
            self.seen[s] = value

    def teardown(self) -> None:
        def close() -> object:
            for queue in self.ctx.queues.values():
                yield from self.platform.drive(queue.shutdown())
            yield from self.platform.drive(self.ctx.close())

        self.env.process(close())
        self.env.run()
        self.ctx.check_invariants()
        assert self.ctx.event_pool.statistics().in_use == 0
        assert self.ctx.timepoint_pool.statistics().in_use == 0


TestTimelineMachine = TimelineMachine.TestCase


def test_pool_invariants_hold_while_a_destroy_call_is_in_flight() -> None:
    """Found by this machine: with capacity 2, a third event released past capacity is
    destroyed by `collect()`; stopping the clock while that destroy_event call is in
    flight used to show 'live objects 3 but free+in_use+doomed=2+0+0' (the event was off
    the doomed list and not yet counted destroyed)."""
    m = TimelineMachine()
    steps: list[tuple[str, dict[str, object]]] = [
        ("execute", {"duration": 0.0, "queue": "q1", "signal": "A", "waits": {}}),
        *[("advance", {"us": us}) for us in (1.0, 1.0, 1.0, 20.0)],
        ("execute", {"duration": 0.0, "queue": "q1", "signal": "A", "waits": {}}),
        ("execute", {"duration": 0.0, "queue": "q0", "signal": "A", "waits": {}}),
        *[("advance", {"us": us}) for us in (1.0, 20.0, 20.0, 20.0, 20.0)],
        ("host_signal", {"sem": "A", "step": 1}),
        ("execute", {"duration": 0.0, "queue": "q0", "signal": "A", "waits": {}}),
        ("advance", {"us": 150.0}),
    ]
    for name, kwargs in steps:
        getattr(m, name)(**kwargs)
        m.ctx.check_invariants()
    m.teardown()
