"""The strategies generate what they promise: valid scenarios within their bounds, waits
submitted before their signals, and invalid documents the parser rejects at the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from model.scenario.parse import ScenarioError, parse_scenario, scenario_to_json
from model.scenario.types import (
    MAX_VALUE,
    Completion,
    Execute,
    Fail,
    Query,
    Scenario,
    Signal,
    Wait,
    WaitMode,
)
from model.strategies import InvalidDocument, cases, invalid_documents, scenarios
from model.strategies.graph import mix, scenario_size


@given(scenarios(max_ops=40))
def test_generated_scenarios_are_valid_by_construction(s: Scenario) -> None:
    assert parse_scenario(scenario_to_json(s)) == s


@given(scenarios(max_ops=12, max_queues=2, max_semaphores=3, max_actors=2))
def test_arguments_bound_the_sizes(s: Scenario) -> None:
    assert scenario_size(s) <= 12
    assert 1 <= len(s.queues) <= 2 and 1 <= len(s.semaphores) <= 3 and len(s.actors) <= 2


def _signal_order(s: Scenario) -> dict[str, list[int]]:
    """Per semaphore, signal values in dependency order are increasing by construction."""
    out: dict[str, list[int]] = {}
    for _, _, op in s.ops():
        if isinstance(op, Execute):
            for sem, v in op.signal.items():
                out.setdefault(sem, []).append(v)
        elif isinstance(op, Signal):
            out.setdefault(op.semaphore, []).append(op.value)
    return out


@given(scenarios(max_ops=40))
def test_each_semaphore_has_distinct_values_above_its_initial_one(s: Scenario) -> None:
    for sem, values in _signal_order(s).items():
        assert len(set(values)) == len(values)
        assert min(values) > s.semaphores[sem]


def _waits_before_signal(s: Scenario) -> bool:
    """Some execute or host wait is submitted (in its actor) before its signal's op."""
    position = {op.id: i for _, i, op in s.ops()}
    producers = {(sem, v): op.id for _, _, op in s.ops() if isinstance(op, Execute)
                 for sem, v in op.signal.items()}
    for _, i, op in s.ops():
        waits = op.wait if isinstance(op, Execute) else op.semaphores if isinstance(
            op, Wait) else {}
        for sem, v in waits.items():
            src = producers.get((sem, v))
            if src is not None and position[src] > i:
                return True
    return False


def test_waits_are_often_submitted_before_their_signals() -> None:
    seen: list[bool] = []

    @settings(max_examples=200, database=None)
    @given(scenarios(max_ops=24))
    def sample(s: Scenario) -> None:
        seen.append(_waits_before_signal(s))

    sample()
    assert sum(seen) >= len(seen) // 5


@given(st.integers(1, 40), st.integers(0, 2**40 - 1))
def test_mix_is_a_bijection_fixing_zero(bits: int, code: int) -> None:
    code &= (1 << bits) - 1
    assert mix(0, bits) == 0
    assert 0 <= mix(code, bits) < 1 << bits
    assert code == 0 or mix(code, bits) != 0


@given(cases(seeds_per_case=3))
def test_cases_carry_consecutive_seeds(case: object) -> None:
    seeds = case.seeds  # type: ignore[attr-defined]
    assert seeds == tuple(range(seeds[0], seeds[0] + 3))


@given(invalid_documents())
def test_the_parser_rejects_invalid_documents_at_the_broken_field(d: InvalidDocument) -> None:
    try:
        parse_scenario(d.document)
    except ScenarioError as error:
        assert error.path.startswith(d.path), (error.path, d.path, str(error))
    else:
        raise AssertionError(f"the parser accepted a {d.kind} document: {d.document}")


# --------------------------------------------------------------------------- API surface
# Each feature of docs/strategies.md ("What the generators cover") is recognised on the
# scenario alone, and a fixed sample of generated scenarios must contain each one often
# enough (the rates are printed by `-s`, and listed in docs/strategies.md; each
# threshold is about 40% of its measured rate).

SAMPLE = 1500


def _signalled(s: Scenario) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for _, _, op in s.ops():
        if isinstance(op, Execute):
            for sem, v in op.signal.items():
                out.setdefault(sem, set()).add(v)
        elif isinstance(op, Signal):
            out.setdefault(op.semaphore, set()).add(op.value)
    return out


def _never(s: Scenario, sem: str, v: int) -> bool:
    """Nothing signals `sem` to `v` or beyond, and it starts below `v`."""
    return v > s.semaphores[sem] and all(x < v for x in _signalled(s).get(sem, ()))


