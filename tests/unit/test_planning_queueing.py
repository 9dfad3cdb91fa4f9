"""The queueing formulas the analytic check uses, against closed forms.

M/M/1: P(N = n) = (1 - rho) rho^n; M/G/1 means: Pollaczek-Khinchine; M^X/M/1 with fixed
batches k: L = rho (k + 1) / (2 (1 - rho)); two independent M/M/1 queues at the same load:
negative binomial; M/G/inf: Poisson.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from model.planning import queueing as qt
from model.planning.queueing import Service


@pytest.mark.parametrize("rho", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_mm1_is_geometric(rho: float) -> None:
    pmf = qt.mg1(rho / 30, Service("exponential", 30))
    n = np.arange(min(len(pmf), 60))
    assert pmf[n] == pytest.approx((1 - rho) * rho ** n, rel=1e-7, abs=1e-15)
    assert qt.at_least(pmf, 8) == pytest.approx(rho ** 8, rel=1e-7)


def _second_moment(s: Service) -> float:
    if s.kind == "fixed":
        return s.a ** 2
    if s.kind == "uniform":
        return (s.b ** 3 - s.a ** 3) / (3 * (s.b - s.a))
    if s.kind == "lognormal":
        return math.exp(2 * s.a + 2 * s.b ** 2)
    return float(np.mean(np.square(s.samples)))


@pytest.mark.parametrize("service", [
    Service("fixed", 30), Service("uniform", 90, 110), Service("lognormal", 3.3, 0.5),
    Service("empirical", samples=(12, 12, 14, 18, 25, 40)),
], ids=lambda s: s.kind)
@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_mg1_mean_is_pollaczek_khinchine(service: Service, rho: float) -> None:
    lam = rho / service.mean
    pk = rho + lam * lam * _second_moment(service) / (2 * (1 - rho))
    pmf = qt.mg1(lam, service)
    assert qt.mean(pmf) == pytest.approx(pk, rel=1e-6)
    assert pmf[0] == pytest.approx(1 - rho, rel=1e-9)


@pytest.mark.parametrize(("rho", "k"), [(0.2, 2), (0.5, 4), (0.8, 3)])
def test_batch_poisson_mm1_mean(rho: float, k: int) -> None:
    pmf = qt.mx_g_1(rho / 30 / k, k, Service("exponential", 30))
    assert qt.mean(pmf) == pytest.approx(rho * (k + 1) / (2 * (1 - rho)), rel=1e-6)
    assert pmf.min() >= 0 and pmf.sum() == pytest.approx(1.0)


def test_independent_queues_convolve_to_a_negative_binomial() -> None:
    rho = 0.6
    one = qt.mg1(rho / 30, Service("exponential", 30))
    four = qt.convolve([one] * 4)
    n = np.arange(40)
    assert four[n] == pytest.approx(stats.nbinom.pmf(n, 4, 1 - rho), rel=1e-6)


def test_thinning_and_poisson() -> None:
    pmf = qt.poisson_pmf(3.0)
    assert qt.at_least(pmf, 5) == pytest.approx(stats.poisson.sf(4, 3.0), rel=1e-9)
    thinned = qt.thin(np.array([0.5, 0.3, 0.2]), 0.5)
    assert thinned == pytest.approx([0.65, 0.25, 0.1])


def test_an_unstable_queue_is_refused() -> None:
    with pytest.raises(ValueError, match="not below 1"):
        qt.mg1(1 / 30, Service("exponential", 30))
