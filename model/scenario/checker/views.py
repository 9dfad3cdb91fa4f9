"""Views of a `RunRecord` that the properties share: ground truth first, claims second.

* `GroundTruth` — when each signal reached its value, from what the platform and the
  device observed: a host signal that returned OK reached its value somewhere inside its
  call (`[start_us, end_us]` on the host clock); an execute's signal reached its value
  when its device work ended (`end_us`, device time aligned to the host clock). Nothing
  here reads the core's value log.
* `Log` — the core's value log (a claim), indexed per semaphore in seq order.
* `Ctx` — everything a property check gets: scenario, record, the analysis, the views
  and the record's tolerances.

Values of one semaphore are distinct across its signal sites (a parser invariant), so a
value names at most one site.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from model.scenario.checker.analysis import OK, Analysis, Index
from model.scenario.record import PENDING, OpResult, RunRecord, ValueChange
from model.scenario.types import Execute, Op, Scenario, Signal, Wait

EPS_US = 1e-6  # tolerance when comparing times (floating-point simulated clocks)


@dataclass(frozen=True, slots=True)
class Violation:
    property: str  # one of PROPERTIES
    op: str | None  # the op id concerned, None for a semaphore/pool/queue-level problem
    message: str


@dataclass(frozen=True, slots=True)
class Reached:
    """A signal site that happened: `op` brought `semaphore` to `value` at some time in
    [`lo`, `hi`] (ground truth; an execute's `lo == hi` is its device end)."""

    op: str
    semaphore: str
    value: int
    lo: float
    hi: float
    host: bool

    def describe(self) -> str:
        if self.host:
            return (f"host signal {self.op} of {self.semaphore} = {self.value} "
                    f"(call {self.lo:.3f}-{self.hi:.3f} us)")
        return (f"execute {self.op}, which signalled {self.semaphore} = {self.value} "
                f"(device end {self.lo:.3f} us)")


class GroundTruth:
    """Per semaphore, the sites that happened, by value, with suffix minima of `lo` so
    that "the earliest time S reached >= v" is one bisection."""

    def __init__(self, ix: Index, record: RunRecord) -> None:
        self.initial = ix.initial
        self.sites: dict[str, list[Reached]] = {}
        self._values: dict[str, list[int]] = {}
        self._earliest: dict[str, list[Reached]] = {}
        self._host_earliest: dict[str, list[float]] = {}
        self.by_op: dict[str, list[Reached]] = {}
        for s, sites in ix.sites.items():
            reached = sorted(
                (r for site in sites
                 if (r := _reached(record.ops.get(site.op), s, site.value, site.host))),
                key=lambda r: r.value,
            )
            self.sites[s] = reached
            self._values[s] = [r.value for r in reached]
            suffix: list[Reached] = []
            for r in reversed(reached):
                suffix.append(r if not suffix or r.lo < suffix[-1].lo else suffix[-1])
            self._earliest[s] = suffix[::-1]
            self._host_earliest[s] = suffix_min(
                [r.lo if r.host else float("inf") for r in reached])
            for r in reached:
                self.by_op.setdefault(r.op, []).append(r)

    def earliest(self, s: str, v: int) -> Reached | None:
        """The site that reached `s` >= `v` first (by `lo`), if any did."""
        i = bisect.bisect_left(self._values[s], v)
        return self._earliest[s][i] if i < len(self._values[s]) else None

    def exact(self, s: str, v: int) -> Reached | None:
        """The site that signalled exactly `s` = `v`, if it happened."""
        values = self._values[s]
        i = bisect.bisect_left(values, v)
        return self.sites[s][i] if i < len(values) and values[i] == v else None

    def reached_by(self, s: str, v: int, t: float) -> bool:
        """Whether `s` >= `v` held on ground truth by time `t` (initial values hold always)."""
        if v <= self.initial[s]:
            return True
        first = self.earliest(s, v)
        return first is not None and first.lo <= t

    def first_at_or_above(self, s: str, v: int) -> int:
        """The index in `sites[s]` of the first site with value >= `v`."""
        return bisect.bisect_left(self._values[s], v)

    def candidates(self, s: str, v: int, t: float) -> list[Reached]:
        """Sites that may have brought `s` to >= `v` by time `t`.

        Scans upwards from `v` and stops where the suffix minimum of `lo` passes `t`,
        so a chain (values and times ascending together) costs O(answer + 1)."""
        i = bisect.bisect_left(self._values[s], v)
        sites, earliest = self.sites[s], self._earliest[s]
        out = []
        for j in range(i, len(sites)):
            if earliest[j].lo > t:
                break
            if sites[j].lo <= t:
                out.append(sites[j])
        return out

    def earliest_host(self, s: str, v: int) -> float | None:
        """The earliest call start of a host signal of `s` with value >= `v`."""
        i = bisect.bisect_left(self._values[s], v)
        host = self._host_earliest[s]
        return host[i] if i < len(host) and host[i] != float("inf") else None


def _reached(r: OpResult | None, s: str, value: int, host: bool) -> Reached | None:
    if r is None:
        return None
    if host:
        if r.status != OK or r.start_us is None:
            return None
        end = r.end_us if r.end_us is not None else r.start_us
        return Reached(r.id, s, value, r.start_us, end, True)
    if r.start_us is None or r.end_us is None:
        return None
    return Reached(r.id, s, value, r.end_us, r.end_us, False)


class Log:
    """The host-visible value log (the core's claim), indexed per semaphore in seq order."""

    def __init__(self, scenario: Scenario, record: RunRecord) -> None:
        self.initial = scenario.semaphores
        self.by_sem: dict[str, list[ValueChange]] = {}
        for ch in sorted(record.value_log, key=lambda c: c.seq):
            self.by_sem.setdefault(ch.semaphore, []).append(ch)
        self.oks = {s: [c for c in chs if c.status == OK] for s, chs in self.by_sem.items()}
        self.ok_seqs = {s: [c.seq for c in chs] for s, chs in self.oks.items()}
        self.failures = {
            s: f for s, chs in self.by_sem.items() if (f := first_failure(chs)) is not None
        }

    def value_at(self, s: str, seq: int, keep: Callable[[ValueChange], bool] | None = None) -> int:
        """Value of `s` seen just before `seq`: the latest OK change with a smaller seq
        (that `keep` accepts), else the initial value."""
        oks = self.oks.get(s, [])
        i = bisect.bisect_left(self.ok_seqs.get(s, []), seq)
        if keep is None:
            return oks[i - 1].value if i else self.initial[s]
        kept = (c.value for c in reversed(oks[:i]) if keep(c))
        return next(kept, self.initial[s])

    def failure_at(self, s: str, seq: int) -> ValueChange | None:
        """The first failure of `s` with seq < `seq`, if any."""
        f = self.failures.get(s)
        return f if f is not None and f.seq < seq else None

    def first_failure(self, s: str) -> ValueChange | None:
        return self.failures.get(s)


def first_failure(changes: list[ValueChange]) -> ValueChange | None:
    return next((c for c in changes if c.status != OK), None)


@dataclass(slots=True)
class Ctx:
    scenario: Scenario
    record: RunRecord
    ix: Index
    analysis: Analysis
    log: Log
    truth: GroundTruth
    teardown: set[str]  # record.cancelled_at_teardown
    # Slack for comparing device times with host times, and for platform wake-ups.
    clock_tol: float = field(default=EPS_US)
    sched_tol: float = field(default=EPS_US)

    def result(self, op_id: str) -> OpResult | None:
        return self.record.ops.get(op_id)

    def status(self, op_id: str) -> str:
        return status(self.record, op_id)


def make_ctx(scenario: Scenario, record: RunRecord, ix: Index, analysis: Analysis) -> Ctx:
    return Ctx(scenario, record, ix, analysis, Log(scenario, record), GroundTruth(ix, record),
               set(record.cancelled_at_teardown),
               clock_tol=EPS_US + max(0.0, record.clock_tolerance_us),
               sched_tol=EPS_US + max(0.0, record.scheduling_tolerance_us))


def status(record: RunRecord, op_id: str) -> str:
    r = record.ops.get(op_id)
    return r.status if r is not None else PENDING


def failed(status: str) -> bool:
    return status not in (OK, PENDING)


def ran(r: OpResult | None) -> bool:
    return r is not None and r.start_us is not None and r.end_us is not None


def suffix_min(xs: list[float]) -> list[float]:
    """out[i] = min(xs[i:])."""
    out: list[float] = []
    for x in reversed(xs):
        out.append(min(x, out[-1]) if out else x)
    return out[::-1]


def host_key(op: Op, r: OpResult, start: bool, use_seq: bool) -> float | None:
    """Where a host call started (`start`) or returned in host order: its seq, or its
    host time when the record has no seqs (`use_seq` False). An execute is its submit
    call; only its start is a key."""
    if isinstance(op, Execute):
        if not start:
            return None
        return (None if r.submit_start_seq is None else float(r.submit_start_seq)) \
            if use_seq else r.submit_start_us
    if use_seq:
        seq = r.start_seq if start else r.end_seq
        return None if seq is None else float(seq)
    return r.start_us if start else r.end_us


def uses_seqs(calls: Iterable[tuple[Op, OpResult]]) -> bool:
    """Whether every host call that started has the seq its start key needs."""
    return all(host_key(op, r, True, True) is not None for op, r in calls
               if host_key(op, r, True, False) is not None)


def fmt_pairs(values: dict[str, int]) -> str:
    return ", ".join(f"{s}>={v}" for s, v in values.items()) or "(empty list)"


def fmt_time(t: float | None) -> str:
    return "-" if t is None else f"{t:.3f} us"


def wait_pairs(op: Execute | Wait) -> dict[str, int]:
    return op.wait if isinstance(op, Execute) else op.semaphores


def signal_ops(ix: Index) -> Iterable[Signal]:
    return (op for op in ix.all_ops if isinstance(op, Signal))
