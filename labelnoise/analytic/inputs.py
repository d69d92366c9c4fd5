"""Checks of the analytic functions' arguments, run once at the public entry points.

Probability vectors must be finite, non-negative and sum to 1 within
``PROBABILITY_SUM_TOLERANCE`` (they are then renormalised); K a positive
integer; labels in 0..L-1.
"""

from __future__ import annotations

import math
import operator

import numba
import numpy as np

TIE_POLICIES = ("strict", "random")
METHODS = ("fourier", "dp")
#: How far from 1 a probability vector's sum (or a confusion row) may be.
PROBABILITY_SUM_TOLERANCE = 1e-9


def check_probability_rows(values: np.ndarray, name: str) -> np.ndarray:
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


def check_distribution(q, name: str = "q") -> np.ndarray:
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