def _reached(s: Scenario, sem: str, v: int) -> bool:
    return v <= s.semaphores[sem] or any(x >= v for x in _signalled(s).get(sem, ()))


def _waits(op: object) -> dict[str, int]:
    return op.wait if isinstance(op, Execute) else op.semaphores if isinstance(op, Wait) else {}


def _value_zero(s: Scenario) -> bool:
    return any(v == 0 for _, _, op in s.ops() for v in _waits(op).values())


def _value_max(s: Scenario) -> bool:
    waits = any(v == MAX_VALUE for _, _, op in s.ops() for v in _waits(op).values())
    return waits and MAX_VALUE in {v for vs in _signalled(s).values() for v in vs}


def _initial_max(s: Scenario) -> bool:
    return MAX_VALUE in s.semaphores.values()


def _stale_signal(s: Scenario) -> bool:
    """A host signal of S to v after its actor saw S >= w > v: it must be OUT_OF_RANGE."""
    for ops in s.actors.values():
        seen: dict[str, int] = {}
        for op in ops:
            if isinstance(op, Signal) and seen.get(op.semaphore, -1) > op.value:
                return True
            if isinstance(op, Wait) and op.timeout_us is None and op.mode is WaitMode.ALL:
                for sem, v in op.semaphores.items():
                    seen[sem] = max(seen.get(sem, -1), v)
    return False


def _observe_after_fail(kind: type) -> Callable[[Scenario], bool]:
    def has(s: Scenario) -> bool:
        for ops in s.actors.values():
            failed: set[str] = set()
            for op in ops:
                if isinstance(op, Fail):
                    failed.add(op.semaphore)
                elif isinstance(op, kind) and failed & (
                        set(op.semaphores) if isinstance(op, Wait) else {op.semaphore}):
                    return True
        return False
    return has


def _fail_reached(s: Scenario) -> bool:
    """In one actor: X waits (S, v) and (T, never); a host signal S = v; then fail S."""
    for ops in s.actors.values():
        for i, x in enumerate(ops):
            if not isinstance(x, Execute):
                continue
            rest = ops[i + 1:]
            for sem, v in x.wait.items():
                others = [t for t, w in x.wait.items() if t != sem and _never(s, t, w)]
                signal = next((j for j, op in enumerate(rest) if isinstance(op, Signal)
                               and op.semaphore == sem and op.value >= v), None)
                if others and signal is not None and any(
                        isinstance(op, Fail) and op.semaphore == sem for op in rest[signal:]):
                    return True
    return False


def _partial_timed_wait(s: Scenario) -> bool:
    """A timed ALL wait with a pair some op signals and a pair nothing signals."""
    for _, _, op in s.ops():
        if isinstance(op, Wait) and op.mode is WaitMode.ALL and op.timeout_us:
            pairs = op.semaphores.items()
            if any(_never(s, a, v) for a, v in pairs) and any(
                    v > s.semaphores[a] and _reached(s, a, v) for a, v in pairs):
                return True
    return False


def _parked_at_shutdown(s: Scenario) -> bool:
    return any(isinstance(op, Execute) and any(_never(s, a, v) for a, v in op.wait.items())
               for _, _, op in s.ops())


def _fanout(s: Scenario) -> bool:
    """At least two executes on one queue wait on exactly the same unreached (S, v)."""
    seen: dict[tuple[str, str, int], int] = {}
    for _, _, op in s.ops():
        if isinstance(op, Execute) and len(op.wait) == 1:
            (sem, v), = op.wait.items()
            if v > s.semaphores[sem]:
                key = (op.queue, sem, v)
                seen[key] = seen.get(key, 0) + 1
    return any(n >= 2 for n in seen.values())


def _fail_mid_scan(s: Scenario) -> bool:
    """A fail of S that two or more parked executes wait on, one also waiting elsewhere."""
    fails = {op.semaphore for _, _, op in s.ops() if isinstance(op, Fail)}
    for sem in fails:
        waiting = [op for _, _, op in s.ops() if isinstance(op, Execute) and sem in op.wait]
        if len(waiting) >= 2 and any(len(op.wait) >= 2 for op in waiting):
            return True
    return False


def _empty_wait(mode: WaitMode, timed: bool) -> Callable[[Scenario], bool]:
    def has(s: Scenario) -> bool:
        return any(isinstance(op, Wait) and not op.semaphores and op.mode is mode
                   and (op.timeout_us is not None) == timed for _, _, op in s.ops())
    return has


