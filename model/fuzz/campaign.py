"""Property campaigns: generated cases, run on the SimPy backend, judged by the checker.

`evaluate(case, defects)` runs one `FuzzCase` (every seed of it) and returns the first
failing run's violations. `run_campaign(config)` drives Hypothesis over `cases()`: it
stops at the first failing case, lets Hypothesis shrink it, and returns a
`CampaignResult` with the shrunk `Failure` (or none), how many examples and seconds it
took to find, and the size of the counterexample.

Theory of operation:
  * the test body raises `PropertyFailed` for a failing case; Hypothesis shrinks by
    re-running the body on smaller cases and finally replays the smallest one, so the
    last `Failure` the body saw is the shrunk one;
  * shrinking is bounded by `shrink_seconds`: past it the body answers "passes" for
    every case except the best failure so far, which ends shrinking at once;
  * a run that raises (in the core, the device or the platform) is recorded by the
    runner as `record.crash`, which the checker reports as property "crash": shrunk,
    saved and replayed like any other failure. A custom `runner` that raises is a
    failure of property "crash" too. hipsem's own errors (a `RecorderError`, an
    exception of the checker) propagate: they are bugs of hipsem, not findings.
  * runs have no simulated-time limit unless `limit_us` is set (`--limit`); a run that
    reaches it is not judged: the case counts as passing (it is no failure of the core)
    and is counted in `CampaignResult.limited`, which the command line reports.

Invariant: a campaign is a pure function of its config when `database` is None (the
Hypothesis seed is fixed by `config.seed`; every simulated run is seeded), in whatever
process it runs: Hypothesis also draws constants from the source of the "local" modules
imported so far (hipsem's own, installed editable), a set that differs between a CLI, a
test run and a Dask worker and grows as modules load; searches draw none of them
(`no_local_constants`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase

from model.core.defects import Defect
from model.scenario.checker import Violation, check
from model.scenario.record import RunRecord
from model.scenario.recorder import RecorderError
from model.scenario.types import Scenario
from model.sim.runner import ContextFactory, run_sim
from model.sim.timing import Timing
from model.strategies import FuzzCase, cases, scenario_size

# A generated run that takes longer than this (wall clock; generated runs take
# milliseconds) livelocked: a `crash` finding.
RUN_WALL_LIMIT_S = 5.0
# Once a search has seen one run livelock, the cases it tries next (shrinking, op
# deletion, the replays of the save) are stopped after this much instead: the core is
# known to livelock, and a case that does not still finishes in milliseconds.
LIVELOCK_RETRY_S = 0.25

Runner = Callable[[Scenario, int, Iterable[Defect], Timing], RunRecord]
ProgressHook = Callable[["Progress"], None]


class PropertyFailed(AssertionError):
    """A generated case broke a property; carries the `Failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.summary())
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Failure:
    """A failing case: the run seed that failed and every violation of that run."""

    case: FuzzCase
    seed: int
    violations: tuple[Violation, ...]

    @property
    def properties(self) -> list[str]:
        """The violated properties, each once, in the checker's order."""
        return list(dict.fromkeys(v.property for v in self.violations))

    @property
    def size(self) -> int:
        return scenario_size(self.case.scenario)

    def summary(self) -> str:
        first = self.violations[0]
        return f"{first.property}: {first.message} ({len(self.violations)} violation(s))"


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    """What to search: `examples` generated cases (at most), under `defects`."""

    examples: int = 200
    seed: int = 0
    defects: frozenset[Defect] = frozenset()
    max_ops: int = 24
    seeds_per_case: int = 1
    draw_timing: bool = True
    base_timing: Timing | None = None  # a calibrated timing (--timing FILE); None: Timing()
    shrink: bool = True
    shrink_seconds: float = 20.0
    minimize: bool = True  # then delete ops greedily (model.fuzz.minimize)
    minimize_seeds: int = 8
    restarts: int = 0  # after a find, search again from `restarts` more seeds; keep smallest
    database: ExampleDatabase | None = None
    strategy: st.SearchStrategy[FuzzCase] | None = None  # default: cases(...)
    runner: Runner | None = None  # default: run_sim (with `context_factory`)
    context_factory: ContextFactory | None = None
    limit_us: float | None = None  # simulated-time limit of each run (None: none)
    faults: bool = False  # draw fault plans (docs/faults.md); off: fault-free scenarios


@dataclass(slots=True)
class Progress:
    """Live counters of a campaign (passed to the progress hook after every example)."""

    examples: int = 0  # cases run while searching
    shrinks: int = 0  # cases run while shrinking
    found_at: int | None = None  # examples needed to find the first failure
    found_seconds: float | None = None
    best: Failure | None = None
    failing: set[str] = field(default_factory=set)  # repr of every failing case seen
    livelocked: bool = False  # a run was stopped by the watchdog (LIVELOCK_RETRY_S next)
    limited: int = 0  # runs that reached the simulated-time limit (not judged)
    started: float = field(default_factory=time.perf_counter)

    @property
    def shrinking(self) -> bool:
        return self.found_at is not None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """The outcome: `failure` is the shrunk counterexample, None if nothing was found."""

    config: CampaignConfig
    examples: int
    seconds: float
    failure: Failure | None
    found_at: int | None = None
    found_seconds: float | None = None
    shrink_seconds: float = 0.0
    shrinks: int = 0
    hypothesis_size: int | None = None  # ops of Hypothesis' shrunk case, before minimize
    limited: int = 0  # runs that reached `config.limit_us` (not judged, not failures)

    @property
    def found(self) -> bool:
        return self.failure is not None


def is_livelock(failure: Failure | None) -> bool:
    """Whether `failure` is a run stopped by the wall-clock watchdog."""
    return failure is not None and any(
        v.property == "crash" and v.message.startswith("the run raised RunTimeout")
        for v in failure.violations)


def evaluate(case: FuzzCase, defects: Iterable[Defect] = (), runner: Runner | None = None,
             context_factory: ContextFactory | None = None,
             wall_limit_s: float = RUN_WALL_LIMIT_S, limit_us: float | None = None,
             on_limit: Callable[[], None] | None = None) -> Failure | None:
    """Run `case` for each of its seeds; the first run with a violation, else None.

    A run that reaches `limit_us` of simulated time is not judged (`on_limit` is called)."""
    defects = frozenset(defects)
    for seed in case.seeds:
        violations = _run_and_check(case, seed, defects, runner, context_factory,
                                    wall_limit_s, limit_us)
        if violations is None:
            if on_limit is not None:
                on_limit()
        elif violations:
            return Failure(case, seed, tuple(violations))
    return None


def _run_and_check(case: FuzzCase, seed: int, defects: frozenset[Defect],
                   runner: Runner | None, factory: ContextFactory | None,
                   wall_limit_s: float, limit_us: float | None) -> list[Violation] | None:
    """The run's violations; None if it reached the simulated-time limit (not judged)."""
    if runner is None:  # run_sim records a crash of the run itself (record.crash)
        record = run_sim(case.scenario, seed, defects, case.timing, factory,
                         wall_limit_s=wall_limit_s, limit_us=limit_us)
    else:
        try:
            record = runner(case.scenario, seed, defects, case.timing)
        except RecorderError:
            raise
        except Exception as error:  # a runner that does not record crashes: a finding
            return [Violation("crash", None, f"the runner raised {type(error).__name__}: "
                              f"{error}")]
    if record.limit_reached_us is not None:
        return None
    return check(case.scenario, record)


def _strategy(config: CampaignConfig) -> st.SearchStrategy[FuzzCase]:
    if config.strategy is not None:
        return config.strategy
    return cases(config.max_ops, config.seeds_per_case, config.draw_timing,
                 faults=config.faults, base_timing=config.base_timing)


def _hypothesis_settings(config: CampaignConfig) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if config.shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=max(1, config.examples), database=config.database, deadline=None,
        phases=phases, verbosity=Verbosity.quiet, report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck), print_blob=False,
    )


def _body(config: CampaignConfig, progress: Progress,
          hook: ProgressHook | None) -> Callable[[FuzzCase], None]:
    def body(case: FuzzCase) -> None:
        if _budget_spent(config, progress) and repr(case) not in progress.failing:
            return  # shrink budget spent: only cases already seen failing still fail
        limit = LIVELOCK_RETRY_S if progress.livelocked else RUN_WALL_LIMIT_S
        failure = evaluate(case, config.defects, config.runner, config.context_factory, limit,
                           config.limit_us, lambda: _limited(progress))
        progress.livelocked = progress.livelocked or is_livelock(failure)
        _count(progress, failure)
        if hook is not None:
            hook(progress)
        if failure is not None:
            raise PropertyFailed(failure)

    return body


def _limited(progress: Progress) -> None:
    progress.limited += 1


def _budget_spent(config: CampaignConfig, progress: Progress) -> bool:
    found = progress.found_seconds
    return found is not None and progress.elapsed() - found > config.shrink_seconds


def _count(progress: Progress, failure: Failure | None) -> None:
    if progress.shrinking:
        progress.shrinks += 1
    else:
        progress.examples += 1
    if failure is None:
        return
    progress.failing.add(repr(failure.case))
    if progress.found_at is None:
        progress.found_at, progress.found_seconds = progress.examples, progress.elapsed()
    if progress.best is None or _smaller(failure, progress.best):
        progress.best = failure


def _smaller(a: Failure, b: Failure) -> bool:
    return (a.size, len(repr(a.case))) <= (b.size, len(repr(b.case)))


def run_campaign(config: CampaignConfig, hook: ProgressHook | None = None) -> CampaignResult:
    """Search for a failing case (and shrink it); see the module docstring.

    With `config.restarts`, a find is followed by that many more searches (Hypothesis
    seeds `seed + 1`, ...) and the smallest counterexample wins; the counts and times of
    the first search are reported, `seconds` covers them all.
    """
    started = time.perf_counter()
    first = _search(config, hook)
    best = first.failure
    for k in range(1, config.restarts + 1 if best is not None else 1):
        again = _search(dataclasses.replace(config, seed=config.seed + k), None).failure
        if again is not None and best is not None and again.size < best.size:
            best = again
    return dataclasses.replace(first, failure=best, seconds=time.perf_counter() - started)


_constants_lock = threading.Lock()
_constants_users = 0
_constants_saved: list[Any] = []


@contextlib.contextmanager
def no_local_constants() -> Iterator[None]:
    """While searching, Hypothesis draws no constants from local source modules (see the
    module docstring); a no-op on Hypothesis versions without that feature."""
    global _constants_users
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without it
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    empty = getattr(providers, "Constants", None)
    if original is None or empty is None:  # pragma: no cover
        yield
        return
    with _constants_lock:
        if _constants_users == 0:
            _constants_saved[:] = [original]
            nothing = empty()
            providers._get_local_constants = lambda: nothing
            providers.CONSTANTS_CACHE.cache.clear()
        _constants_users += 1
    try:
        yield
    finally:
        with _constants_lock:
            _constants_users -= 1
            if _constants_users == 0:
                providers._get_local_constants = _constants_saved.pop()
                providers.CONSTANTS_CACHE.cache.clear()


def _search(config: CampaignConfig, hook: ProgressHook | None) -> CampaignResult:
    progress = Progress()
    test = given(_strategy(config))(_body(config, progress, hook))
    test = hypothesis_seed(config.seed)(_hypothesis_settings(config)(test))
    failure: Failure | None = None
    try:
        with no_local_constants():
            test()
    except PropertyFailed as error:
        failure = error.failure
    shrunk_size = failure.size if failure is not None else None
    if failure is not None and config.minimize:
        failure = _minimize(config, failure)
    seconds = progress.elapsed()
    found_seconds = progress.found_seconds
    return CampaignResult(
        config, progress.examples, seconds, failure, progress.found_at, found_seconds,
        seconds - found_seconds if found_seconds is not None else 0.0, progress.shrinks,
        shrunk_size, progress.limited,
    )


def _minimize(config: CampaignConfig, failure: Failure) -> Failure:
    from model.fuzz.minimize import minimize

    limit = LIVELOCK_RETRY_S if is_livelock(failure) else RUN_WALL_LIMIT_S

    def again(case: FuzzCase) -> Failure | None:
        return evaluate(case, config.defects, config.runner, config.context_factory, limit,
                        config.limit_us)

    return minimize(failure, again, config.minimize_seeds, budget_s=config.shrink_seconds,
                    base_timing=config.base_timing)


__all__ = [
    "CampaignConfig",
    "CampaignResult",
    "Failure",
    "Progress",
    "PropertyFailed",
    "Runner",
    "evaluate",
    "no_local_constants",
    "run_campaign",
]
