"""Checks of the analytic engine's own arguments (q, epsilon, method), run once at the public entry points.

A probability vector goes through the package's one check (:mod:`labelnoise.checks`: finite, non-negative,
summing to 1 within ``PROBABILITY_SUM_TOLERANCE``), on a compiled fast path, and is then renormalised; K, labels
and the tie policy through theirs (:func:`~labelnoise.checks.check_k_list`, :func:`~labelnoise.checks.check_labels`,
:func:`~labelnoise.checks.check_tie`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from labelnoise.checks import PROBABILITY_SUM_TOLERANCE, check_k_list, check_labels, check_probability_rows, check_tie

METHODS = ("fourier", "dp")


@numba.njit(cache=True)
def _renormalised_if_valid(q, tolerance):
    """(q / sum(q), True) if q is finite, non-negative and sums in order to 1 within ``tolerance``, else (q, False)."""
    total = 0.0
    for value in q:
        if not math.isfinite(value) or value < 0.0:
            return q, False
        total += value
    if abs(total - 1.0) > tolerance:
        return q, False
    return q / total, True


def check_distribution(q, name: str = "q") -> np.ndarray:
    """A non-empty 1-D probability vector (:func:`labelnoise.checks.check_probability_rows`), renormalised.

    Fast path: ``plurality_probability`` checks its arguments on every call (~3 us
    of its ~11 us at L = 10, K = 30), and the numpy check of q (~9 us) would nearly
    double its time and take ``bench/analytic.py``'s speed-up over Appendix B
    (~1.5e4) below its bar of 1e4. So a compiled loop (~1 us) does the same check
    with the same tolerance: the only other copy of it. Anything it refuses goes to
    the shared check, which words the error (and decides a sum that lies on the
    tolerance to an ulp).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector, got shape {q.shape}")
    renormalised, valid = _renormalised_if_valid(q, PROBABILITY_SUM_TOLERANCE)
    return renormalised if valid else check_probability_rows(q, name)


def eq3_arguments(q, K, correct, tie: str = "strict") -> tuple[np.ndarray, int, int, str]:
    """q (renormalised), K, the correct label and the tie policy of one Eq. 3 call, each through its one check."""
    q = check_distribution(q)
    return q, int(check_k_list([K])[0]), int(check_labels([correct], q.size, "correct")[0]), check_tie(tie)


def check_epsilon(epsilon: float) -> float:
    if not (0.0 < epsilon < 1e-6):
        raise ValueError(f"epsilon must be in (0, 1e-6), got {epsilon!r}")
    return float(epsilon)


def check_method(method: str) -> bool:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method == "dp"