def _causal_chain(length: int) -> Callable[[Scenario], bool]:
    """>= `length` executes on one queue signal T upward; a reader on another queue
    waits for T's last value and signals R; a host wait on R, then a query of T."""
    def has(s: Scenario) -> bool:
        executes = [op for _, _, op in s.ops() if isinstance(op, Execute)]
        for reader in executes:
            for t, top in reader.wait.items():
                chain = [x for x in executes if t in x.signal and x.queue != reader.queue]
                queues = {x.queue for x in chain}
                if len(chain) < length or len(queues) != 1 or max(
                        x.signal[t] for x in chain) != top:
                    continue
                for ops in s.actors.values():
                    for i, w in enumerate(ops):
                        if isinstance(w, Wait) and set(w.semaphores) & set(reader.signal) and any(
                                isinstance(q, Query) and q.semaphore == t for q in ops[i + 1:]):
                            return True
        return False
    return has


def _design_causal_chain(s: Scenario) -> bool:
    """DESIGN.md's scenario exactly: T = 10, 20, ..., 120 on one queue."""
    values = sorted(v for _, _, op in s.ops() if isinstance(op, Execute)
                    for t, v in op.signal.items() if v % 10 == 0 and s.semaphores[t] == 0)
    return _causal_chain(12)(s) and all(v in values for v in range(10, 130, 10))


FEATURES: dict[str, tuple[Callable[[Scenario], bool], float]] = {
    # feature: (recogniser, least share of the sample that must have it)
    "wait on value 0": (_value_zero, 0.04),
    "signal to and wait on MAX_VALUE": (_value_max, 0.03),
    "initial value MAX_VALUE": (_initial_max, 0.015),
    "stale host signal (OUT_OF_RANGE)": (_stale_signal, 0.03),
    "query after fail": (_observe_after_fail(Query), 0.05),
    "wait after fail": (_observe_after_fail(Wait), 0.1),
    "fail of a reached wait of a parked action": (_fail_reached, 0.04),
    "timed ALL wait with partial progress": (_partial_timed_wait, 0.04),
    "execute parked until teardown": (_parked_at_shutdown, 0.12),
    "several executes made ready by one signal": (_fanout, 0.12),
    "fail while several actions are parked on it": (_fail_mid_scan, 0.08),
    "empty wait ALL forever": (_empty_wait(WaitMode.ALL, False), 0.012),
    "empty wait ALL timed": (_empty_wait(WaitMode.ALL, True), 0.05),
    "empty wait ANY forever": (_empty_wait(WaitMode.ANY, False), 0.005),
    "empty wait ANY timed": (_empty_wait(WaitMode.ANY, True), 0.02),
    "causal chain across queues": (_causal_chain(3), 0.04),
}


def _sample(strategy: st.SearchStrategy[Any], n: int = SAMPLE) -> list[Any]:
    out: list[Any] = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(value: Any) -> None:
        out.append(value)

    draw()
    return out


def test_every_feature_of_the_api_surface_is_generated_often() -> None:
    sample = _sample(scenarios(max_ops=24))
    rates = {name: sum(map(has, sample)) / len(sample) for name, (has, _) in FEATURES.items()}
    print("\n".join(f"{rate:6.1%}  {name}" for name, rate in rates.items()))
    rare = {name: rate for name, rate in rates.items() if rate < FEATURES[name][1]}
    assert not rare, rare


def test_both_completion_modes_and_slow_callbacks_are_generated() -> None:
    sample = _sample(cases(max_ops=8), 400)
    modes = {case.scenario.settings.completion for case in sample}
    assert modes == set(Completion)
    slow = [c for c in sample if c.timing.host_function_us >= 50]
    late = [c for c in sample if c.timing.callback_latency_us >= 500]
    assert len(slow) >= len(sample) // 4 and len(late) >= len(sample) // 10


def test_the_design_causal_visibility_scenario_is_generated() -> None:
    found = find(scenarios(max_ops=24), _design_causal_chain,
                 settings=settings(max_examples=5000, database=None, derandomize=True,
                                   suppress_health_check=list(HealthCheck)))
    assert _design_causal_chain(found)


@given(scenarios(max_ops=24))
def test_generated_values_stay_within_the_timeline_range(s: Scenario) -> None:
    values = [v for _, _, op in s.ops() for v in _waits(op).values()]
    values += [v for vs in _signalled(s).values() for v in vs]
    assert all(0 <= v <= MAX_VALUE for v in values)


@given(scenarios(max_ops=8, max_queues=1, max_semaphores=1, max_actors=1))
def test_motifs_degrade_within_tight_bounds(s: Scenario) -> None:
    assert parse_scenario(scenario_to_json(s)) == s
    assert scenario_size(s) <= 8 and len(s.queues) == 1 and len(s.semaphores) == 1
