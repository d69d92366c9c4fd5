"""Accurate binomial and Poisson probabilities and the Chernoff cuts the engine prunes with.

The saddle-point pmfs (after Loader 2000) keep ~1e-15 relative accuracy for K
in the thousands, where the lgamma formula loses ~1e-12 to cancellation; the
cuts bound every truncation of ``labelnoise.analytic.engine`` rigorously.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numba
import numpy as np

#: Newton steps solving the Chernoff bound for a cut, from the Bernstein point (2 give the
#: bisection answer in ~99% of cases, never an invalid cut: Newton stays on the safe side).
_NEWTON_STEPS = 2
#: Below this n the Stirling-series remainder is tabulated exactly.
_STIRLING_TABLE_SIZE = 16

_LOG_2PI = math.log(2.0 * math.pi)


def _stirling_error_table(size: int) -> np.ndarray:
    """``log(n!) - log(sqrt(2 pi n) (n/e)^n)`` for n < size, to ~1e-17 (Decimal)."""
    table = np.zeros(size)
    with localcontext() as context:  # leave the caller's decimal context alone
        context.prec = 40
        half_log_2pi = (Decimal(2) * Decimal(math.pi)).ln() / 2
        for n in range(1, size):
            dn = Decimal(n)
            value = Decimal(math.factorial(n)).ln() - (dn + Decimal("0.5")) * dn.ln() + dn - half_log_2pi
            table[n] = float(value)
    return table


_STIRLING_TABLE = _stirling_error_table(_STIRLING_TABLE_SIZE)


# ---------------------------------------------------------------------------
# Accurate probability mass functions (saddle-point form, after Loader 2000):
# relative accuracy ~1e-15 even for K in the thousands, where the naive
# lgamma-based formula loses ~1e-12 to cancellation.
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _stirling_error(n):
    """``log(n!) - log(sqrt(2 pi n) (n/e)^n)`` for integer n >= 1."""
    if n < _STIRLING_TABLE_SIZE:
        return _STIRLING_TABLE[n]
    nn = float(n) * float(n)
    return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - (1.0 / 1188.0) / nn) / nn) / nn) / nn) / n


@numba.njit(cache=True)
def _deviance(x, mean):
    """``x log(x/mean) + mean - x``, without cancellation when x ~ mean."""
    if abs(x - mean) < 0.1 * (x + mean):
        v = (x - mean) / (x + mean)
        total = (x - mean) * v
        power = 2.0 * x * v
        v2 = v * v
        j = 1
        while True:
            power *= v2
            updated = total + power / (2 * j + 1)
            if updated == total:
                return updated
            total = updated
            j += 1
    return x * math.log(x / mean) + mean - x


@numba.njit(cache=True)
def _binomial_log_pmf(x, n, p):
    """log Pr(Binomial(n, p) = x)."""
    if x < 0 or x > n:
        return -np.inf
    if p <= 0.0:
        return 0.0 if x == 0 else -np.inf
    if p >= 1.0:
        return 0.0 if x == n else -np.inf
    if x == 0:
        return n * math.log1p(-p)
    if x == n:
        return n * math.log(p)
    core = (
        _stirling_error(n)
        - _stirling_error(x)
        - _stirling_error(n - x)
        - _deviance(float(x), n * p)
        - _deviance(float(n - x), n * (1.0 - p))
    )
    return core - 0.5 * (_LOG_2PI + math.log(x) + math.log1p(-x / n))


@numba.njit(cache=True)
def poisson_log_pmf(x, lam):
    """log Pr(Poisson(lam) = x)."""
    if x < 0:
        return -np.inf
    if lam <= 0.0:
        return 0.0 if x == 0 else -np.inf
    if x == 0:
        return -lam
    return -_stirling_error(x) - _deviance(float(x), lam) - 0.5 * (_LOG_2PI + math.log(x))


@numba.njit(cache=True)
def poisson_pmf_range(lam, lo, hi):
    """Poisson(lam) pmf at lo..hi-1, by recurrence outward from the in-range mode."""
    out = np.zeros(max(hi - lo, 0))
    if hi <= lo:
        return out
    if lam <= 0.0:
        if lo == 0:
            out[0] = 1.0
        return out
    start = min(max(int(lam), lo), hi - 1)
    value = math.exp(poisson_log_pmf(start, lam))
    out[start - lo] = value
    for x in range(start + 1, hi):
        value *= lam / x
        out[x - lo] = value
    value = out[start - lo]
    for x in range(start - 1, lo - 1, -1):
        value *= (x + 1) / lam
        out[x - lo] = value
    return out


@numba.njit(cache=True)
def binomial_mass(n, p, lo, hi):
    """Pr(lo <= Binomial(n, p) < hi), summing the pmf outward from the in-range mode."""
    lo = max(lo, 0)
    hi = min(hi, n + 1)
    if hi <= lo:
        return 0.0
    if p <= 0.0:
        return 1.0 if lo == 0 else 0.0
    if p >= 1.0:
        return 1.0 if hi == n + 1 else 0.0
    odds = p / (1.0 - p)
    start = min(max(int((n + 1) * p), lo), hi - 1)
    first = math.exp(_binomial_log_pmf(start, n, p))
    total = first
    value = first
    for x in range(start, hi - 1):
        value *= (n - x) / (x + 1.0) * odds
        total += value
    value = first
    for x in range(start, lo, -1):
        value *= x / ((n - x + 1.0) * odds)
        total += value
    return total


# ---------------------------------------------------------------------------
# Chernoff bounds and the cuts they imply (rigorous pruning).
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _relative_entropy(x, p):
    """KL(Bernoulli(x) || Bernoulli(p)), for 0 < p < 1 and 0 <= x <= 1."""
    total = 0.0
    if x > 0.0:
        total += x * math.log(x / p)
    if x < 1.0:
        total += (1.0 - x) * math.log((1.0 - x) / (1.0 - p))
    return total


@numba.njit(cache=True)
def log_upper_tail_bound(a, n, p):
    """Upper bound on log Pr(Binomial(n, p) >= a) (Chernoff-Hoeffding)."""
    if a <= 0:
        return 0.0
    if a > n or p <= 0.0:
        return -np.inf
    if p >= 1.0 or a <= n * p:
        return 0.0
    return -n * _relative_entropy(a / n, p)


@numba.njit(cache=True)
def _log_lower_tail_bound(b, n, p):
    """Upper bound on log Pr(Binomial(n, p) <= b) (Chernoff-Hoeffding)."""
    if b < 0:
        return -np.inf
    if b >= n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return -np.inf
    if b >= n * p:
        return 0.0
    return -n * _relative_entropy(b / n, p)


@numba.njit(cache=True)
def _upper_cut_bisect(n, p, log_eps):
    """Smallest a with Pr(Binomial(n, p) >= a) <= eps (by the Chernoff bound), by bisection."""
    lo, hi = -1, n + 1  # bound fails at lo (or lo is a sentinel), holds at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if log_upper_tail_bound(mid, n, p) <= log_eps:
            hi = mid
        else:
            lo = mid
    return hi


@numba.njit(cache=True)
def _lower_cut_bisect(n, p, log_eps):
    """Largest a with Pr(Binomial(n, p) < a) <= eps (by the Chernoff bound), by bisection."""
    lo, hi = 0, n + 2  # bound holds at lo, fails at hi (or hi is a sentinel)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _log_lower_tail_bound(mid - 1, n, p) <= log_eps:
            lo = mid
        else:
            hi = mid
    return lo


@numba.njit(cache=True)
def _bernstein_deviation(n, p, log_eps):
    """s with Pr(|Binomial(n, p) - np| >= s) <= eps per side (Bernstein): a valid, slightly loose cut."""
    level = -log_eps
    return level / 3.0 + math.sqrt(level * level / 9.0 + 2.0 * level * n * p * (1.0 - p))


@numba.njit(cache=True)
def _chernoff_root(n, p, level, x):
    """Newton on n KL(x || p) = level from a start on the far side of the root (monotone, stays there)."""
    for _ in range(_NEWTON_STEPS):
        log_ratio_hit = math.log(x / p)
        log_ratio_miss = math.log((1.0 - x) / (1.0 - p))
        value = n * (x * log_ratio_hit + (1.0 - x) * log_ratio_miss) - level
        x -= value / (n * (log_ratio_hit - log_ratio_miss))
    return x


@numba.njit(cache=True)
def upper_cut(n, p, log_eps):
    """An a (the smallest, up to Newton's last step) with Pr(Binomial(n, p) >= a) <= eps by Chernoff.

    Newton on the convex exponent from the Bernstein point never crosses the root,
    so the cut is always valid; it is checked anyway, with bisection as fallback.
    """
    if 0.0 < p < 1.0:
        if n * math.log(p) > log_eps:  # even Pr(X = n) = p^n exceeds eps
            return n + 1
        start = (n * p + _bernstein_deviation(n, p, log_eps)) / n
        if start < 1.0:
            x = _chernoff_root(n, p, -log_eps, start)
            a = int(math.ceil(n * x))
            if p * n < a <= n and log_upper_tail_bound(a, n, p) <= log_eps:
                return a
    return _upper_cut_bisect(n, p, log_eps)


@numba.njit(cache=True)
def lower_cut(n, p, log_eps):
    """An a (the largest, up to Newton's last step) with Pr(Binomial(n, p) < a) <= eps by Chernoff.

    Newton from the Bernstein point as in :func:`upper_cut`; checked, bisection as fallback.
    """
    if 0.0 < p < 1.0:
        if n * math.log1p(-p) > log_eps:  # even Pr(X = 0) = (1 - p)^n exceeds eps
            return 0
        start = (n * p - _bernstein_deviation(n, p, log_eps)) / n
        if start > 0.0:
            x = _chernoff_root(n, p, -log_eps, start)
            b = int(math.floor(n * x))  # a = b + 1: Pr(X <= b) <= eps
            if 0 <= b < n * p and _log_lower_tail_bound(b, n, p) <= log_eps:
                return b + 1
    return _lower_cut_bisect(n, p, log_eps)


@numba.njit(cache=True)
def fourier_points(K, epsilon):
    """Fewest trapezoid points P whose aliasing, sum_{k!=0} Poi(K+kP; K), is <= eps Poi(K; K)."""
    log_target = math.log(epsilon) + poisson_log_pmf(K, float(K))
    target = math.exp(log_target)
    P = max(1, int(math.sqrt(K)))  # aliasing at one standard deviation is far too large
    while True:
        alias = 0.0
        k = 1
        while True:
            up = math.exp(poisson_log_pmf(K + k * P, float(K)))
            down = math.exp(poisson_log_pmf(K - k * P, float(K))) if K - k * P >= 0 else 0.0
            alias += up + down
            if K - k * P < 0 and up < 1e-3 * target:
                break
            k += 1
        if alias <= target:
            return P
        P += 1

