"""Hypothesis strategies for wait-before-signal scenarios, settings, timings and cases.

Every strategy here draws *codes* and builds the scenario by construction
(`model.strategies.graph`): nothing is generated and then filtered, so every draw is
valid and so is every deletion Hypothesis tries while shrinking.

Speed: a Hypothesis draw costs tens of microseconds, so each item of a scenario is ONE
integer draw (`graph.decode_item` reads its bit fields), and so are the shape, the
settings and the timing. A 12-item scenario is about 20 draws.

How things shrink (Hypothesis shrinks the drawn integers, then this module rebuilds):
  * the item list shrinks by deleting items anywhere, so scenarios lose ops;
  * an item code shrinks toward 0: an execute with no waits on queue 0 from actor 0,
    signalling the first free semaphore, 10 us of work, submitted in dependency order
    (parent offsets toward 0 = the latest signalling node, so DAGs toward chains);
  * shape codes toward one queue, one semaphore, one actor, initial value 0, the seed's
    settings; timing codes toward `Timing()`; seeds toward 0.

Distribution (docs/strategies.md, "Distribution"): items are 41% executes, 14% host
signals, 9% host waits, 3% each fails, queries, sleeps, empty waits, fail-then-observe and
parked executes, 1.6% each signals to MAX_VALUE and stale signals, and 14% motifs
(fan-out, fail-scan, fail-reached, partial timed wait, causal chain); about 15 items per
scenario (one chance in 16 to stop after each) within `max_ops`. Settings and timings are
often small or slow (pools of 0-4, 0-2 device waits per action, 1-500 us callback
latency, 50-300 us host functions), so the shapes the seeded defects need (tiny pools,
tight races, several ready batches on one queue, lagging completions) come up often
without special-casing any defect.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from hypothesis import strategies as st

from model.scenario.types import MAX_VALUE, Completion, Scenario, Settings
from model.sim.timing import Timing
from model.strategies.faults import with_faults
from model.strategies.graph import ITEM_BITS, Item, Shape, build_scenario, decode_item, mix

_SHAPE_BITS = 18
_STOP_BITS = 4  # an item code whose low 4 bits are 0 ends the list
_CODES = st.integers(0, (1 << (ITEM_BITS + _STOP_BITS)) - 1)
_EVENT_CAPS = (32, 0, 1, 2, 4, 32, 1, 8)
_TIMEPOINT_CAPS = (32, 0, 1, 3)
_WAIT_LIMITS = (32, 0, 1, 0)
_MIXED = -1  # per semaphore, cycling through _MIXED_BASES
_HIGH = MAX_VALUE - 3  # room for three signals each
_BASES = (0, 0, 0, 0, 5, 100, _MIXED, _HIGH)
_MIXED_BASES = (0, MAX_VALUE, 5, MAX_VALUE - 1, 0, 100)
_LATENCIES = (100.0, 10.0, 1.0, 500.0)
_HOST_OPS = (1.0, 0.2, 5.0, 1.0)
_JITTERS = (0.1, 0.5, 0.0, 0.1)
_HOST_FUNCTIONS = (1.0, 50.0, 1.0, 300.0)  # slow host callbacks (serialized on one thread)


@dataclass(frozen=True, slots=True)
class FuzzCase:
    """One generated run: a scenario, the seeds of its runs (interleavings), a timing."""

    scenario: Scenario
    seeds: tuple[int, ...] = (0,)
    timing: Timing = field(default_factory=Timing)


def _settings(code: int) -> Settings:
    return Settings(
        event_pool_capacity=_EVENT_CAPS[code & 7],
        timepoint_pool_capacity=_TIMEPOINT_CAPS[code >> 3 & 3],
        max_wait_events=_WAIT_LIMITS[code >> 5 & 3],
        completion=(Completion.CALLBACK, Completion.THREAD)[code >> 7 & 1],
    )


def core_settings() -> st.SearchStrategy[Settings]:
    """Core settings: event pool capacity 32/0/1/2/4/8, timepoint pool 32/0/1/3,
    max_wait_events 32/0/1/2, completion callback/thread.

    Shrinks toward the seed's defaults (32, 32, 32, callback)."""
    return st.integers(0, 255).map(_settings)


def _timing(code: int, base: Timing | None = None) -> Timing:
    if base is None:
        return Timing(callback_latency_us=_LATENCIES[code & 3],
                      host_op_us=_HOST_OPS[code >> 2 & 3], jitter=_JITTERS[code >> 4 & 3],
                      host_function_us=_HOST_FUNCTIONS[code >> 6 & 3])
    # Code 0 of each table is the base's own figure (a calibration), the others as above.
    pick = [(name, table[i]) for name, table, i in (
        ("callback_latency_us", _LATENCIES, code & 3), ("host_op_us", _HOST_OPS, code >> 2 & 3),
        ("jitter", _JITTERS, code >> 4 & 3), ("host_function_us", _HOST_FUNCTIONS, code >> 6 & 3),
    ) if i]
    return dataclasses.replace(base, **dict(pick))


