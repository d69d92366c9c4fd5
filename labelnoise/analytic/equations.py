"""The paper's equations: Eq. 2 (expected K-NN accuracy), Eqs. 6-9 (label probabilities), and the fitted K.

``fit_k`` chooses the K whose analytic curve (Eq. 2) lies closest, in RMSE,
to a measured accuracy curve: the paper's effective K, picked by eye there.
Eq. 3 itself (Q, the probability that the correct label wins the plurality)
is computed by ``labelnoise.analytic.engine``.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from labelnoise.analytic.distributions import binomial_mass
from labelnoise.analytic.engine import DEFAULT_EPSILON, _eq3_table
from labelnoise.analytic.inputs import check_epsilon
from labelnoise.checks import (
    check_confusion_matrix, check_k_list, check_labels, check_probability_rows, check_softmax, check_tie,
    renormalised_rows,
)
from labelnoise.noise import check_gamma
from labelnoise.tables import aggregate_over_seeds

#: Slack when checking that empirical gammas lie inside the analytic grid.
GAMMA_GRID_TOLERANCE = 1e-12


def fit_k(analytic: pd.DataFrame, empirical: pd.DataFrame) -> pd.DataFrame:
    """RMSE between the empirical mean accuracy curve and each K's analytic curve.

    The empirical accuracy is averaged per gamma (several seeds per level); the
    analytic curve is linearly interpolated in gamma.  Returns columns K, rmse,
    best (True on the row with the smallest RMSE).
    """
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


def label_probabilities(C, confusion, gamma: float) -> np.ndarray:
    """Eq. 6: q_j = (1 - gamma) C(j) + gamma sum_k P(j | k) C(k), row by row of C (M, L)."""
    C, confusion = check_probability_rows(C, "C"), check_confusion_matrix(confusion)  # both renormalised
    return _mixed_label_probabilities(C, confusion, check_gamma(gamma))


def _mixed_label_probabilities(C: np.ndarray, confusion: np.ndarray, gamma: float) -> np.ndarray:
    """Eq. 6 on checked inputs."""
    return (1.0 - gamma) * C + gamma * (C @ confusion)


def softmax_clean_distribution(softmax) -> np.ndarray:
    """General case C(l) (Eqs. 3, 6): the clean model's softmax per test sample, as float64.

    Softmax outputs are stored as float32, whose rows sum to 1 only to a few
    float32 ulps (~1e-7); rows are checked (:func:`labelnoise.checks.check_softmax`)
    and renormalised in float64, so Eq. 6 mixes distributions that sum to 1.
    """
    values = check_softmax(softmax)
    return values / values.sum(axis=1, keepdims=True)


def one_hot_clean_distribution(labels, n_classes: int) -> np.ndarray:
    """Eq. 7: C(l) = 1 for the test sample's own label, 0 otherwise (perfect learnability)."""
    labels = check_labels(labels, n_classes)
    C = np.zeros((labels.size, n_classes))
    C[np.arange(labels.size), labels] = 1.0
    return C


def clean_label_distribution(case: str, labels, n_classes: int, softmax=None) -> np.ndarray:
    """C(l) of every test sample for Eq. 6: ``"simplified"`` one-hot at its label (Eq. 7, a perfectly
    learnable dataset), ``"general"`` the clean model's stored ``softmax``."""
    if case == "general":
        return softmax_clean_distribution(softmax)
    return one_hot_clean_distribution(labels, n_classes)


def flip_accuracy_closed_form(gamma: float, K: int) -> float:
    """Eq. 9: sum_{n >= ceil((K+1)/2)} C(K, n) (1 - gamma)^n gamma^(K - n) (flip noise, strict ties)."""
    gamma = check_gamma(gamma)
    K = int(check_k_list([K])[0])
    first = math.ceil((K + 1) / 2)
    return float(binomial_mass(K, 1.0 - gamma, first, K + 1))


def concentrated_noise_accuracy(gamma, clean_accuracy: float = 1.0) -> np.ndarray:
    """Section 5's prediction for concentrated noise, no resistance: accuracy = clean_accuracy * (1 - gamma).

    A flipped cluster's test neighbourhood is predicted as its counterpart, so
    the share gamma of test samples that fall in flipped clusters is lost and
    the rest keep the clean net's accuracy. The paper writes 1 - gamma for a
    net that is ~100% accurate on clean data (MNIST): ``clean_accuracy`` 1.
    """
    return clean_accuracy * (1.0 - np.asarray(gamma, dtype=float))


