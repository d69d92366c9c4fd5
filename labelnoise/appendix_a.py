"""Appendix A: the softmax output is close to the local label histogram.

For every test sample the paper takes the labels of its K nearest training
samples in the 256-d feature space of a clean-trained net (the raw fc@256
outputs before BatchNorm/ReLU), for K between 10 and 300, and measures the
chi-square distance between that label histogram and the same net's softmax
output.  A sample's *preferred K* is the K with the smallest distance; Fig. 8
shows the histograms of the preferred K and of the distance at it, Fig. 9
example pairs near the median distance (the paper: 0.143123 on CIFAR-10).

Chi-square distance
-------------------
The paper does not define it.  We use the usual symmetric histogram form

    chi2(p, q) = 1/2 * sum_i (p_i - q_i)^2 / (p_i + q_i),   over i with p_i + q_i > 0,

(e.g. Puzicha et al. 1997; Pele & Werman 2010).  It is the one "chi-square
distance" that is a symmetric function of two histograms (Pearson's statistic
divides by one of them and is infinite where it is 0, which a K-NN histogram
often is), and for probability vectors it lies in [0, 1]: each term is at most
p_i + q_i, so it is 0 exactly for equal distributions and 1 exactly for
disjoint supports.  Without the 1/2 the values would double.  The paper's
wording allows two other common readings, which the summary reports beside it:
the same sum without the 1/2 (its median is exactly twice ours, the preferred
K unchanged), and Pearson's statistic with the softmax as the expected
distribution, sum_i (q_i - p_i)^2 / p_i (a softmax is positive everywhere),
minimised over K on its own.

One neighbour search for the largest K gives every K: the histograms are
cumulative counts over the sorted neighbour list (:func:`label_histograms`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelnoise.checks import check_k_list, check_labels, check_softmax
from labelnoise.knn import DEFAULT_CHUNK_ELEMENTS, label_counts, nearest_neighbours

#: Median chi-square distance between softmax and K-NN histogram reported in Appendix A (CIFAR-10).
PAPER_MEDIAN_CHI2 = 0.143123
#: The definition used, as written in the figures and the summary table.
CHI2_DEFINITION = "chi2(p, q) = 1/2 * sum_i (p_i - q_i)^2 / (p_i + q_i)"
CHI2_DEFINITION_TEX = r"$\chi^2(p, q) = \frac{1}{2}\sum_i \frac{(p_i - q_i)^2}{p_i + q_i}$"
#: The other readings reported beside it (summary columns median_chi2_full, median_chi2_pearson).
CHI2_FULL_DEFINITION = "sum_i (p_i - q_i)^2 / (p_i + q_i)"
CHI2_PEARSON_DEFINITION = "sum_i (q_i - p_i)^2 / p_i, p = softmax, q = K-NN histogram"


def label_histograms(neighbour_labels, k_values: Sequence[int], n_labels: int) -> np.ndarray:
    """Normalised label histograms (n, len(K), n_labels) of the first K neighbours, for every K.

    ``neighbour_labels`` (n, K_max) are the labels of each sample's neighbours,
    nearest first.  Counts accumulate from one K to the next, so all K cost one
    pass over the K_max columns.
    """
    neighbour_labels = np.asarray(neighbour_labels)
    ks = np.sort(check_k_list(k_values, neighbour_labels.shape[1], of="neighbour labels per sample"))
    return _label_histograms(neighbour_labels, ks, n_labels)


def _label_histograms(neighbour_labels: np.ndarray, ks: np.ndarray, n_labels: int) -> np.ndarray:
    """:func:`label_histograms` for checked, sorted ``ks``."""
    histograms = np.empty((neighbour_labels.shape[0], len(ks), n_labels))
    counts = np.zeros((neighbour_labels.shape[0], n_labels), dtype=np.int64)
    previous = 0
    for j, k in enumerate(ks):
        counts += label_counts(neighbour_labels[:, previous:k], n_labels)
        histograms[:, j] = counts / k
        previous = k
    return histograms


def chi_square_distance(p, q) -> np.ndarray:
    """1/2 sum_i (p_i - q_i)^2 / (p_i + q_i) over the last axis (module docstring); in [0, 1] for distributions."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    total = p + q
    terms = np.divide((p - q) ** 2, total, out=np.zeros(np.broadcast(p, q).shape), where=total > 0)
    return 0.5 * terms.sum(axis=-1)


def pearson_chi_square(softmax, q) -> np.ndarray:
    """Pearson's statistic sum_i (q_i - p_i)^2 / p_i over the last axis, the softmax ``p`` as the expected distribution.

    A term whose p_i underflowed to 0 is 0 where q_i is 0 too and infinite where it is not.
    """
    p = np.asarray(softmax, dtype=float)
    squared = (np.asarray(q, dtype=float) - p) ** 2
    return np.divide(squared, p, out=np.where(squared > 0, np.inf, 0.0), where=p > 0).sum(axis=-1)


