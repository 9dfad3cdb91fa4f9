"""The queueing formulas the analytic check uses, against closed forms.

M/M/1: P(N = n) = (1 - rho) rho^n; M/G/1 means: Pollaczek-Khinchine; M^X/M/1 with fixed
batches k: L = rho (k + 1) / (2 (1 - rho)); two independent M/M/1 queues at the same load:
negative binomial; M/G/inf: Poisson. The callback tandem's phases: E[(X - Y)+] of two
uniforms against a double integral (scipy's dblquad), the enqueue wait against its
chain-free closed form and a Monte Carlo draw of the law its docstring states.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

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


@pytest.mark.parametrize(("x", "y"), [
    ((0.9, 1.1), (0.9, 1.1)), ((0.9, 1.1), (22.5, 27.5)), ((22.5, 27.5), (0.9, 1.1)),
    ((1.0, 3.0), (2.0, 2.5)), ((0.0, 4.0), (1.0, 1.0)), ((2.0, 2.0), (1.0, 4.0)),
    ((3.0, 3.0), (1.0, 1.0)),
])
def test_uniform_excess_is_the_double_integral(x: tuple[float, float],
                                               y: tuple[float, float]) -> None:
    """E[(X - Y)+] for X ~ U[x], Y ~ U[y] (a point interval: fixed), integrated directly."""
    (x0, x1), (y0, y1) = x, y

    def integral() -> float:
        if x1 > x0 and y1 > y0:
            value, _ = integrate.dblquad(lambda v, u: max(0.0, u - v), x0, x1, y0, y1,
                                         epsabs=1e-11)
            return float(value) / ((x1 - x0) * (y1 - y0))
        if x1 > x0:
            return float(integrate.quad(lambda u: max(0.0, u - y0), x0, x1)[0]) / (x1 - x0)
        if y1 > y0:
            return float(integrate.quad(lambda v: max(0.0, x0 - v), y0, y1)[0]) / (y1 - y0)
        return max(0.0, x0 - y0)

    expected = integral()
    assert qt.uniform_excess(x, y) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    # E[X - Y] = E[(X - Y)+] - E[(Y - X)+]
    assert qt.uniform_excess(x, y) - qt.uniform_excess(y, x) == pytest.approx(
        sum(x) / 2 - sum(y) / 2, abs=1e-9)


@pytest.mark.parametrize(("d0", "sojourn"), [(10.0, 35.2), (10.0, 5.0), (40.0, 120.0)])
def test_enqueue_wait_without_chains_is_the_exponential_closed_form(
        d0: float, sojourn: float) -> None:
    expected = d0 - sojourn * (1 - math.exp(-d0 / sojourn))
    assert qt.enqueue_wait(d0, sojourn, 30.0, 0.0, (4.0, 17.0), 0.1) == pytest.approx(
        expected, rel=1e-12)


@pytest.mark.parametrize(("d0", "sojourn", "kernel", "chained", "launch"), [
    (10.0, 35.23, 30.0, 0.1015, (4.0, 17.0)),  # the grid's 16 queues at 0.5
    (10.0, 2.02, 2.0, 0.297, (40.0, 60.0)),  # slow launches, short kernels
    (10.0, 30.0, 30.0 * (1 - 1e-12), 0.3, (4.0, 17.0)),  # kernel = sojourn: Erlang-2
])
def test_enqueue_wait_is_the_mean_of_its_stated_law(
        d0: float, sojourn: float, kernel: float, chained: float,
        launch: tuple[float, float]) -> None:
    """Draw the law `queueing.enqueue_wait` states, independently of its closed forms: a
    chained action (probability `chained`) has D = d0 + U[launch] x U[0.9, 1.1] and
    T = S + I R (S ~ exp(kernel), R ~ exp(sojourn), I ~ Bernoulli(exp(-d0 / sojourn)));
    the others D = d0 and T ~ exponential with the rest of the M/M/1 mean sojourn."""
    rng = np.random.default_rng(7)
    n = 2_000_000
    is_chained = rng.random(n) < chained
    q = math.exp(-d0 / sojourn)
    rest = (sojourn - chained * (kernel + q * sojourn)) / (1 - chained)
    cost = rng.uniform(*launch, n) * rng.uniform(0.9, 1.1, n)
    d = np.where(is_chained, d0 + cost, d0)
    t_chained = rng.exponential(kernel, n) + (rng.random(n) < q) * rng.exponential(sojourn, n)
    t = np.where(is_chained, t_chained, rng.exponential(rest, n))
    draws = np.maximum(0.0, d - t)
    expected, se = float(draws.mean()), float(draws.std() / math.sqrt(n))
    assert qt.enqueue_wait(d0, sojourn, kernel, chained, launch, 0.1) == pytest.approx(
        expected, abs=4 * se)
