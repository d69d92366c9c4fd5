"""Analytic expected accuracy of a K-NN plurality vote under label noise.

Implements Section 4 and Appendix B of Drory, Avidan & Giryes, "On the
Resistance of Neural Nets to Label Noise":

* ``Q = Pr(Y(x) = y)`` (Eq. 3): the probability that the correct label is the
  plurality of K i.i.d. neighbour labels drawn with probabilities ``q``;
* ``q`` from the clean label distribution and the noise's confusion matrix
  (Eq. 6), in the simplified case (Eqs. 7-9) and the general case (Eq. 2);
* the paper's own nested summation (Appendix B, Eqs. 10-18), kept as the
  baseline, and a brute-force enumeration, kept as the ground truth;
* a least-squares fit of K to an empirical accuracy curve.

The fast engine ("fourier")
---------------------------
Poissonise: with r = K and independent counts ``n_j ~ Poisson(K q_j)`` the
total is Poisson(K), and conditioned on the total being K the counts are
exactly multinomial(K, q).  Hence, with c the correct label and t = m - 1 the
cap on every other label when ``n_c = m``,

    Q = Pr_Poisson(event, total = K) / Poisson(K; K),
    Pr_Poisson(event, total = K)
      = (1/P) sum_theta e^{-iK theta} sum_m Poi(m; K q_c) e^{i m theta}
                                        prod_{j != c} T_{m-1, j}(theta),

where ``T_{t,j}(theta) = sum_{n <= t} Poi(n; K q_j) e^{i n theta}`` is a
truncated characteristic function (a prefix sum, so every cap t comes out of
one pass) and the trapezoid rule on P roots of unity is exact up to aliasing
of the totals K +- P, K +- 2P, ...  Every quantity is a probability or a
characteristic function bounded by 1, so nothing overflows or underflows for
K up to thousands; the cost is O(P (B t + W B)) per q with P ~ sqrt(2 K
log(1/eps)), B the number of competing labels, W the number of relevant m.

Pruning, each piece bounded by a Chernoff tail bound of the *multinomial*
(conditional) model, so rigorous rather than a Gaussian guess; ``epsilon`` is
the budget of each piece:

1. ``n_c`` below ``m_lo`` or at/above ``m_hi`` (binomial tails of n_c): <= 2 eps.
2. Competitor j's count at or above its upper cut (probability <= eps/(L-1)):
   a competitor that cannot reach ``m_lo`` is "free" (uncapped, merged with the
   other free labels into one Poisson factor), a binding competitor's factor is
   frozen past its cut, and for ``n_c >= m_one`` (above every cut) F(m) = 1 and
   the contribution is a plain binomial tail of n_c.  All of these only
   mis-handle events inside {n_j >= cut_j}: <= eps in total.
3. Competitor counts below their lower cut are dropped: <= eps.
4. The free labels' total outside its binomial bulk: <= 2 eps.
5. Aliasing: P is the smallest number of points with
   ``sum_{k != 0} Poi(K + kP; K) <= eps Poi(K; K)``: <= eps.

So the truncation error is at most ``7 * epsilon`` (7e-16 by default); the
rest is floating-point rounding (all terms are bounded by 1; observed
|error| <~ 1e-15 against exact convolution up to K = 1000).

Tie policies
------------
``strict`` (the paper, Eq. 3): the correct label must have strictly more
votes than every other label; a tie at the top is an error.
``random`` (what a real K-NN classifier with random tie-breaking does): when
the top count is shared by r labels including the correct one, credit 1/r.
Both share one code path: ``1/(1+R) = int_0^1 u^R du`` turns the tie credit
into an integral over u of a product of per-label factors
``T_{m-1,j} + u Poi(m; K q_j) e^{i m theta}``, a polynomial in u of degree d
(the number of labels able to tie at m, <= L-1) that the (d+2)//2-node
Gauss-Legendre rule integrates exactly; ``strict`` is the single node u = 0.

Conventions: labels are 0..L-1; ``confusion[y, y_noisy] = P(y_noisy | y)``
(rows = clean label, each row sums to 1); accuracies are fractions in [0, 1].
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from decimal import Decimal, localcontext
from typing import Sequence

import numba
import numpy as np
import pandas as pd

from labelnoise.noise import check_confusion_matrix, check_gamma

TIE_POLICIES = ("strict", "random")
METHODS = ("fourier", "dp")
#: Budget of each truncation in the engine (total truncation error <= 7x this).
DEFAULT_EPSILON = 1e-16
#: How far from 1 a probability vector's sum (or a confusion row) may be.
PROBABILITY_SUM_TOLERANCE = 1e-9
#: How far from 1 a stored (float32) softmax row may sum: float32 rounding of ~10 terms, with margin.
STORED_SOFTMAX_SUM_TOLERANCE = 1e-5
#: Largest number of count vectors the brute-force reference will enumerate.
BRUTEFORCE_MAX_STATES = 2_000_000
#: Slack when checking that empirical gammas lie inside the analytic grid.
GAMMA_GRID_TOLERANCE = 1e-12
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
def _poisson_log_pmf(x, lam):
    """log Pr(Poisson(lam) = x)."""
    if x < 0:
        return -np.inf
    if lam <= 0.0:
        return 0.0 if x == 0 else -np.inf
    if x == 0:
        return -lam
    return -_stirling_error(x) - _deviance(float(x), lam) - 0.5 * (_LOG_2PI + math.log(x))


@numba.njit(cache=True)
def _poisson_pmf_range(lam, lo, hi):
    """Poisson(lam) pmf at lo..hi-1, by recurrence outward from the in-range mode."""
    out = np.zeros(max(hi - lo, 0))
    if hi <= lo:
        return out
    if lam <= 0.0:
        if lo == 0:
            out[0] = 1.0
        return out
    start = min(max(int(lam), lo), hi - 1)
    value = math.exp(_poisson_log_pmf(start, lam))
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
def _binomial_mass(n, p, lo, hi):
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
def _log_upper_tail_bound(a, n, p):
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
        if _log_upper_tail_bound(mid, n, p) <= log_eps:
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
def _upper_cut(n, p, log_eps):
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
            if p * n < a <= n and _log_upper_tail_bound(a, n, p) <= log_eps:
                return a
    return _upper_cut_bisect(n, p, log_eps)


@numba.njit(cache=True)
def _lower_cut(n, p, log_eps):
    """An a (the largest, up to Newton's last step) with Pr(Binomial(n, p) < a) <= eps by Chernoff.

    Newton from the Bernstein point as in :func:`_upper_cut`; checked, bisection as fallback.
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
def _fourier_points(K, epsilon):
    """Fewest trapezoid points P whose aliasing, sum_{k!=0} Poi(K+kP; K), is <= eps Poi(K; K)."""
    log_target = math.log(epsilon) + _poisson_log_pmf(K, float(K))
    target = math.exp(log_target)
    P = max(1, int(math.sqrt(K)))  # aliasing at one standard deviation is far too large
    while True:
        alias = 0.0
        k = 1
        while True:
            up = math.exp(_poisson_log_pmf(K + k * P, float(K)))
            down = math.exp(_poisson_log_pmf(K - k * P, float(K))) if K - k * P >= 0 else 0.0
            alias += up + down
            if K - k * P < 0 and up < 1e-3 * target:
                break
            k += 1
        if alias <= target:
            return P
        P += 1


# ---------------------------------------------------------------------------
# The engine.
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _plurality_core(q, correct, K, n_points, phase_re, phase_im, strict, tie_nodes, tie_weights, epsilon, use_dp):
    """Q of Eq. 3 for one probability vector (see the module docstring)."""
    L = q.shape[0]
    q_c = q[correct]
    log_eps = math.log(epsilon)
    per_label_log_eps = math.log(epsilon / max(L - 1, 1))

    # Window of the correct label's count m (Eq. 15 gives the feasible floor).
    m_feasible = (K + L - 1 + L - 1) // L if strict else (K + L - 1) // L
    m_lo = max(m_feasible, _lower_cut(K, q_c, log_eps))
    m_hi = _upper_cut(K, q_c, log_eps)
    certain = K // 2 + 1  # m > K - m: no other label can reach m

    # A competitor j almost surely has at least lo_j votes (lower cut), so the
    # correct label needs m > lo_j (strict) or m >= lo_j (random): the events
    # dropped here are already inside truncation 3 of the module docstring.
    lower_cuts = np.full(L, -1, np.int64)  # computed on demand
    for j in range(L):
        if j != correct and q[j] > q_c:
            lower_cuts[j] = _lower_cut(K, q[j], per_label_log_eps)
            m_lo = max(m_lo, lower_cuts[j] + 1 if strict else lower_cuts[j])

    # Split competitors into binding (may reach m_lo) and free ones.
    binding = np.empty(L, np.int64)
    count_hi = np.empty(L, np.int64)  # Pr(n_j >= count_hi) <= eps / (L - 1)
    n_binding = 0
    free_mass = 0.0
    m_one = m_lo
    for j in range(L):
        if j == correct or q[j] <= 0.0:
            continue
        if _log_upper_tail_bound(m_lo, K, q[j]) <= per_label_log_eps:
            free_mass += q[j]
            continue
        binding[n_binding] = j
        count_hi[n_binding] = _upper_cut(K, q[j], per_label_log_eps)
        m_one = max(m_one, count_hi[n_binding])
        n_binding += 1
    m_one = min(m_one, certain)
    m_top = min(m_one, m_hi)

    # m >= m_one: F(m) = 1, so the contribution is a binomial tail of n_c.
    tail = _binomial_mass(K, q_c, max(m_one, m_lo), m_hi)
    if m_top <= m_lo:  # always the case when no competitor binds
        return tail

    # Poisson pmfs (intensity K q_j) over the count ranges that matter: a binding
    # label's pmf stops at count_hi (truncation 2), so its factor freezes there.
    n_max = m_top
    pmf_other = np.zeros((n_max, n_binding))
    count_lo = np.empty(n_binding, np.int64)
    for b in range(n_binding):
        j = binding[b]
        if lower_cuts[j] < 0:
            lower_cuts[j] = _lower_cut(K, q[j], per_label_log_eps)
        lo = min(lower_cuts[j], n_max)
        hi = min(count_hi[b], n_max)
        count_lo[b] = lo
        if hi > lo:
            pmf_other[lo:hi, b] = _poisson_pmf_range(K * q[binding[b]], lo, hi)
    pmf_correct = _poisson_pmf_range(K * q_c, m_lo, m_top)
    # Free labels together: Poisson(K * free_mass), cut to the binomial bulk of their total.
    free_lo = _lower_cut(K, free_mass, log_eps)
    free_hi = min(_upper_cut(K, free_mass, log_eps), K + 1)
    pmf_free = _poisson_pmf_range(K * free_mass, free_lo, free_hi)
    normaliser = math.exp(_poisson_log_pmf(K, float(K)))
    # Gauss-Legendre rule exact for the tie-credit polynomial (degree <= n_binding in u).
    n_nodes = 1 if strict else (n_binding + 2) // 2

    if use_dp:
        # Exact convolution reference: no aliasing, O(B K m) per m.
        acc = 0.0
        for m in range(m_lo, m_top):
            N = K - m
            credit = 0.0
            for node in range(n_nodes):
                u = 0.0 if strict else tie_nodes[n_nodes - 1, node]
                vec = np.zeros(N + 1)
                for n in range(free_lo, min(free_hi, N + 1)):
                    vec[n] = pmf_free[n - free_lo]
                for b in range(n_binding):
                    new = np.zeros(N + 1)
                    top = min(m if not strict else m - 1, N)
                    for n in range(count_lo[b], top + 1):
                        weight = pmf_other[n, b] if n < m else u * pmf_other[n, b]
                        if weight == 0.0:
                            continue
                        for s in range(n, N + 1):
                            new[s] += weight * vec[s - n]
                    vec = new
                credit += (1.0 if strict else tie_weights[n_nodes - 1, node]) * vec[N]
            acc += pmf_correct[m - m_lo] * credit
        return tail + acc / normaliser

    return tail + _fourier_sum(
        pmf_correct, pmf_other, count_lo, m_lo, m_top, pmf_free, free_lo, K, n_points, phase_re, phase_im,
        strict, tie_nodes, tie_weights,
    ) / normaliser


@numba.njit(cache=True, fastmath={"contract"})
def _fourier_sum(pmf_correct, pmf_other, count_lo, m_lo, m_top, pmf_free, free_lo, K, n_points, phase_re, phase_im,
                 strict, tie_nodes, tie_weights):
    """Pr_Poisson(event, total = K) by the trapezoid rule on theta_h = 2 pi h / P, h = 0..P/2.

    Loops run over the theta grid innermost on split real/imaginary arrays, so
    they vectorise; ``phase_*[n, h]`` hold cos / sin(n theta_h).
    """
    n_binding = pmf_other.shape[1]
    H = phase_re.shape[1]
    # One allocation; the rows below are views.  prefix_*[b, h] is the truncated
    # characteristic function T_{t,b}(theta_h) at the current cap t.
    work = np.zeros((2 * n_binding + 10, H))
    prefix_re = work[:n_binding]
    prefix_im = work[n_binding:2 * n_binding]
    inner_re, inner_im = work[2 * n_binding], work[2 * n_binding + 1]
    prod_re, prod_im = work[2 * n_binding + 2], work[2 * n_binding + 3]
    credit_re, credit_im = work[2 * n_binding + 4], work[2 * n_binding + 5]
    common_re, common_im = work[2 * n_binding + 6], work[2 * n_binding + 7]
    free_re, free_im = work[2 * n_binding + 8], work[2 * n_binding + 9]
    tie_labels = np.empty(n_binding, np.int64)
    for b in range(n_binding):  # caps start at m_lo - 1
        for n in range(count_lo[b], m_lo):
            p = pmf_other[n, b]
            if p == 0.0:
                continue
            for h in range(H):
                prefix_re[b, h] += p * phase_re[n, h]
                prefix_im[b, h] += p * phase_im[n, h]
    for m in range(m_lo, m_top):
        if strict:
            # One pass per label: multiply T_{m-1,b} into the credit, then raise the cap to m.
            for b in range(n_binding):
                p = pmf_other[m, b]
                if b == 0:
                    for h in range(H):
                        t_re = prefix_re[0, h]
                        t_im = prefix_im[0, h]
                        credit_re[h] = t_re
                        credit_im[h] = t_im
                        prefix_re[0, h] = t_re + p * phase_re[m, h]
                        prefix_im[0, h] = t_im + p * phase_im[m, h]
                else:
                    for h in range(H):
                        t_re = prefix_re[b, h]
                        t_im = prefix_im[b, h]
                        a_re = credit_re[h]
                        a_im = credit_im[h]
                        credit_re[h] = a_re * t_re - a_im * t_im
                        credit_im[h] = a_re * t_im + a_im * t_re
                        prefix_re[b, h] = t_re + p * phase_re[m, h]
                        prefix_im[b, h] = t_im + p * phase_im[m, h]
        else:
            # Labels that can tie at m carry a factor (T + u * tie term); the rest are common.
            for h in range(H):
                common_re[h] = 1.0
                common_im[h] = 0.0
            n_tie = 0
            for b in range(n_binding):
                if pmf_other[m, b] != 0.0:
                    tie_labels[n_tie] = b
                    n_tie += 1
                    continue
                for h in range(H):
                    a_re = common_re[h]
                    a_im = common_im[h]
                    common_re[h] = a_re * prefix_re[b, h] - a_im * prefix_im[b, h]
                    common_im[h] = a_re * prefix_im[b, h] + a_im * prefix_re[b, h]
            n_nodes = (n_tie + 2) // 2  # exact for degree n_tie in u
            for h in range(H):
                credit_re[h] = 0.0
                credit_im[h] = 0.0
            for node in range(n_nodes):
                u = tie_nodes[n_nodes - 1, node]
                weight = tie_weights[n_nodes - 1, node]
                for h in range(H):
                    prod_re[h] = weight * common_re[h]
                    prod_im[h] = weight * common_im[h]
                for i in range(n_tie):
                    b = tie_labels[i]
                    up = u * pmf_other[m, b]  # tie term: label b also has m votes
                    for h in range(H):
                        f_re = prefix_re[b, h] + up * phase_re[m, h]
                        f_im = prefix_im[b, h] + up * phase_im[m, h]
                        a_re = prod_re[h]
                        a_im = prod_im[h]
                        prod_re[h] = a_re * f_re - a_im * f_im
                        prod_im[h] = a_re * f_im + a_im * f_re
                for h in range(H):
                    credit_re[h] += prod_re[h]
                    credit_im[h] += prod_im[h]
        w = pmf_correct[m - m_lo]
        for h in range(H):
            c_re = w * phase_re[m, h]
            c_im = w * phase_im[m, h]
            inner_re[h] += c_re * credit_re[h] - c_im * credit_im[h]
            inner_im[h] += c_re * credit_im[h] + c_im * credit_re[h]
        if not strict:
            for b in range(n_binding):  # raise every cap to m
                p = pmf_other[m, b]
                if p != 0.0:
                    for h in range(H):
                        prefix_re[b, h] += p * phase_re[m, h]
                        prefix_im[b, h] += p * phase_im[m, h]
    # Free labels: truncated characteristic function of Poisson(K * free_mass).
    for n in range(free_lo, free_lo + pmf_free.shape[0]):
        p = pmf_free[n - free_lo]
        for h in range(H):
            free_re[h] += p * phase_re[n, h]
            free_im[h] += p * phase_im[n, h]
    total = 0.0
    for h in range(H):
        symmetry_weight = 1.0 if (h == 0 or 2 * h == n_points) else 2.0
        # times e^{-i K theta} to pick out the total K.
        g_re = free_re[h] * phase_re[K, h] + free_im[h] * phase_im[K, h]
        g_im = free_im[h] * phase_re[K, h] - free_re[h] * phase_im[K, h]
        total += symmetry_weight * (inner_re[h] * g_re - inner_im[h] * g_im)
    return total / n_points


@numba.njit(parallel=True, cache=True)
def _plurality_table(q, correct, Ks, n_points, phase_offsets, phase_re_flat, phase_im_flat, strict, tie_nodes,
                     tie_weights, epsilon, use_dp):
    """Q for every row of q and every K (rows in parallel with prange)."""
    n_rows = q.shape[0]
    out = np.empty((n_rows, Ks.shape[0]))
    for i in numba.prange(n_rows):
        for kk in range(Ks.shape[0]):
            K = Ks[kk]
            H = n_points[kk] // 2 + 1
            start = phase_offsets[kk]
            phase_re = phase_re_flat[start:start + (K + 1) * H].reshape((K + 1, H))
            phase_im = phase_im_flat[start:start + (K + 1) * H].reshape((K + 1, H))
            out[i, kk] = _plurality_core(
                q[i], correct[i], K, n_points[kk], phase_re, phase_im, strict, tie_nodes, tie_weights, epsilon, use_dp
            )
    return out


# ---------------------------------------------------------------------------
# Validation and Python-side set-up.
# ---------------------------------------------------------------------------


def _check_probability_rows(values: np.ndarray, name: str) -> np.ndarray:
    """Rows must be finite, non-negative and sum to 1; returns them renormalised."""
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains non-finite values")
    if np.any(values < 0):
        raise ValueError(f"{name} has negative entries (min {values.min():.3g}); probabilities must be >= 0")
    sums = values.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0)) if sums.size else 0.0
    if worst > PROBABILITY_SUM_TOLERANCE:
        raise ValueError(
            f"{name} rows must sum to 1 (within {PROBABILITY_SUM_TOLERANCE:g}); worst row is off by {worst:.3g}"
        )
    return values / sums[..., None]