def random_noise_probabilities(gamma: float, n_classes: int, correct: int = 0) -> np.ndarray:
    """Eq. 8: q for uniform random noise with the one-hot C of Eq. 7."""
    gamma = check_gamma(gamma)
    q = np.full(n_classes, gamma / n_classes)
    q[correct] += 1.0 - gamma
    return q


def fit_k_to_runs(analytic: pd.DataFrame, train: pd.DataFrame, relative_to_clean: bool = False) -> pd.DataFrame:
    """:func:`fit_k` of the analytic curves to the seed-mean test accuracy of training runs (one noise type).

    ``relative_to_clean`` fits the shape only: the measured means are divided
    by their mean at gamma = 0 and each K's analytic curve by its value there,
    so a net that learns the clean task less well (a smaller training set) is
    not read as a different K.
    """
    summary = aggregate_over_seeds(train)
    empirical = pd.DataFrame({"gamma": summary["nominal_gamma"], "accuracy": summary["test_acc_mean"]})
    analytic = analytic[["gamma", "K", "accuracy"]]
    if relative_to_clean:
        clean = empirical.loc[empirical["gamma"] == 0.0, "accuracy"]
        if clean.empty:
            raise ValueError("a fit relative to the clean accuracy needs a level at gamma = 0")
        empirical = empirical.assign(accuracy=empirical["accuracy"] / float(clean.mean()))
        at_zero = analytic[analytic["gamma"] == 0.0].set_index("K")["accuracy"]
        analytic = analytic.assign(accuracy=analytic["accuracy"] / analytic["K"].map(at_zero))
    return fit_k(analytic, empirical)


def best_fit(fit: pd.DataFrame) -> tuple[int, float]:
    """(K, RMSE) of the row :func:`fit_k` marks ``best``: the fitted K."""
    best = fit[fit["best"].astype(bool)]
    return int(best["K"].iloc[0]), float(best["rmse"].iloc[0])


def knn_accuracy_curves(C, labels, confusion, gammas: Sequence[float], Ks: Sequence[int], tie: str = "strict",
                        epsilon: float = DEFAULT_EPSILON) -> pd.DataFrame:
    """Eq. 2: mean over test samples of Q (Eq. 3) with q from Eq. 6, for every (gamma, K).

    Identical (q, label) rows are computed once (the one-hot case of Eq. 7 has
    only L distinct rows); the distinct rows of every gamma go through one
    parallel call that evaluates all K per row.  Returns columns gamma, K, accuracy.
    """
    C, confusion = check_probability_rows(C, "C"), check_confusion_matrix(confusion)  # once, not once per gamma
    labels = check_labels(labels, C.shape[1], "labels", len(C))
    gammas = [check_gamma(g) for g in gammas]
    Ks, tie, epsilon = check_k_list(Ks), check_tie(tie), check_epsilon(epsilon)

    blocks, weights, inverses = [], [], []
    for gamma in gammas:
        q = _mixed_label_probabilities(C, confusion, gamma)
        keyed = np.column_stack([q, labels.astype(np.float64)])
        unique, inverse = np.unique(keyed, axis=0, return_inverse=True)
        blocks.append(unique)
        inverses.append(inverse.ravel())
        weights.append(np.bincount(inverse.ravel(), minlength=len(unique)) / C.shape[0])
    stacked = np.concatenate(blocks)
    # Interleave rows so that the parallel chunks get a mix of easy and hard rows.
    order = np.random.default_rng(0).permutation(len(stacked))
    table = np.empty((len(stacked), len(Ks)))
    q = renormalised_rows(stacked[order, :-1])  # Eq. 6's rows sum to 1 to rounding: as plurality_probability_table's
    table[order] = _eq3_table(q, Ks, stacked[order, -1].astype(np.int64), tie, epsilon, False)

    rows, start = [], 0
    for gamma, unique, weight in zip(gammas, blocks, weights):
        block = table[start:start + len(unique)]
        start += len(unique)
        accuracy = np.clip(weight @ block, 0.0, 1.0)
        rows.extend((gamma, K, float(a)) for K, a in zip(Ks, accuracy))
    return pd.DataFrame(rows, columns=["gamma", "K", "accuracy"])

