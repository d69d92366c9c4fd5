"""The fast engine for Eq. 3: Q = Pr(the correct label wins the plurality of K noisy neighbour labels).

Method "fourier"
----------------
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
import math
from typing import Sequence

import numba
import numpy as np

from labelnoise.analytic.distributions import (
    binomial_mass, fourier_points, log_upper_tail_bound, lower_cut, poisson_log_pmf, poisson_pmf_range,
    upper_cut,
)
from labelnoise.analytic.inputs import check_epsilon, check_method, eq3_arguments
from labelnoise.checks import check_k_list, check_labels, check_probability_rows, check_tie

#: Budget of each truncation in the engine (total truncation error <= 7x this).
DEFAULT_EPSILON = 1e-16


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
    m_lo = max(m_feasible, lower_cut(K, q_c, log_eps))
    m_hi = upper_cut(K, q_c, log_eps)
    certain = K // 2 + 1  # m > K - m: no other label can reach m

    # A competitor j almost surely has at least lo_j votes (lower cut), so the
    # correct label needs m > lo_j (strict) or m >= lo_j (random): the events
    # dropped here are already inside truncation 3 of the module docstring.
    lower_cuts = np.full(L, -1, np.int64)  # computed on demand
    for j in range(L):
        if j != correct and q[j] > q_c:
            lower_cuts[j] = lower_cut(K, q[j], per_label_log_eps)
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
        if log_upper_tail_bound(m_lo, K, q[j]) <= per_label_log_eps:
            free_mass += q[j]
            continue
        binding[n_binding] = j
        count_hi[n_binding] = upper_cut(K, q[j], per_label_log_eps)
        m_one = max(m_one, count_hi[n_binding])
        n_binding += 1
    m_one = min(m_one, certain)
    m_top = min(m_one, m_hi)

    # m >= m_one: F(m) = 1, so the contribution is a binomial tail of n_c.
    tail = binomial_mass(K, q_c, max(m_one, m_lo), m_hi)
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
            lower_cuts[j] = lower_cut(K, q[j], per_label_log_eps)
        lo = min(lower_cuts[j], n_max)
        hi = min(count_hi[b], n_max)
        count_lo[b] = lo
        if hi > lo:
            pmf_other[lo:hi, b] = poisson_pmf_range(K * q[binding[b]], lo, hi)
    pmf_correct = poisson_pmf_range(K * q_c, m_lo, m_top)
    # Free labels together: Poisson(K * free_mass), cut to the binomial bulk of their total.
    free_lo = lower_cut(K, free_mass, log_eps)
    free_hi = min(upper_cut(K, free_mass, log_eps), K + 1)
    pmf_free = poisson_pmf_range(K * free_mass, free_lo, free_hi)
    normaliser = math.exp(poisson_log_pmf(K, float(K)))
    # Gauss-Legendre rule exact for the tie-credit polynomial (degree <= n_binding in u).
    n_nodes = 1 if strict else (n_binding + 2) // 2

    if use_dp:
        return tail + _convolution_sum(pmf_correct, pmf_other, count_lo, m_lo, m_top, pmf_free, free_lo, free_hi, K,
                                       strict, n_nodes, tie_nodes, tie_weights) / normaliser

    return tail + _fourier_sum(
        pmf_correct, pmf_other, count_lo, m_lo, m_top, pmf_free, free_lo, K, n_points, phase_re, phase_im,
        strict, tie_nodes, tie_weights,
    ) / normaliser


@numba.njit(cache=True)
def _convolution_sum(pmf_correct, pmf_other, count_lo, m_lo, m_top, pmf_free, free_lo, free_hi, K, strict, n_nodes,
                     tie_nodes, tie_weights):
    """Method "dp": Pr_Poisson(event, total = K) by exact convolution over the competitors (no aliasing, O(B K m) per m).

    The cross-check of the Fourier sum at large K; same window and pruning.
    """
    n_binding = pmf_other.shape[1]
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
    return acc


@numba.njit(cache=True)
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
            _strict_credit(m, pmf_other, prefix_re, prefix_im, phase_re, phase_im, credit_re, credit_im)
        else:
            _random_credit(m, pmf_other, prefix_re, prefix_im, phase_re, phase_im, credit_re, credit_im, common_re,
                           common_im, prod_re, prod_im, tie_labels, tie_nodes, tie_weights)
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


@numba.njit(cache=True)
def _strict_credit(m, pmf_other, prefix_re, prefix_im, phase_re, phase_im, credit_re, credit_im):
    """Strict ties: credit = prod_b T_{m-1,b}(theta), one pass per label, raising each cap to m on the way."""
    n_binding = pmf_other.shape[1]
    H = phase_re.shape[1]
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


@numba.njit(cache=True)
def _random_credit(m, pmf_other, prefix_re, prefix_im, phase_re, phase_im, credit_re, credit_im, common_re, common_im,
                   prod_re, prod_im, tie_labels, tie_nodes, tie_weights):
    """Random ties: credit = int_0^1 prod_b (T_{m-1,b} + u Poi(m; K q_b) e^{i m theta}) du by Gauss-Legendre in u.

    Labels that can tie at m carry a factor (T + u * tie term); the rest form a common product.
    """
    n_binding = pmf_other.shape[1]
    H = phase_re.shape[1]
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
# Python-side set-up and the public functions.
# ---------------------------------------------------------------------------


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


@functools.lru_cache(maxsize=256)
def _transform_grid(K: int, epsilon: float) -> tuple[int, np.ndarray, np.ndarray]:
    """Trapezoid points P for K and cos / sin(n theta_h) for n = 0..K, h = 0..P/2 (cached per K)."""
    P = int(fourier_points(K, epsilon))
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
    if np.ndim(q) != 2:
        raise ValueError(f"q must be an (M, L) array of probability rows, got shape {np.shape(q)}")
    q = check_probability_rows(q, "q")
    return _eq3_table(q, check_k_list(Ks), check_labels(correct, q.shape[1], "correct", len(q)), check_tie(tie),
                  check_epsilon(epsilon), check_method(method))


def _eq3_table(q: np.ndarray, Ks: np.ndarray, correct: np.ndarray, tie: str, epsilon: float,
               use_dp: bool) -> np.ndarray:
    """:func:`plurality_probability_table` on checked arguments, q's rows renormalised."""
    strict, nodes, weights = _tie_quadrature(tie, q.shape[1])
    n_points, offsets, phase_re, phase_im = _transform_grids(Ks, epsilon)
    return _plurality_table(np.ascontiguousarray(q), correct, Ks, n_points, offsets, phase_re, phase_im, strict, nodes,
                            weights, epsilon, use_dp)


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
    q, K, correct, tie = eq3_arguments(q, K, correct, tie)
    epsilon, use_dp = check_epsilon(epsilon), check_method(method)
    strict, nodes, weights = _tie_quadrature(tie, q.size)
    P, phase_re, phase_im = _transform_grid(K, epsilon)
    return float(_plurality_core(q, correct, K, P, phase_re, phase_im, strict, nodes, weights, epsilon, use_dp))


