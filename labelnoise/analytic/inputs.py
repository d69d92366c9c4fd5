"""Checks of the analytic functions' arguments, run once at the public entry points.

Probability vectors and rows go through the package's one check
(:mod:`labelnoise.checks`: finite, non-negative, summing to 1 within
``PROBABILITY_SUM_TOLERANCE``) and are then renormalised; K a positive
integer; labels in 0..L-1.
"""

from __future__ import annotations

import math
import operator

import numba
import numpy as np

from labelnoise.checks import PROBABILITY_SUM_TOLERANCE, check_probability_rows

TIE_POLICIES = ("strict", "random")
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

    Fast path: ``plurality_probability`` checks its q on every call, and the numpy
    check (~9 us) would double its time at L = 10, K = 30 (~8 us) and halve
    ``bench/analytic.py``'s speed-up over Appendix B (~2e4 against a bar of 1e4).
    So a compiled loop (~1 us) does the same check with the same tolerance: the
    only other copy of it. Anything it refuses goes to the shared check, which
    words the error (and decides a sum that lies on the tolerance to an ulp).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector, got shape {q.shape}")
    renormalised, valid = _renormalised_if_valid(q, PROBABILITY_SUM_TOLERANCE)
    return renormalised if valid else check_probability_rows(q, name)


def check_label(correct, n_labels: int) -> int:
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


def check_k(K) -> int:
    if isinstance(K, (bool, np.bool_)) or not isinstance(K, (int, np.integer)):
        if isinstance(K, (float, np.floating)) and float(K).is_integer():
            K = int(K)
        else:
            raise ValueError(f"K must be a positive integer, got {K!r}")
    if K < 1:
        raise ValueError(f"K must be >= 1, got {K}")
    return int(K)


def check_correct(correct, n_labels: int) -> np.ndarray:
    correct = np.asarray(correct)
    if correct.size and not np.issubdtype(correct.dtype, np.integer):
        if not np.all(np.equal(np.mod(correct, 1), 0)):
            raise ValueError("correct labels must be integers")
    correct = correct.astype(np.int64)
    if correct.size and (correct.min() < 0 or correct.max() >= n_labels):
        raise ValueError(f"correct labels must lie in 0..{n_labels - 1}")
    return correct


def check_epsilon(epsilon: float) -> float:
    if not (0.0 < epsilon < 1e-6):
        raise ValueError(f"epsilon must be in (0, 1e-6), got {epsilon!r}")
    return float(epsilon)


def check_tie(tie: str) -> str:
    if not isinstance(tie, str) or tie not in TIE_POLICIES:
        raise ValueError(f"tie must be one of {TIE_POLICIES}, got {tie!r}")
    return tie


def check_method(method: str) -> bool:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method == "dp"
