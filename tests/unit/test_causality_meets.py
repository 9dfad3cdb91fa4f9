"""`causality._SiteMeets` answers exactly what the scan over `GroundTruth.candidates` did.

Random sites (value order, random `lo`), pasts set progressively, random queries: the
segment tree's meet equals the brute-force meet of every candidate's past — values,
reasons and key order — and None exactly when there is no candidate.
"""

from __future__ import annotations

import random

import pytest

from model.scenario.checker.causality import Past, _meet, _SiteMeets
from model.scenario.checker.views import Reached


def _brute(sites: list[Reached], done: dict[str, Past], i: int, t: float) -> Past | None:
    cands = [r for j, r in enumerate(sites) if j >= i and r.lo <= t]
    return _meet([done.get(r.op, {}) for r in cands]) if cands else None


@pytest.mark.parametrize("seed", range(40))
def test_tree_meet_equals_the_scan(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 70)
    sites = [Reached(f"o{j}", "S", j + 1, float(rng.randint(0, 50)),
                     0.0, rng.random() < 0.5) for j in range(n)]
    tree = _SiteMeets(sites)
    done: dict[str, Past] = {}
    names = ["A", "B", "C", "D"]
    for _ in range(4 * n):
        if rng.random() < 0.4:
            j = rng.randrange(n)
            keys = rng.sample(names, rng.randint(0, 4))
            past = {s: (rng.randint(0, 5), rng.choice("xyz")) for s in keys}
            done[sites[j].op] = past
            tree.set(j, past)
        i, t = rng.randrange(n + 1), float(rng.randint(-1, 51))
        got, want = tree.query(i, t), _brute(sites, done, i, t)
        assert got == want and list((got or {}).items()) == list((want or {}).items())
