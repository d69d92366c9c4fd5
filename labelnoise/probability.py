"""The one check of rows of probabilities, and its one tolerance.

Every probability input of the package goes through :func:`probability_row_sums`:
the confusion matrix and the stored softmax (:mod:`labelnoise.noise`), the clean
label distributions and the q of Eq. 3 (:mod:`labelnoise.analytic`). It lives
apart from both so that ``labelnoise.noise`` need not import the analytic engine
(numba) to check a matrix. The shape of each input (square, N x L, 1-D) is
checked by its own thin wrapper.
"""

from __future__ import annotations

import numpy as np

#: How far from 1 a row of probabilities may sum, the sum taken in float64. The honest
#: errors are rounding: a network's float32 softmax sums to 1 within a few float32 ulps
#: whatever the class count (at most 4.0e-7 over the 781,878 stored 10-class rows of the
#: local runs, 6.7e-7 for torch.softmax over 1,000 classes), and a matrix typed into a
#: config with 6 decimals is off by up to ~1e-6 (the confusion matrix's tolerance so
#: far). A row off by more is a wrong input. What is accepted is renormalised wherever
#: the analytic engine needs exact sums, so its results do not depend on this value.
PROBABILITY_SUM_TOLERANCE = 1e-6


def _in_row(row: tuple[int, ...]) -> str:
    """Where in the array an entry lies: nothing for a 1-D vector, `` in row i`` for a matrix (``(i, j)`` deeper)."""
    if not row:
        return ""
    return f" in row {row[0] if len(row) == 1 else row}"


def probability_row_sums(values, name: str) -> np.ndarray:
    """The float64 sums of the rows (last axis) of ``values``, each checked to be a probability vector.

    Entries must be finite and non-negative and every row must sum to 1 within
    :data:`PROBABILITY_SUM_TOLERANCE`; otherwise a one-line ValueError names
    ``name``, the offending row (for sums the worst one) and its value.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        raise ValueError(f"{name} must be an array of probabilities, got the scalar {float(values)!r}")
    finite = np.isfinite(values)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{name} has a non-finite entry ({values[index]}){_in_row(index[:-1])}; "
                         "probabilities must be finite")
    if np.any(values < 0):
        index = tuple(int(i) for i in np.argwhere(values < 0)[0])
        raise ValueError(f"{name} has a negative entry ({values[index]:.3g}){_in_row(index[:-1])}; "
                         "probabilities must be non-negative")
    sums = values.sum(axis=-1)
    deviation = np.abs(sums - 1.0)
    if deviation.size and deviation.max() > PROBABILITY_SUM_TOLERANCE:
        row = tuple(int(i) for i in np.unravel_index(np.argmax(deviation), deviation.shape))
        total = f"{sums[row]:.10g}, off by {deviation[row]:.2g}"
        if not row:
            raise ValueError(f"{name} must sum to 1 within {PROBABILITY_SUM_TOLERANCE:g}: it sums to {total}")
        label = row[0] if len(row) == 1 else row
        raise ValueError(f"{name} rows must sum to 1 within {PROBABILITY_SUM_TOLERANCE:g}: "
                         f"row {label} sums to {total} (the worst row)")
    return sums


def check_probability_rows(values, name: str) -> np.ndarray:
    """``values`` as float64 after :func:`probability_row_sums`, renormalised so each row sums to 1."""
    values = np.asarray(values, dtype=np.float64)
    return values / probability_row_sums(values, name)[..., None]
