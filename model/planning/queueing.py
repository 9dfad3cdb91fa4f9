"""Queueing formulas for the analytic check: number-in-system distributions.

Pure numerics (numpy/scipy), no simulation. Time unit: µs; rates are per µs here.

  * `Service`: a service-time law (the workload's kernel durations, or the callback
    stream's host-callback latency), with `arrivals_during(lam, n)`: a_k = P(k Poisson(lam)
    arrivals during one service), k < n, computed with scipy's distributions.
  * `mx_g_1(lam_batch, batch, service)`: the M^X/G/1 queue with batches of fixed size
    `batch` arriving as a Poisson process. The departure-epoch chain (customers left behind
    by a departure: i -> i - 1 + A from i >= 1, 0 -> X - 1 + A, A = customers arriving in a
    service) is solved as a linear system; level crossing gives the time-average (= seen by
    an arriving batch, PASTA) distribution: E[X] pi_j = sum_{k<=j} p_k P(X > j - k). With
    X = 1 this is the M/G/1 queue and p = pi, whose mean is Pollaczek-Khinchine's
    L = rho + lam^2 E[S^2] / (2 (1 - rho)); with exponential service p_n = (1-rho) rho^n.
  * `poisson_pmf(a)`: the M/G/inf number in system (Poisson(a), a = lam E[S]).
  * `convolve`: the number in use of independent systems (sum of independent counts).
  * `uniform_excess(x, y)`: E[(X - Y)+] for independent uniform (or fixed) X, Y, in closed
    form: the overlap of two phases that start together (a host function's body and the
    completion loop's query after the hand-off).
  * `enqueue_wait(...)`: E[(D - T)+], how long a kernel that ends before its host function
    is enqueued (D after its launch; longer for an action issued right behind another)
    waits for it, T its sojourn in an M/M/1 kernel stream; closed forms of the
    exponential and hypoexponential laws, Gauss-Legendre over the launch cost's law.

Invariant: every pmf returned is non-negative, sums to 1 within 1e-9 and is truncated
only where the remaining tail is below `TAIL`.

References: L. Kleinrock, Queueing Systems vol. 1 (1975), §5.6 (the M/G/1 embedded
chain, P-K), §4.5 and §5.9 (bulk arrivals); H. C. Tijms, A First Course in Stochastic
Models (2003), §9.2 (level crossing for batch arrivals); P. J. Burke, "The output of a
queuing system", Oper. Res. 4 (1956) (M/M/1 departures are Poisson).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.special import gammainc

TAIL = 1e-13
MAX_STATES = 3000
_HERMITE = np.polynomial.hermite.hermgauss(80)
_LEGENDRE = np.polynomial.legendre.leggauss(24)

Pmf = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Service:
    """A service-time law in µs: fixed `a`; exponential mean `a`; lognormal log-mean `a`,
    log-sd `b`; uniform [`a`, `b`]; empirical: uniform choice among `samples`;
    mixture: `parts` with `weights` (a queue fed by several kernels)."""

    kind: str
    a: float = 0.0
    b: float = 0.0
    samples: tuple[float, ...] = ()
    parts: tuple[Service, ...] = ()
    weights: tuple[float, ...] = ()

    @property
    def mean(self) -> float:
        if self.kind == "mixture":
            return sum(w * p.mean for w, p in zip(self.weights, self.parts, strict=True))
        return {
            "fixed": lambda: self.a, "exponential": lambda: self.a,
            "lognormal": lambda: math.exp(self.a + self.b * self.b / 2),
            "uniform": lambda: (self.a + self.b) / 2,
            "empirical": lambda: sum(self.samples) / len(self.samples),
        }[self.kind]()

    @property
    def exponential(self) -> bool:
        return self.kind == "exponential"

    def shifted(self, c: float) -> Service:
        """The law of S + c (c >= 0): used to add a constant host-thread delay."""
        if self.kind in ("fixed", "uniform"):
            return Service(self.kind, self.a + c, self.b + c if self.kind == "uniform" else 0)
        raise ValueError(f"cannot shift a {self.kind} service law")

    def arrivals_during(self, lam: float, n: int) -> Pmf:
        """a_k = P(k arrivals of a Poisson(lam per µs) process during one service), k < n."""
        k = np.arange(n)
        if self.kind == "mixture":
            return sum((w * p.arrivals_during(lam, n)
                        for w, p in zip(self.weights, self.parts, strict=True)),
                       np.zeros(n))
        if self.kind == "fixed":
            return np.asarray(stats.poisson.pmf(k, lam * self.a), dtype=np.float64)
        if self.kind == "exponential":  # geometric: P(k) = (1-r) r^k, r = lam m / (1 + lam m)
            return np.asarray(stats.nbinom.pmf(k, 1, 1.0 / (1.0 + lam * self.a)),
                              dtype=np.float64)
        if self.kind == "uniform":
            if self.b <= self.a:
                return np.asarray(stats.poisson.pmf(k, lam * self.a), dtype=np.float64)
            cdf = gammainc(k + 1, lam * self.b) - gammainc(k + 1, lam * self.a)
            return np.asarray(cdf / (lam * (self.b - self.a)), dtype=np.float64)
        if self.kind == "lognormal":  # Gauss-Hermite over the log-normal's normal variable
            x, w = _HERMITE
            t = np.exp(self.a + self.b * math.sqrt(2.0) * x)
            return np.asarray(stats.poisson.pmf(k[:, None], lam * t[None, :]) @ w / math.sqrt(
                math.pi), dtype=np.float64)
        if self.kind == "empirical":
            s = np.asarray(self.samples)
            return np.asarray(stats.poisson.pmf(k[:, None], lam * s[None, :]).mean(axis=1),
                              dtype=np.float64)
        raise ValueError(f"unknown service law {self.kind!r}")


def poisson_pmf(a: float) -> Pmf:
    """Poisson(a), truncated where the tail is below `TAIL`."""
    n = int(stats.poisson.isf(TAIL, a)) + 2 if a > 0 else 1
    return _normalised(stats.poisson.pmf(np.arange(n), a))


def _states(rho: float, batch: int) -> int:
    """A truncation level past the tail: ~35 means of an M^X/M/1-like queue (>= 200)."""
    mean = rho * (batch + 1) / (2 * (1 - rho)) + batch
    return int(min(MAX_STATES, max(200, 35 * mean)))


def mg1(lam: float, service: Service) -> Pmf:
    """Number in system of M/G/1 (time average = seen by arrivals = left by departures).

    The embedded chain's cut equations give the stable, all-positive recursion
    pi_0 = 1 - rho, pi_n = (pi_0 A_{n-1} + sum_{k=1}^{n-1} pi_k A_{n-k}) / a_0,
    A_j = P(more than j arrivals in a service).
    """
    rho = lam * service.mean
    if not 0 <= rho < 1:
        raise ValueError(f"utilization {rho:.3g} is not below 1")
    n = _states(rho, 1)
    a = service.arrivals_during(lam, n)
    above = np.clip(1.0 - np.cumsum(a), 0.0, None)
    pi = np.zeros(n)
    pi[0] = 1.0 - rho
    for j in range(1, n):
        pi[j] = (pi[0] * above[j - 1] + pi[1:j] @ above[j - 1:0:-1]) / a[0]
        if pi[j] < TAIL * 1e-3 and pi[:j + 1].sum() > 1 - TAIL:
            break
    return _normalised(pi)


def mx_g_1(lam_batch: float, batch: int, service: Service) -> Pmf:
    """Time-average number in system of M^X/G/1 (fixed batch size); see the docstring."""
    if batch == 1:
        return mg1(lam_batch, service)
    rho = lam_batch * batch * service.mean
    if not 0 <= rho < 1:
        raise ValueError(f"utilization {rho:.3g} is not below 1")
    n = _states(rho, batch)
    m = service.arrivals_during(lam_batch, n // batch + 1)
    a = np.zeros(n)
    a[::batch] = m[: len(a[::batch])]  # customers arriving in a service: batch x Poisson count
    trans = np.zeros((n, n))
    for i in range(1, n):
        trans[i, i - 1:] = a[: n - i + 1]
    trans[0, batch - 1:] = a[: n - batch + 1]
    trans[:, -1] += 1.0 - trans.sum(axis=1)  # the truncated tail, lumped
    system = trans.T - np.eye(n)
    system[-1, :] = 1.0
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    pi = np.clip(np.linalg.solve(system, rhs), 0.0, None)
    p = np.zeros(n)
    for j in range(n):  # E[X] pi_j = sum_{k <= j} p_k P(X > j - k), P(X > i) = 1 for i < X
        p[j] = max(0.0, batch * pi[j] - p[max(0, j - batch + 1):j].sum())
    return _normalised(p)


def thin(pmf: Pmf, q: float) -> Pmf:
    """Remove one object with probability `q` whenever the count is >= 1.

    Used for a phase at most one object per queue is in that the count does not include
    (a timepoint not yet acquired while its action's record is made; an event already
    released while its host function's body still occupies the callback stream).
    """
    q = min(1.0, max(0.0, q))
    out = pmf.copy()
    out[1:] *= 1.0 - q
    out[:-1] += q * pmf[1:]
    return _normalised(out)


def convolve(pmfs: Sequence[Pmf]) -> Pmf:
    """The pmf of a sum of independent counts, truncated where the tail is below `TAIL`."""
    out: Pmf = np.ones(1)
    for pmf in pmfs:
        out = _normalised(np.convolve(out, pmf))
    return out


def _normalised(pmf: Pmf) -> Pmf:
    pmf = np.clip(np.asarray(pmf, dtype=np.float64), 0.0, None)
    pmf = pmf / pmf.sum()
    tail = np.cumsum(pmf[::-1])[::-1]
    keep = int(np.searchsorted(-tail, -TAIL)) + 1
    return pmf[: max(1, min(len(pmf), keep))]


def uniform_excess(x: tuple[float, float], y: tuple[float, float]) -> float:
    """E[(X - Y)+] for independent X ~ U[x0, x1] and Y ~ U[y0, y1] (x0 == x1: fixed).

    With H(t) = (t+)^3 / 6, d^2/dx dy H(x - y) = -(x - y)+, so the double integral over the
    rectangle is H(x1 - y0) + H(x0 - y1) - H(x1 - y1) - H(x0 - y0), over (x1-x0)(y1-y0);
    a fixed end is the limit (one integral, G(t) = (t+)^2 / 2).
    """
    (x0, x1), (y0, y1) = x, y
    wx, wy = x1 - x0, y1 - y0
    if wx < 0 or wy < 0:
        raise ValueError(f"not an interval: {x} or {y}")

    def h(t: float) -> float:
        return max(0.0, t) ** 3 / 6

    def g(t: float) -> float:
        return max(0.0, t) ** 2 / 2

    if wx > 0 and wy > 0:
        return (h(x1 - y0) + h(x0 - y1) - h(x1 - y1) - h(x0 - y0)) / (wx * wy)
    if wx > 0:
        return (g(x1 - y0) - g(x0 - y0)) / wx
    if wy > 0:
        return (g(x0 - y0) - g(x0 - y1)) / wy
    return max(0.0, x0 - y0)


def _short_of_exp(d: float, m: float) -> float:
    """E[(d - S)+] for S ~ exponential(mean m): the integral of P(S <= t) over [0, d]."""
    return d - m * -math.expm1(-d / m) if m > 0 else d


def _short_of_hypo(d: float, k: float, m: float) -> float:
    """E[(d - S - R)+] for independent exponentials S (mean k) and R (mean m)."""
    if abs(m - k) < 1e-9 * max(m, k):  # Erlang-2 of mean 2k
        return d - k * (-2.0 * math.expm1(-d / k) - d / k * math.exp(-d / k))
    return d - (m * m * -math.expm1(-d / m) - k * k * -math.expm1(-d / k)) / (m - k)


def enqueue_wait(d0: float, sojourn: float, kernel: float, chained: float,
                 launch: tuple[float, float], jitter: float) -> float:
    """E[(D - T)+]: a kernel's wait, after it ends, for its host function's enqueue.

    D0 = `d0` µs after the launch the worker enqueues the host function; T is the
    kernel's sojourn from its launch in the kernel stream, an M/M/1 queue of mean sojourn
    `sojourn` and mean service `kernel` (T is then exponential). A fraction `chained` of
    the actions (those submitted while the worker issues another: its utilization, by
    PASTA) is launched at once behind the previous action's host-function enqueue, its
    launch cost C ~ U[launch] x U[1 - jitter, 1 + jitter] paid after the launch took effect
    (coalesced calls; `launch` = (0, 0) when not), so its D = D0 + C; its kernel starts
    behind the previous one, still running w.p. q = exp(-D0 / sojourn) with an
    exponential residual: T = S + I R (hypoexponential). The others keep the M/M/1 mean
    sojourn in total: exponential with mean (sojourn - chained E[T_chained]) / (1 -
    chained). E[(d - T)+] = the integral of P(T <= t) over [0, d], in closed form; C's law
    by Gauss-Legendre. `chained` = 0 gives d0 - sojourn (1 - exp(-d0 / sojourn)).
    """
    if sojourn <= 0:
        return d0
    p = min(max(chained, 0.0), 1.0)
    q = math.exp(-d0 / sojourn)
    rest = (sojourn - p * (kernel + q * sojourn)) / (1 - p) if p < 1 else 0.0
    total = (1 - p) * _short_of_exp(d0, max(rest, 0.0))
    if p > 0:
        x, w = _LEGENDRE
        lo, hi = launch
        costs = (lo + hi) / 2 + (hi - lo) / 2 * x  # the launch cost's base, uniform
        factors = 1 + jitter * x  # its jitter factor, uniform
        weights = np.outer(w, w) / 4
        chained_wait = 0.0
        for i, c in enumerate(costs):
            for j, f in enumerate(factors):
                d = d0 + c * f
                chained_wait += weights[i, j] * ((1 - q) * _short_of_exp(d, kernel)
                                                 + q * _short_of_hypo(d, kernel, sojourn))
        total += p * chained_wait
    return total


def at_least(pmf: Pmf, n: int) -> float:
    """P(count >= n)."""
    if n <= 0:
        return 1.0
    return float(max(0.0, min(1.0, pmf[n:].sum())))


def mean(pmf: Pmf) -> float:
    return float(np.arange(len(pmf)) @ pmf)