def timings(base: Timing | None = None) -> st.SearchStrategy[Timing]:
    """Timing models: callback latency 100/10/1/500 us, host op 1/0.2/5 us, jitter
    0.1/0.5/0, host function (callback body) 1/50/300 us — slow callbacks delay every
    other queue's completions, since all host functions share one runtime thread.
    With `base` (a calibrated timing, `--timing FILE`) every other field is the base's,
    and the first figure of each list is the base's own.

    Shrinks toward `Timing()` (the defaults of DESIGN.md), or toward `base`."""
    return st.integers(0, 255).map(lambda code: _timing(code, base))


def shapes(max_queues: int = 4, max_semaphores: int = 6, max_actors: int = 3,
           settings: st.SearchStrategy[Settings] | None = None) -> st.SearchStrategy[Shape]:
    """Counts of queues (1..max_queues), semaphores (1..max_semaphores) and host actors
    (1..max_actors), the semaphores' initial values (all 0, 5, 100 or MAX_VALUE - 3, or
    mixed: 0, MAX_VALUE, 5, MAX_VALUE - 1, 0, 100 in turn) and the core settings. Motifs
    may add semaphores and queues up to `max_semaphores` and `max_queues`.

    Shrinks toward one queue, one semaphore, one actor, initial value 0 and the seed's
    settings."""

    def shape(code: int, chosen: Settings | None) -> Shape:
        code = mix(code, _SHAPE_BITS)
        sems = 1 + (code >> 2 & 7) % max_semaphores
        base = _BASES[code >> 7 & 7]
        initial = (tuple(_MIXED_BASES[i % len(_MIXED_BASES)] for i in range(sems))
                   if base == _MIXED else (base,) * sems)
        return Shape(
            queues=1 + (code & 3) % max_queues,
            semaphores=sems,
            actors=1 + (code >> 5 & 3) % max_actors,
            initial=initial,
            settings=chosen if chosen is not None else _settings(code >> 10),
            max_queues=max_queues,
            max_semaphores=max_semaphores,
        )

    extra = settings if settings is not None else st.none()
    return st.builds(shape, st.integers(0, (1 << _SHAPE_BITS) - 1), extra)


def items() -> st.SearchStrategy[Item]:
    """One item (a node, a host op or a motif) from one integer code (`graph.decode_item`).

    Shrinks toward an execute with no waits on queue 0 from actor 0."""
    return st.integers(0, (1 << ITEM_BITS) - 1).map(decode_item)


@st.composite
def item_lists(draw: st.DrawFn, max_ops: int = 24) -> list[Item]:
    """Items for up to `max_ops` ops, about 15 items on average (geometric; each code's
    low 4 bits are its "stop here" choice).

    Hypothesis deletes any code, so items disappear anywhere in the list; shrinks toward
    fewer, simpler items."""
    out: list[Item] = []
    while len(out) < max_ops:
        code = draw(_CODES)
        if not code & ((1 << _STOP_BITS) - 1):
            break
        out.append(decode_item(code >> _STOP_BITS))
    return out


def scenarios(max_ops: int = 24, max_queues: int = 4, max_semaphores: int = 6,
              max_actors: int = 3, settings: st.SearchStrategy[Settings] | None = None,
              name: str = "generated") -> st.SearchStrategy[Scenario]:
    """A valid `hipsem/scenario-1` scenario with at most `max_ops` ops.

    1..max_queues queues, 1..max_semaphores semaphores, 1..max_actors host actors; a DAG
    of executes and host signals submitted in an order drawn independently of the DAG,
    plus host waits (ALL/ANY, forever, poll or timed, empty), queries, fails, sleeps,
    misuse (stale signals, signals to MAX_VALUE, observations after a failure) and the
    motifs of `graph` (fan-out, fail-scan, fail-reached, partial timed wait, causal chain).
    `settings` replaces the settings strategy (e.g. `st.just(Settings())`).

    Shrinks toward fewer ops, a chain, dependency-order submission, one queue, one
    semaphore, one actor and the default settings.
    """
    return st.builds(
        build_scenario,
        shapes(max_queues, max_semaphores, max_actors, settings),
        item_lists(max_ops),
        st.just(max_ops),
        st.just(name),
    )


def cases(max_ops: int = 24, seeds_per_case: int = 1, draw_timing: bool = True,
          scenario: st.SearchStrategy[Scenario] | None = None,
          faults: bool = False,
          base_timing: Timing | None = None) -> st.SearchStrategy[FuzzCase]:
    """A `FuzzCase`: a scenario (from `scenario`, default `scenarios(max_ops)`),
    `seeds_per_case` consecutive run seeds and a timing model (`timings(base_timing)`);
    with `faults`, the scenario carries a drawn fault plan (`model.strategies.faults`).

    Seeds shrink toward 0, 1, ...; the timing toward `Timing()` (or `base_timing`); the
    fault plan toward no fault, then the earliest, simplest one.
    """
    drawn = scenario if scenario is not None else scenarios(max_ops)
    return st.builds(
        FuzzCase,
        with_faults(drawn) if faults else drawn,
        st.integers(0, 2**16).map(lambda s: tuple(range(s, s + seeds_per_case))),
        timings(base_timing) if draw_timing else st.just(base_timing or Timing()),
    )


__all__ = [
    "FuzzCase",
    "cases",
    "core_settings",
    "item_lists",
    "items",
    "scenarios",
    "shapes",
    "timings",
]
