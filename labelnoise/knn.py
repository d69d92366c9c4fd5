"""A real K-NN classifier in the clean model's feature space (Section 4.1).

The paper explains the resistance of CNNs to label noise by their K-NN-like
behaviour: the prediction is the plurality label of the training samples near
the input (Section 4.1), and Eq. 3 gives the probability that the correct
label survives as the plurality when the K neighbour labels are noisy.  This
module runs the classifier itself, so that its measured accuracy can be drawn
beside the CNN's and the analytic curve (Figs. 4-7):

* :func:`nearest_neighbours` - exact Euclidean K nearest neighbours, chunked
  so that 10k test x 50k training x 256-d (CIFAR-10 at paper scale) fits in a
  fixed amount of memory; Appendix A (``labelnoise.appendix_a``) uses the same
  search;
* :func:`plurality_vote` - the K-NN decision with the tie policies of
  ``labelnoise.analytic`` (``strict``: a shared top count is a wrong answer,
  exactly the event Eq. 3 excludes; ``random``: the tie is broken uniformly,
  what a practical K-NN classifier does); :func:`vote_from_counts` is the same
  decision from label votes already counted (``labelnoise.agreement`` votes
  for many K from cumulative counts);
* :func:`knn_noise_table` - accuracy of K-NN fit on the *noisy* training
  labels of every seed of a noise level, scored on the clean test labels;
* :func:`noisy_neighbour_fraction` and :func:`region_examples` - which test
  samples lie in a clean region and which in a region of concentrated noise
  (Fig. 3(g, h)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from labelnoise.checks import TIE_POLICIES, check_k_list, check_tie  # noqa: F401 (TIE_POLICIES: Eq. 3's, for the K-NN)
from labelnoise.noise import realised_gamma
from labelnoise.tables import mean_and_std_over_seeds

#: Prediction returned by the ``strict`` policy when the top count is shared.
NO_DECISION = -1
#: Distance-matrix elements held in memory at once by the neighbour search (128 MiB of float64).
DEFAULT_CHUNK_ELEMENTS = 2**24
#: Columns of the K-NN baseline table (results/{dataset}/knn/{noise}.csv).
TABLE_COLUMNS = ["dataset", "noise", "level", "nominal_gamma", "realised_gamma", "seed_index", "K", "tie", "accuracy"]


def nearest_neighbours(
    reference, queries, k: int, chunk_elements: int = DEFAULT_CHUNK_ELEMENTS
) -> np.ndarray:
    """Indices (n_queries, k) of the k nearest ``reference`` rows of every query, nearest first.

    Exact Euclidean search in float64: squared distances from
    ``|r|^2 - 2 q.r`` (the query norm does not change the ranking), one BLAS
    product per chunk of queries, ``argpartition`` for the k smallest, then a
    sort of those k by (distance, index), so equal distances rank by training
    index.  Memory is bounded by ``chunk_elements`` distances at a time.
    ``k`` larger than the reference set is an error.
    """
    reference, queries = np.asarray(reference, dtype=np.float64), np.asarray(queries, dtype=np.float64)
    n_ref = reference.shape[0]
    k = int(check_k_list([k], n_ref)[0])
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    rows_per_chunk = max(1, int(chunk_elements) // n_ref)
    result = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], rows_per_chunk):
        chunk = queries[start : start + rows_per_chunk]
        distances = ref_sq[None, :] - 2.0 * (chunk @ reference.T)
        if k < n_ref:
            candidates = np.argpartition(distances, k - 1, axis=1)[:, :k]
        else:
            candidates = np.broadcast_to(np.arange(n_ref), distances.shape)
        chosen = np.take_along_axis(distances, candidates, axis=1)
        order = np.lexsort((candidates, chosen), axis=1)
        result[start : start + len(chunk)] = np.take_along_axis(candidates, order, axis=1)
    return result


def label_counts(neighbour_labels, n_labels: int) -> np.ndarray:
    """Votes (n, n_labels) of each label among each row's neighbours."""
    neighbour_labels = np.asarray(neighbour_labels)
    return np.stack([(neighbour_labels == label).sum(axis=1) for label in range(n_labels)], axis=1)


def vote_from_counts(counts, tie: str = "random", rng: np.random.Generator | None = None) -> np.ndarray:
    """The plurality label of each row of label votes (n, n_labels), with the tie policy of :func:`plurality_vote`.

    The one place where ties are resolved.  ``tie="random"`` draws once,
    ``rng.random(n_tied)``, and only when some row ties, so a sequence of calls
    consumes the generator exactly as the same sequence of
    :func:`plurality_vote` calls does.
    """
    if tie == "random" and rng is None:
        raise ValueError("tie='random' needs a random generator (rng) to break ties reproducibly")
    return _vote(np.asarray(counts), check_tie(tie), rng)


