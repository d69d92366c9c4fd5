"""Reference implementations of Eq. 3 that the tests and ``bench/analytic.py`` check the engine against.

The paper's own bounded nested summation (Appendix B, Eqs. 10-18), an
enumeration of every count vector (the ground truth, small K and L) and a
Monte Carlo estimate.  None of them is on the workflow's path.
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np

from labelnoise.analytic.inputs import eq3_arguments

#: Largest number of count vectors the brute-force reference will enumerate.
BRUTEFORCE_MAX_STATES = 2_000_000


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
    q, K, correct, _ = eq3_arguments(q, K, correct)
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
    q, K, correct, tie = eq3_arguments(q, K, correct, tie)
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
    q, K, correct, tie = eq3_arguments(q, K, correct, tie)
    counts = rng.multinomial(K, q, size=int(n_draws))
    top = counts.max(axis=1)
    at_top = counts == top[:, None]
    wins = at_top[:, correct].astype(np.float64)
    if tie == "strict":
        wins *= at_top.sum(axis=1) == 1
    else:
        wins /= at_top.sum(axis=1)
    return float(wins.mean()), float(wins.std(ddof=1) / math.sqrt(len(wins)))