@numba.njit(cache=True)
def _normalise_distribution(q, tolerance):
    """(q / sum(q), problem code, sum): code 0 ok, 1 non-finite, 2 negative, 3 sum off by > tolerance."""
    total = 0.0
    for value in q:
        if not math.isfinite(value):
            return q, 1, total
        if value < 0.0:
            return q, 2, total
        total += value
    if abs(total - 1.0) > tolerance:
        return q, 3, total
    return q / total, 0, total


def _check_distribution(q, name: str = "q") -> np.ndarray:
    """A finite, non-negative 1-D vector summing to 1 (within tolerance), renormalised."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector, got shape {q.shape}")
    normalised, problem, total = _normalise_distribution(q, PROBABILITY_SUM_TOLERANCE)
    if problem == 1:
        raise ValueError(f"{name} contains non-finite values")
    if problem == 2:
        raise ValueError(f"{name} has negative entries (min {q.min():.3g}); probabilities must be >= 0")
    if problem == 3:
        raise ValueError(f"{name} must sum to 1 (within {PROBABILITY_SUM_TOLERANCE:g}); it sums to {total!r}")
    return normalised


def _check_label(correct, n_labels: int) -> int:
    """One label index in 0..n_labels-1."""
    try:
        label = operator.index(correct)
    except TypeError:
        if isinstance(correct, (float, np.floating)) and float(correct).is_integer():
            label = int(correct)
        else:
            raise ValueError(f"correct must be an integer label, got {correct!r}") from None
    if not 0 <= label < n_labels:
        raise ValueError(f"correct must lie in 0..{n_labels - 1}, got {label}")
    return label


def _check_k(K) -> int:
    if isinstance(K, (bool, np.bool_)) or not isinstance(K, (int, np.integer)):
        if isinstance(K, (float, np.floating)) and float(K).is_integer():
            K = int(K)
        else:
            raise ValueError(f"K must be a positive integer, got {K!r}")
    if K < 1:
        raise ValueError(f"K must be >= 1, got {K}")
    return int(K)


def _check_correct(correct, n_labels: int) -> np.ndarray:
    correct = np.asarray(correct)
    if correct.size and not np.issubdtype(correct.dtype, np.integer):
        if not np.all(np.equal(np.mod(correct, 1), 0)):
            raise ValueError("correct labels must be integers")
    correct = correct.astype(np.int64)
    if correct.size and (correct.min() < 0 or correct.max() >= n_labels):
        raise ValueError(f"correct labels must lie in 0..{n_labels - 1}")
    return correct


def _check_epsilon(epsilon: float) -> float:
    if not (0.0 < epsilon < 1e-6):
        raise ValueError(f"epsilon must be in (0, 1e-6), got {epsilon!r}")
    return float(epsilon)


def _tie_rule(tie: str, n_labels: int) -> tuple[bool, np.ndarray, np.ndarray]:
    """(strict?, u nodes, weights) of the tie-credit integral (module docstring)."""
    if not isinstance(tie, str) or tie not in TIE_POLICIES:
        raise ValueError(f"tie must be one of {TIE_POLICIES}, got {tie!r}")
    return _tie_quadrature(tie, int(n_labels))


@functools.lru_cache(maxsize=64)
def _tie_quadrature(tie: str, n_labels: int) -> tuple[bool, np.ndarray, np.ndarray]:
    """Gauss-Legendre rules on [0, 1]: row n - 1 holds the n-node rule, n = 1..ceil(L/2).

    The credit is a polynomial in u of degree d <= L - 1 (the labels able to tie),
    integrated exactly by the (d + 2) // 2 node rule.
    """
    if tie == "strict":
        return True, np.zeros((1, 1)), np.ones((1, 1))
    n_rules = max(1, math.ceil(n_labels / 2))
    nodes, weights = np.zeros((n_rules, n_rules)), np.zeros((n_rules, n_rules))
    for n in range(1, n_rules + 1):
        x, w = np.polynomial.legendre.leggauss(n)
        nodes[n - 1, :n], weights[n - 1, :n] = (x + 1.0) / 2.0, w / 2.0
    return False, nodes, weights


def _check_method(method: str) -> bool:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method == "dp"


@functools.lru_cache(maxsize=256)
def _transform_grid(K: int, epsilon: float) -> tuple[int, np.ndarray, np.ndarray]:
    """Trapezoid points P for K and cos / sin(n theta_h) for n = 0..K, h = 0..P/2 (cached per K)."""
    P = int(_fourier_points(K, epsilon))
    # Reduce n h mod P in integers so that every angle is exact before the trig call.
    angle = 2.0 * np.pi * (np.outer(np.arange(K + 1), np.arange(P // 2 + 1)) % P) / P
    return P, np.cos(angle), np.sin(angle)


def _transform_grids(Ks: np.ndarray, epsilon: float):
    """P per K, and every K's phase tables flattened into one array (with offsets)."""
    grids = [_transform_grid(int(K), epsilon) for K in Ks]
    n_points = np.array([P for P, _, _ in grids], dtype=np.int64)
    sizes = np.array([re.size for _, re, _ in grids], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    phase_re = np.concatenate([re.ravel() for _, re, _ in grids])
    phase_im = np.concatenate([im.ravel() for _, _, im in grids])
    return n_points, offsets, phase_re, phase_im


def plurality_probability_table(q, Ks: Sequence[int], correct, tie: str = "strict",
                                epsilon: float = DEFAULT_EPSILON, method: str = "fourier") -> np.ndarray:
    """Eq. 3 for every row of q (M, L) and every K: an (M, len(Ks)) array, rows in parallel."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] == 0:
        raise ValueError(f"q must be a 2-D (M, L) array, got shape {q.shape}")
    q = np.ascontiguousarray(_check_probability_rows(q, "q"))
    correct = _check_correct(correct, q.shape[1])
    if correct.shape != (q.shape[0],):
        raise ValueError(f"correct must have shape ({q.shape[0]},), got {correct.shape}")
    Ks = np.array([_check_k(K) for K in Ks], dtype=np.int64)
    if Ks.size == 0:
        raise ValueError("Ks must not be empty")
    epsilon = _check_epsilon(epsilon)
    strict, nodes, weights = _tie_rule(tie, q.shape[1])
    use_dp = _check_method(method)
    n_points, offsets, phase_re, phase_im = _transform_grids(Ks, epsilon)
    return _plurality_table(q, correct, Ks, n_points, offsets, phase_re, phase_im, strict, nodes, weights, epsilon,
                            use_dp)


def plurality_probability_batch(q, K: int, correct, tie: str = "strict",
                                epsilon: float = DEFAULT_EPSILON, method: str = "fourier") -> np.ndarray:
    """Eq. 3 for every row of q (M, L) with correct labels (M,): an (M,) array (prange over rows)."""
    return plurality_probability_table(q, [K], correct, tie, epsilon, method)[:, 0]


def plurality_probability(q, K: int, correct: int, tie: str = "strict",
                          epsilon: float = DEFAULT_EPSILON, method: str = "fourier") -> float:
    """Eq. 3: probability that label ``correct`` wins the plurality of K draws from q.

    ``method="fourier"`` is the fast engine; ``"dp"`` is an exact convolution over
    the competitors (no aliasing, slower) kept to cross-check it at large K.
    """
    q = _check_distribution(q)
    K = _check_k(K)
    correct = _check_label(correct, q.size)
    epsilon = _check_epsilon(epsilon)
    strict, nodes, weights = _tie_rule(tie, q.size)
    use_dp = _check_method(method)
    P, phase_re, phase_im = _transform_grid(K, epsilon)
    return float(_plurality_core(q, correct, K, P, phase_re, phase_im, strict, nodes, weights, epsilon, use_dp))


# ---------------------------------------------------------------------------
# References: the paper's Appendix B summation and brute force.
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _appendix_b_kernel(q, K):
    """Eqs. 10-18 with the correct label first in q (strict ties)."""
    L = q.shape[0]
    if L == 1:
        return 1.0
    choose = np.zeros((K + 1, K + 1))  # Pascal's triangle: choose[r, n] = C(r, n)
    for r in range(K + 1):
        choose[r, 0] = 1.0
        for n in range(1, r + 1):
            choose[r, n] = choose[r - 1, n - 1] + (choose[r - 1, n] if n <= r - 1 else 0.0)
    power = np.ones((L, K + 1))
    for i in range(L):
        for n in range(1, K + 1):
            power[i, n] = power[i, n - 1] * q[i]
    counts = np.zeros(L, np.int64)
    lower = np.zeros(L, np.int64)
    upper = np.zeros(L, np.int64)
    remaining = np.zeros(L, np.int64)  # R_i of Eq. 16
    partial = np.zeros(L)  # product of the outer factors of Eq. 12
    total = 0.0
    compensation = 0.0
    m_1 = (K + L - 1 + L - 1) // L  # Eq. 15: ceil((K + L - 1) / L)
    for n_1 in range(m_1, K + 1):
        cap = n_1 - 1  # M* of the paper
        remaining[1] = K - n_1
        partial[1] = choose[K, n_1] * power[0, n_1]
        level = 1
        lower[1] = max(0, remaining[1] - (L - 2) * cap)  # Eq. 18 (i = 2, 1-based)
        upper[1] = min(remaining[1], cap)  # Eq. 17
        counts[1] = lower[1]
        while level >= 1:
            if counts[level] > upper[level]:
                level -= 1
                if level >= 1:
                    counts[level] += 1
                continue
            weight = partial[level] * choose[remaining[level], counts[level]] * power[level, counts[level]]
            if level == L - 1:
                # Neumaier-compensated sum: millions of tiny terms otherwise lose ~1e-12.
                updated = total + weight
                if abs(total) >= abs(weight):
                    compensation += (total - updated) + weight
                else:
                    compensation += (weight - updated) + total
                total = updated
                counts[level] += 1
            else:
                nxt = level + 1
                remaining[nxt] = remaining[level] - counts[level]
                partial[nxt] = weight
                lower[nxt] = max(0, remaining[nxt] - (L - 1 - nxt) * cap)
                upper[nxt] = min(remaining[nxt], cap)
                counts[nxt] = lower[nxt]
                level = nxt
    return total + compensation


def plurality_probability_appendix_b(q, K: int, correct: int) -> float:
    """Eq. 3 by the paper's bounded nested summation (Appendix B, Eqs. 10-18); strict ties.

    Exponential in L (it visits every winning count vector): the baseline the
    fast engine is benchmarked against.
    """
    q = _check_distribution(q)
    K = _check_k(K)
    correct = _check_label(correct, q.size)
    ordered = np.concatenate(([q[correct]], np.delete(q, correct)))
    return float(_appendix_b_kernel(ordered, K))


def _compositions(total: int, parts: int):
    """All tuples of ``parts`` non-negative integers summing to ``total``."""
    for bars in itertools.combinations(range(total + parts - 1), parts - 1):
        previous = -1
        counts = []
        for bar in bars:
            counts.append(bar - previous - 1)
            previous = bar
        counts.append(total + parts - 1 - previous - 1)
        yield counts


def plurality_probability_bruteforce(q, K: int, correct: int, tie: str = "strict") -> float:
    """Eq. 3 by enumerating every count vector (Eq. 5 weights); small K and L only."""
    q = _check_distribution(q)
    K = _check_k(K)
    correct = _check_label(correct, q.size)
    _tie_rule(tie, q.size)
    n_states = math.comb(K + q.size - 1, q.size - 1)
    if n_states > BRUTEFORCE_MAX_STATES:
        raise ValueError(f"brute force would enumerate {n_states} count vectors (> {BRUTEFORCE_MAX_STATES})")
    total = 0.0
    k_factorial = math.factorial(K)
    for counts in _compositions(K, q.size):
        top = max(counts)
        if counts[correct] != top:
            continue
        n_top = counts.count(top)
        if tie == "strict" and n_top > 1:
            continue
        coefficient = k_factorial
        for n in counts:
            coefficient //= math.factorial(n)
        probability = float(coefficient) * math.prod(float(p) ** n for p, n in zip(q, counts))
        total += probability / n_top
    return total


def plurality_probability_monte_carlo(q, K: int, correct: int, n_draws: int, rng: np.random.Generator,
                                      tie: str = "strict") -> tuple[float, float]:
    """Monte Carlo estimate of Eq. 3 and its standard error (a sampling check)."""
    q = _check_distribution(q)
    K = _check_k(K)
    _tie_rule(tie, q.size)
    counts = rng.multinomial(K, q, size=int(n_draws))
    top = counts.max(axis=1)
    at_top = counts == top[:, None]
    wins = at_top[:, correct].astype(np.float64)
    if tie == "strict":
        wins *= at_top.sum(axis=1) == 1
    else:
        wins /= at_top.sum(axis=1)
    return float(wins.mean()), float(wins.std(ddof=1) / math.sqrt(len(wins)))


# ---------------------------------------------------------------------------
# Label probabilities (Eqs. 6-9) and accuracy curves (Eq. 2).
# ---------------------------------------------------------------------------


def label_probabilities(C, confusion, gamma: float) -> np.ndarray:
    """Eq. 6: q_j = (1 - gamma) C(j) + gamma sum_k P(j | k) C(k), row by row of C (M, L)."""
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2:
        raise ValueError(f"C must be a 2-D (M, L) array of clean label distributions, got shape {C.shape}")
    C = _check_probability_rows(C, "C")
    confusion = check_confusion_matrix(confusion)
    if confusion.shape[0] != C.shape[1]:
        raise ValueError(f"confusion is {confusion.shape} but C has {C.shape[1]} labels")
    gamma = check_gamma(gamma)
    return (1.0 - gamma) * C + gamma * (C @ confusion)


def softmax_clean_distribution(softmax) -> np.ndarray:
    """General case C(l) (Eqs. 3, 6): the clean model's softmax per test sample, as float64.

    Softmax outputs are stored as float32, whose rows sum to 1 only to about
    1e-7 per class; rows are checked to ``STORED_SOFTMAX_SUM_TOLERANCE`` and
    renormalised in float64, so the engine's strict check holds.
    """
    values = np.asarray(softmax, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 2:
        raise ValueError(f"softmax must be (test samples x classes) with >= 2 classes, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("softmax has non-finite or negative entries")
    worst = np.max(np.abs(values.sum(axis=1) - 1.0))
    if worst > STORED_SOFTMAX_SUM_TOLERANCE:
        raise ValueError(f"softmax rows must sum to 1 (within {STORED_SOFTMAX_SUM_TOLERANCE:g}); worst row is off by {worst:.3g}")
    return values / values.sum(axis=1, keepdims=True)


def one_hot_clean_distribution(labels, n_classes: int) -> np.ndarray:
    """Eq. 7: C(l) = 1 for the test sample's own label, 0 otherwise (perfect learnability)."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    labels = _check_correct(labels, n_classes)
    if labels.ndim != 1:
        raise ValueError("labels must be 1-D")
    C = np.zeros((labels.size, n_classes))
    C[np.arange(labels.size), labels] = 1.0
    return C


def flip_accuracy_closed_form(gamma: float, K: int) -> float:
    """Eq. 9: sum_{n >= ceil((K+1)/2)} C(K, n) (1 - gamma)^n gamma^(K - n) (flip noise, strict ties)."""
    gamma = check_gamma(gamma)
    K = _check_k(K)
    first = math.ceil((K + 1) / 2)
    return float(_binomial_mass(K, 1.0 - gamma, first, K + 1))


def random_noise_probabilities(gamma: float, n_classes: int, correct: int = 0) -> np.ndarray:
    """Eq. 8: q for uniform random noise with the one-hot C of Eq. 7."""
    gamma = check_gamma(gamma)
    q = np.full(n_classes, gamma / n_classes)
    q[correct] += 1.0 - gamma
    return q


def knn_accuracy_curves(C, labels, confusion, gammas: Sequence[float], Ks: Sequence[int], tie: str = "strict",
                        epsilon: float = DEFAULT_EPSILON) -> pd.DataFrame:
    """Eq. 2: mean over test samples of Q (Eq. 3) with q from Eq. 6, for every (gamma, K).

    Identical (q, label) rows are computed once (the one-hot case of Eq. 7 has
    only L distinct rows); the distinct rows of every gamma go through one
    parallel call that evaluates all K per row.  Returns columns gamma, K, accuracy.
    """
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2:
        raise ValueError(f"C must be a 2-D (M, L) array, got shape {C.shape}")
    labels = _check_correct(labels, C.shape[1])
    if labels.shape != (C.shape[0],):
        raise ValueError(f"labels must have shape ({C.shape[0]},), got {labels.shape}")
    if C.shape[0] == 0:
        raise ValueError("C has no test samples")
    gammas = [check_gamma(g) for g in gammas]
    Ks = [_check_k(K) for K in Ks]
    if not gammas or not Ks:
        raise ValueError("gammas and Ks must not be empty")

    blocks, weights, inverses = [], [], []
    for gamma in gammas:
        q = label_probabilities(C, confusion, gamma)
        keyed = np.column_stack([q, labels.astype(np.float64)])
        unique, inverse = np.unique(keyed, axis=0, return_inverse=True)
        blocks.append(unique)
        inverses.append(inverse.ravel())
        weights.append(np.bincount(inverse.ravel(), minlength=len(unique)) / C.shape[0])
    stacked = np.concatenate(blocks)
    # Interleave rows so that the parallel chunks get a mix of easy and hard rows.
    order = np.random.default_rng(0).permutation(len(stacked))
    table = np.empty((len(stacked), len(Ks)))
    table[order] = plurality_probability_table(
        stacked[order, :-1], Ks, stacked[order, -1].astype(np.int64), tie=tie, epsilon=epsilon
    )

    rows, start = [], 0
    for gamma, unique, weight in zip(gammas, blocks, weights):
        block = table[start:start + len(unique)]
        start += len(unique)
        accuracy = np.clip(weight @ block, 0.0, 1.0)
        rows.extend((gamma, K, float(a)) for K, a in zip(Ks, accuracy))
    return pd.DataFrame(rows, columns=["gamma", "K", "accuracy"])


def fit_k(analytic: pd.DataFrame, empirical: pd.DataFrame) -> pd.DataFrame:
    """RMSE between the empirical mean accuracy curve and each K's analytic curve.

    The empirical accuracy is averaged per gamma (several seeds per level); the
    analytic curve is linearly interpolated in gamma.  Returns columns K, rmse,
    best (True on the row with the smallest RMSE).
    """
    for frame, name, columns in ((analytic, "analytic", ("gamma", "K", "accuracy")),
                                 (empirical, "empirical", ("gamma", "accuracy"))):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing columns {missing}")
    if len(analytic) == 0 or len(empirical) == 0:
        raise ValueError("analytic and empirical must not be empty")
    mean_curve = empirical.groupby("gamma", sort=True)["accuracy"].mean()
    target_gamma = mean_curve.index.to_numpy(dtype=np.float64)
    target_accuracy = mean_curve.to_numpy(dtype=np.float64)

    rows = []
    for K, curve in analytic.groupby("K", sort=True):
        curve = curve.groupby("gamma", sort=True)["accuracy"].mean()
        grid = curve.index.to_numpy(dtype=np.float64)
        outside = (target_gamma < grid[0] - GAMMA_GRID_TOLERANCE) | (target_gamma > grid[-1] + GAMMA_GRID_TOLERANCE)
        if np.any(outside):
            raise ValueError(
                f"empirical gammas {target_gamma[outside].tolist()} lie outside the analytic grid "
                f"[{grid[0]}, {grid[-1]}] for K={K}"
            )
        predicted = np.interp(target_gamma, grid, curve.to_numpy(dtype=np.float64))
        rows.append((int(K), float(np.sqrt(np.mean((predicted - target_accuracy) ** 2)))))
    result = pd.DataFrame(rows, columns=["K", "rmse"])
    result["best"] = False
    result.loc[result["rmse"].idxmin(), "best"] = True
    return result