def _vote(counts: np.ndarray, tie: str, rng: np.random.Generator | None) -> np.ndarray:
    """:func:`vote_from_counts` on a checked tie policy."""
    is_top = counts == counts.max(axis=1, keepdims=True)
    n_top = is_top.sum(axis=1)
    prediction = np.argmax(counts, axis=1)
    tied = np.flatnonzero(n_top > 1)
    if tie == "strict":
        prediction[tied] = NO_DECISION
    elif len(tied):
        pick = (rng.random(len(tied)) * n_top[tied]).astype(np.int64)  # which of the tied labels
        rank = np.cumsum(is_top[tied], axis=1) - 1  # position of each top label among the tied ones
        prediction[tied] = np.argmax(is_top[tied] & (rank == pick[:, None]), axis=1)
    return prediction


def plurality_vote(neighbour_labels, n_labels: int, tie: str = "random", rng: np.random.Generator | None = None) -> np.ndarray:
    """The plurality label of each row of neighbour labels (n, K).

    ``tie="strict"``: a top count shared by several labels gives
    :data:`NO_DECISION` (-1), counted wrong, as in Eq. 3 where the correct
    label must have strictly more votes than any other.  ``tie="random"``: one
    of the tied labels uniformly at random from ``rng`` (required).  The vote
    itself is :func:`vote_from_counts` of :func:`label_counts`.
    """
    return _vote(label_counts(neighbour_labels, n_labels), check_tie(tie), rng)


def knn_accuracy(neighbours, train_labels, test_labels, n_labels: int, tie: str = "random",
                 rng: np.random.Generator | None = None) -> float:
    """Fraction of test samples whose K-NN plurality over ``train_labels`` is the test label.

    ``neighbours`` (n_test, K) are indices into ``train_labels`` (e.g. noisy labels).
    """
    train_labels = np.asarray(train_labels)
    test_labels = np.asarray(test_labels)
    neighbours = np.asarray(neighbours)
    prediction = plurality_vote(train_labels[neighbours], n_labels, tie, rng)
    return float(np.mean(prediction == test_labels))


def knn_noise_table(
    neighbours,
    test_labels,
    n_labels: int,
    levels: Sequence[dict],
    tie: str,
    rng_for_seed: Callable[[str, int], np.random.Generator],
    dataset: str,
    noise: str,
) -> pd.DataFrame:
    """K-NN accuracy for every (level, seed) of one noise type; one row each (:data:`TABLE_COLUMNS`).

    ``neighbours`` (n_test, K) come from one search of the clean features;
    each entry of ``levels`` holds ``level`` (its file name), ``nominal_gamma``,
    ``noisy_labels`` (seeds x N_train) and ``clean_labels`` (N_train).  The
    classifier votes with the noisy labels and is scored on the clean test
    labels; ``rng_for_seed(level, seed_index)`` breaks random ties.
    """
    neighbours = np.asarray(neighbours)
    rows = []
    for entry in levels:
        noisy = np.atleast_2d(np.asarray(entry["noisy_labels"]))
        clean = np.asarray(entry["clean_labels"])
        for seed_index, labels in enumerate(noisy):
            rows.append({
                "dataset": dataset, "noise": noise, "level": str(entry["level"]),
                "nominal_gamma": float(entry["nominal_gamma"]),
                "realised_gamma": realised_gamma(labels, clean),
                "seed_index": seed_index, "K": int(neighbours.shape[1]), "tie": tie,
                "accuracy": knn_accuracy(neighbours, labels, test_labels, n_labels, tie,
                                         rng_for_seed(str(entry["level"]), seed_index)),
            })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def knn_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the K-NN accuracy over seeds, one row per (noise, level)."""
    summary = mean_and_std_over_seeds(table, ["noise", "level"], ["realised_gamma", "accuracy"], first=["nominal_gamma", "K"])
    return summary[["noise", "level", "nominal_gamma", "realised_gamma_mean", "accuracy_mean", "accuracy_std", "K", "n_seeds"]]


# ---------------------------------------------------------------------------
# Fig. 3 (g, h): clean region vs concentrated-noise region
# ---------------------------------------------------------------------------


def noisy_neighbour_fraction(neighbours, noisy_labels, clean_labels) -> np.ndarray:
    """Fraction of each test sample's K training neighbours whose label the noise changed."""
    changed = np.asarray(noisy_labels) != np.asarray(clean_labels)
    return changed[np.asarray(neighbours)].mean(axis=1)


def region_examples(fraction, test_labels, rng: np.random.Generator) -> tuple[int, int]:
    """(clean-region, noisy-region) test indices for Fig. 3(g, h).

    The noisy-region sample is drawn among the test samples whose neighbourhood
    is the most corrupted (the highest noisy-neighbour ``fraction``, i.e. it lies
    inside a flipped cluster); the clean-region sample among those of the same
    true class with the least corrupted neighbourhood, so the two differ only in
    where they lie.  Raises if no neighbourhood is mostly (> 1/2) corrupted.
    """
    fraction = np.asarray(fraction, dtype=float)
    test_labels = np.asarray(test_labels)
    top = fraction.max()
    if top <= 0.5:
        raise ValueError(f"no test sample has a mostly corrupted neighbourhood (highest fraction {top:.2f})")
    noisy = int(rng.choice(np.flatnonzero(fraction == top)))
    same_class = np.flatnonzero(test_labels == test_labels[noisy])
    lowest = fraction[same_class].min()
    clean = int(rng.choice(same_class[fraction[same_class] == lowest]))
    return clean, noisy
