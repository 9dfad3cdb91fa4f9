"""The recommendation: the smallest swept capacity that meets a miss-probability target.

Rules, in order:
  1. A capacity *meets* the target when the upper end of its 95% interval is <= target
     (so a run too short to resolve the target never meets it, however few misses it saw).
  2. The recommendation is the smallest capacity c such that c and every larger swept
     capacity meet the target (noise cannot make a smaller capacity look safe when a
     larger one does not).
  3. No capacity meets: no recommendation; the reason says whether the target is merely
     unresolved (an estimate is under the target but not its interval) or missed.

Invariant: `capacity` is None or one of the swept capacities; `reason` is one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from model.planning.analysis import Interval


@dataclass(frozen=True, slots=True)
class Recommendation:
    capacity: int | None
    target: float
    reason: str


def recommend(points: Sequence[tuple[int, Interval]], target: float) -> Recommendation:
    """Apply the rules of the module docstring to (capacity, interval) pairs."""
    ordered = sorted(points)
    if not ordered:
        return Recommendation(None, target, "no capacity was swept")
    meets = [iv.hi <= target for _, iv in ordered]
    first = next((i for i in range(len(ordered)) if all(meets[i:])), None)
    if first is None:
        return Recommendation(None, target, _missed(ordered, target))
    capacity, iv = ordered[first]
    note = " (the smallest swept; a smaller one may also do)" if first == 0 else ""
    return Recommendation(capacity, target, f"capacity {capacity} meets the target "
                          f"{target:g}: miss probability {iv.mean:.3g}, 95% upper bound "
                          f"{iv.hi:.3g}{note}")


def _missed(ordered: Sequence[tuple[int, Interval]], target: float) -> str:
    capacity, iv = ordered[-1]
    unresolved = [c for c, i in ordered if i.mean <= target < i.hi]
    if unresolved:
        return (f"no swept capacity meets the target {target:g} with 95% confidence; from "
                f"capacity {unresolved[0]} on the estimate is below it but its interval is "
                "not: run longer (--duration-s) or more replications")
    return (f"no swept capacity meets the target {target:g}: the largest, {capacity}, misses "
            f"with probability {iv.mean:.3g} (95% upper bound {iv.hi:.3g}); sweep larger "
            "capacities")
