"""The strategies generate what they promise: valid scenarios within their bounds, waits
submitted before their signals, and invalid documents the parser rejects at the field."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from model.scenario.parse import ScenarioError, parse_scenario, scenario_to_json
from model.scenario.types import Execute, Scenario, Signal, Wait
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
