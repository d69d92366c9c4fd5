"""The checks of a user's inputs, one function each, called where a value enters a public function of the library
(the workflow's edge is the config, checked by labelnoise.config); inside, the library trusts them.

* :func:`check_labels` - an array of class labels 0..L-1 (noise generators, training, human labels, Eq. 3's
  correct labels);
* :func:`check_k_list` - a list of neighbourhood sizes K (Eq. 3, the K-NN classifier, Appendix A, Fig. 10, the
  config's K keys);
* :func:`check_tie` - the tie policy of a plurality vote (Eq. 3 and the K-NN classifier);
* :func:`probability_row_sums` / :func:`check_probability_rows` - rows of probabilities, with the one
  tolerance :data:`PROBABILITY_SUM_TOLERANCE`: the confusion matrix (:func:`check_confusion_matrix`),
  a stored softmax (:func:`check_softmax`), the clean label distributions and the q of Eq. 3
  (:mod:`labelnoise.analytic`).

It imports numpy only, so that a generator need not import the analytic engine (numba) to check a matrix.
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
#: How a tie for the plurality counts (Eq. 3, the K-NN classifier): ``strict`` - as an error (the paper),
#: ``random`` - broken uniformly (a practical K-NN classifier).
TIE_POLICIES = ("strict", "random")


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


def renormalised_rows(values) -> np.ndarray:
    """Rows already checked (or built from checked rows), renormalised exactly as :func:`check_probability_rows`
    renormalises: float64 values over their float64 row sums."""
    values = np.asarray(values, dtype=np.float64)
    return values / values.sum(axis=-1)[..., None]


def check_labels(labels, n_classes: int, what: str = "labels", n_samples: int | None = None) -> np.ndarray:
    """``labels`` as a 1-D int64 array of classes 0..n_classes-1 (``n_samples`` of them, where given); a ValueError
    names ``what``. The one check of labels (noise generators, training, human labels, Eq. 3's correct labels)."""
    labels = np.asarray(labels)
    if n_samples is not None and labels.shape != (n_samples,):
        raise ValueError(f"{what} must have shape ({n_samples},), one label per sample, got {labels.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a 1-D integer array, got {labels.dtype} of shape {labels.shape}")
    if labels.size <= 8:  # a few labels (Eq. 3's one, on every call): Python's min and max, ~10x faster than numpy's
        low, high = min(labels.tolist(), default=0), max(labels.tolist(), default=0)
    else:
        low, high = labels.min(), labels.max()
    if labels.size and not 0 <= low <= high < n_classes:
        outside = np.flatnonzero((labels < 0) | (labels >= n_classes))
        raise ValueError(f"{what} must lie in 0..{n_classes - 1}: {outside.size} labels outside "
                         f"(first: index {outside[0]}, label {labels[outside[0]]})")
    return labels.astype(np.int64, copy=False)


def check_k_list(values, largest: int | None = None, *, increasing: bool = False,
                 of: str = "training samples") -> np.ndarray:
    """``values`` as a 1-D int64 array of neighbourhood sizes K, in the given order: a non-empty list of positive
    integers without repeats (strictly increasing where ``increasing``: votes counted from one K to the next), none
    above ``largest`` (the ``of`` there are to vote). Pure Python for a short list: Eq. 3 checks its one K per call.
    The one check of K (Eq. 3, the K-NN classifier, Appendix A, Fig. 10, the config)."""
    ks = list(values)
    if not ks or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in ks):
        raise ValueError(f"K must be a non-empty list of positive integers, got {ks!r}")
    if len(set(ks)) < len(ks) or (increasing and ks != sorted(ks)):
        raise ValueError(f"K values must be {'strictly increasing' if increasing else 'unique'}, got {ks}")
    if largest is not None and max(ks) > largest:
        raise ValueError(f"K = {max(ks)} exceeds the {largest} {of}")
    return np.array(ks, dtype=np.int64)


def check_tie(tie: str) -> str:
    """``tie``, one of :data:`TIE_POLICIES`: the one check of a tie policy."""
    if tie not in TIE_POLICIES:
        raise ValueError(f"tie must be one of {TIE_POLICIES}, got {tie!r}")
    return tie


def check_confusion_matrix(confusion: np.ndarray) -> np.ndarray:
    """A row-stochastic L x L matrix P[clean, noisy] = P(noisy | clean), renormalised so its rows sum to 1.

    Rows may be off 1 by :data:`PROBABILITY_SUM_TOLERANCE`
    (rounded decimals in a config); :func:`check_probability_rows` checks them.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or confusion.shape[0] == 0:
        raise ValueError(f"confusion matrix must be square (L, L), got shape {confusion.shape}")
    return check_probability_rows(confusion, "confusion matrix")


def check_softmax(softmax: np.ndarray) -> np.ndarray:
    """N x L class probabilities (L >= 2) as float64, not renormalised: instance noise ranks them as stored.

    A stored float32 softmax sums to 1 only to single precision; its rows are checked
    by :func:`probability_row_sums` (within ``PROBABILITY_SUM_TOLERANCE``).
    """
    softmax = np.asarray(softmax, dtype=np.float64)
    if softmax.ndim != 2 or softmax.shape[1] < 2:
        raise ValueError(f"softmax must have shape (N, L) with L >= 2 classes, got shape {softmax.shape}")
    probability_row_sums(softmax, "softmax")
    return softmax