def preferred_k(distances, k_values: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(preferred K, its distance) per row of ``distances`` (n, len(K)): the argmin, smallest K on ties."""
    distances = np.asarray(distances, dtype=float)
    ks = np.asarray(k_values)
    best = np.argmin(distances, axis=1)
    return ks[best], distances[np.arange(len(distances)), best]


@dataclass(frozen=True)
class AppendixAResult:
    """Per test sample: the distance at every K, the preferred K, the histogram there."""

    k_values: np.ndarray  # (n_K,)
    distances: np.ndarray  # (n_test, n_K)
    preferred_k: np.ndarray  # (n_test,)
    distance: np.ndarray  # (n_test,) distance at the preferred K
    histogram: np.ndarray  # (n_test, L) K-NN label histogram at the preferred K
    softmax: np.ndarray  # (n_test, L)
    pearson: np.ndarray  # (n_test,) Pearson's statistic at its own preferred K (module docstring)

    @property
    def median(self) -> float:
        return float(np.median(self.distance))


def softmax_vs_knn(train_features, train_labels, test_features, softmax, k_values: Sequence[int],
                   chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> AppendixAResult:
    """Appendix A: chi-square distance between each test softmax and its K-NN label histogram.

    One exact neighbour search of the test features among the training features
    for the largest K; histograms of the training labels for every K; the
    preferred K minimises the distance to the softmax.
    """
    softmax = check_softmax(softmax)
    n_labels = softmax.shape[1]
    train_labels = check_labels(train_labels, n_labels, "train_labels", len(train_features))
    ks = np.sort(check_k_list(k_values, len(train_features)))
    neighbours = nearest_neighbours(train_features, test_features, int(ks.max()), chunk_elements)
    histograms = _label_histograms(train_labels[neighbours], ks, n_labels)
    distances = chi_square_distance(softmax[:, None, :], histograms)
    best_k, best_distance = preferred_k(distances, ks)
    best_index = np.searchsorted(ks, best_k)
    return AppendixAResult(
        k_values=ks, distances=distances, preferred_k=best_k, distance=best_distance,
        histogram=histograms[np.arange(len(histograms)), best_index],
        softmax=softmax, pearson=pearson_chi_square(softmax[:, None, :], histograms).min(axis=1),
    )


def tied_minimum(distances) -> np.ndarray:
    """Per row: is the smallest distance reached by more than one K?  (The preferred K is then the smallest of them.)"""
    distances = np.asarray(distances, dtype=float)
    return (distances == distances.min(axis=1, keepdims=True)).sum(axis=1) > 1


def examples_near_median(distance, n_examples: int) -> np.ndarray:
    """Indices of the ``n_examples`` samples whose distance is closest to the median (Fig. 9), by distance."""
    distance = np.asarray(distance, dtype=float)
    median = np.median(distance)
    closest = np.argsort(np.abs(distance - median), kind="stable")[:n_examples]
    return closest[np.argsort(distance[closest], kind="stable")]


def per_sample_table(result: AppendixAResult, test_labels, test_index) -> pd.DataFrame:
    """One row per test sample: position, dataset index, label, prediction, preferred K, distance."""
    test_labels = np.asarray(test_labels)
    return pd.DataFrame({
        "test_position": np.arange(len(test_labels)),
        "dataset_index": np.asarray(test_index),
        "label": test_labels,
        "softmax_prediction": result.softmax.argmax(axis=1),
        "knn_prediction": result.histogram.argmax(axis=1),
        "preferred_K": result.preferred_k,
        "chi2": result.distance,
    })


def summary_table(result: AppendixAResult, dataset: str) -> pd.DataFrame:
    """One row: the median distance beside the paper's 0.143123, and how K was chosen."""
    ks = result.k_values
    return pd.DataFrame([{
        "dataset": dataset,
        "n_test": len(result.distance),
        "K_min": int(ks.min()), "K_max": int(ks.max()), "n_K": len(ks),
        "median_chi2": result.median,
        "paper_median_chi2": PAPER_MEDIAN_CHI2,
        "mean_chi2": float(np.mean(result.distance)),
        "median_preferred_K": float(np.median(result.preferred_k)),
        "fraction_at_K_min": float(np.mean(result.preferred_k == ks.min())),
        "fraction_at_K_max": float(np.mean(result.preferred_k == ks.max())),
        "fraction_tied": float(np.mean(tied_minimum(result.distances))),
        "chi2_definition": CHI2_DEFINITION,
        "median_chi2_full": 2 * result.median,
        "chi2_full_definition": CHI2_FULL_DEFINITION,
        "median_chi2_pearson": float(np.median(result.pearson)),
        "chi2_pearson_definition": CHI2_PEARSON_DEFINITION,
    }])
