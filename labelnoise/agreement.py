"""Does the CNN err on the same test samples as a K-NN? (Section 4.1, the K-NN hypothesis).

Section 4.1 argues that a network trained on noisy labels predicts the
plurality label of the training samples near its input, like a K-NN
classifier, and Section 4.2 turns that into an accuracy (Eq. 3).  Equal
accuracies do not show that the two classifiers make the same decisions; this
module compares them sample by sample:

* :func:`knn_predictions_over_k` - the K-NN prediction (noisy training labels,
  the clean model's feature space) for a whole grid of K from one neighbour
  search, with the tie policies of :func:`labelnoise.knn.plurality_vote`;
* :func:`agreement` - the fraction of test samples on which the CNN and the
  K-NN predict the same label;
* :func:`chance_agreement` and :func:`chance_agreement_from_predictions` - the
  agreement two *independent* classifiers of the same accuracies would reach,
  the baseline the measured agreement must beat to support the hypothesis;
* :func:`error_agreement` - on the CNN's mistakes, how often the K-NN errs too,
  and how often with the same wrong label;
* :func:`agreement_table` and :func:`best_agreement_k` - the tidy table of one
  (dataset, noise, level, seed) over K, and the K of highest agreement (the
  sample-level *effective K*, to be compared with the K that fits Eq. 3 to the
  CNN's accuracy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labelnoise.checks import check_k_list, check_labels, check_tie
from labelnoise.knn import NO_DECISION, _vote, label_counts
from labelnoise.tables import mean_and_std_over_seeds, noise_rank

#: Columns of :func:`agreement_table`, one row per K.
AGREEMENT_COLUMNS = [
    "dataset", "noise", "level", "nominal_gamma", "seed_index", "K", "cnn_accuracy", "knn_accuracy",
    "agreement", "chance_agreement", "chance_agreement_uniform", "both_wrong", "same_wrong_label",
]
#: Mean agreements closer than this count as equal in :func:`best_agreement_k` (float summation noise only).
AGREEMENT_TIE_TOLERANCE = 1e-12


def knn_predictions_over_k(neighbours, train_labels, n_labels: int, K_values: Sequence[int], tie: str = "random",
                           rng: np.random.Generator | None = None) -> np.ndarray:
    """K-NN predictions (len(K_values), n_test): the plurality label of the first K neighbours, for every K.

    ``neighbours`` (n_test, max K) index ``train_labels`` (the seed's noisy
    labels), nearest first (:func:`labelnoise.knn.nearest_neighbours`).  Label
    counts accumulate from one K to the next, so the whole grid costs one pass
    over the neighbour columns, and each K is decided by
    :func:`labelnoise.knn.vote_from_counts`.  ``K_values`` must increase: the
    K are voted in that order, each with its own ``rng`` draw (only where some
    sample ties), so the result equals ``plurality_vote(train_labels[neighbours[:, :K]])``
    called for each K in turn on the same generator.
    """
    neighbours, train_labels = np.asarray(neighbours), np.asarray(train_labels)
    ks = _checked_k(K_values, neighbours)
    return _knn_predictions_over_k(neighbours, train_labels, n_labels, ks, check_tie(tie), rng)


def _checked_k(K_values: Sequence[int], neighbours: np.ndarray) -> np.ndarray:
    """The K grid, strictly increasing (votes accumulate from one K to the next) and within the neighbours searched."""
    return check_k_list(K_values, neighbours.shape[1], increasing=True, of="neighbours searched per test sample")


def _knn_predictions_over_k(neighbours: np.ndarray, train_labels: np.ndarray, n_labels: int, ks: np.ndarray, tie: str,
                            rng: np.random.Generator | None) -> np.ndarray:
    """:func:`knn_predictions_over_k` on checked arguments (``ks`` from :func:`_checked_k`)."""
    neighbour_labels = train_labels[neighbours[:, : ks[-1]]]
    counts = np.zeros((neighbours.shape[0], n_labels), dtype=np.int64)
    predictions = np.empty((len(ks), neighbours.shape[0]), dtype=np.int64)
    counted = 0
    for row, k in enumerate(ks):
        counts += label_counts(neighbour_labels[:, counted:k], n_labels)
        counted = k
        predictions[row] = _vote(counts, tie, rng)
    return predictions


def agreement(cnn_pred, knn_pred) -> float:
    """Fraction of test samples on which both classifiers predict the same label.

    A K-NN without a decision (:data:`labelnoise.knn.NO_DECISION`, a strict
    tie) never agrees.
    """
    cnn_pred, knn_pred = np.asarray(cnn_pred), np.asarray(knn_pred)
    return float(np.mean((cnn_pred == knn_pred) & (knn_pred != NO_DECISION)))


def chance_agreement(acc_a, acc_b, n_labels: int):
    """Agreement of two independent classifiers of accuracies ``acc_a``, ``acc_b`` over ``n_labels`` labels.

    Assumes each classifier, when wrong, picks one of the L - 1 wrong labels
    uniformly and independently of the other:

        p = a b + (1 - a)(1 - b) / (L - 1)

    (both right, or both wrong with the same one of the L - 1 wrong labels).
    Errors that concentrate on a few labels (flip noise, confusable classes)
    agree more often by chance; :func:`chance_agreement_from_predictions` does
    not need the assumption.  A float for scalar inputs, else an array.
    """
    a, b = np.asarray(acc_a, dtype=float), np.asarray(acc_b, dtype=float)
    chance = a * b + (1 - a) * (1 - b) / (n_labels - 1)
    return float(chance) if chance.ndim == 0 else chance


def _class_prediction_counts(true_labels: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Counts (n_labels, n_labels) of prediction l among the samples of true class c; NO_DECISION is left out."""
    decided = pred != NO_DECISION
    cells = true_labels[decided] * n_labels + pred[decided]
    return np.bincount(cells, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


def chance_agreement_from_predictions(pred_a, pred_b, true_labels) -> float:
    """Agreement expected if the two classifiers were independent given the true class.

        sum_c P(y = c) sum_l P(a = l | y = c) P(b = l | y = c),

    every probability estimated from the predictions on the test set.  Unlike
    :func:`chance_agreement` it keeps each classifier's per-class accuracy and
    where its errors go, so it is the baseline to compare the measured
    agreement with.  NO_DECISION predictions never agree.
    """
    pred_a, pred_b, true_labels = np.asarray(pred_a), np.asarray(pred_b), np.asarray(true_labels)
    n_labels = int(max(true_labels.max(), pred_a.max(), pred_b.max())) + 1
    counts_a = _class_prediction_counts(true_labels, pred_a, n_labels)
    counts_b = _class_prediction_counts(true_labels, pred_b, n_labels)
    class_sizes = np.bincount(true_labels, minlength=n_labels)
    present = class_sizes > 0
    same_label = (counts_a * counts_b).sum(axis=1)[present] / class_sizes[present]  # n_c^2 P(a=l|c) P(b=l|c) / n_c
    return float(same_label.sum() / len(true_labels))


def error_agreement(cnn_pred, knn_pred, true_labels) -> tuple[float, float]:
    """(both wrong, same wrong label): on the samples the CNN gets wrong, the fraction the K-NN also gets
    wrong, and the fraction where it predicts the very label the CNN predicted.

    A K-NN without a decision counts as wrong, never as the same label.  Both
    are NaN when the CNN makes no mistake.
    """
    cnn_pred, knn_pred, true_labels = np.asarray(cnn_pred), np.asarray(knn_pred), np.asarray(true_labels)
    cnn_wrong = cnn_pred != true_labels
    if not cnn_wrong.any():
        return float("nan"), float("nan")
    knn_also_wrong = knn_pred[cnn_wrong] != true_labels[cnn_wrong]
    same_wrong_label = knn_pred[cnn_wrong] == cnn_pred[cnn_wrong]
    return float(np.mean(knn_also_wrong)), float(np.mean(same_wrong_label))


def cnn_predictions(cnn_output, n_labels: int) -> np.ndarray:
    """Predicted labels from softmax outputs (n, n_labels) by argmax, or integer predictions (n,) as they are."""
    cnn_output = np.asarray(cnn_output)
    if cnn_output.ndim == 2:
        return np.argmax(cnn_output, axis=1).astype(np.int64)
    return cnn_output.astype(np.int64)


def agreement_table(cnn_output, test_labels, neighbours, noisy_train_labels, n_labels: int, K_values: Sequence[int],
                    tie: str, rng: np.random.Generator | None, *, dataset: str, noise: str, level: str,
                    nominal_gamma: float, seed_index: int) -> pd.DataFrame:
    """CNN vs K-NN, sample by sample, for one (dataset, noise, level, seed); one row per K (:data:`AGREEMENT_COLUMNS`).

    ``cnn_output`` is the seed's network on the test set (softmax or
    predicted labels), ``neighbours`` (n_test, max K) the test samples'
    neighbours in the clean model's feature space, ``noisy_train_labels`` the
    labels that seed trained on; the K-NN votes with them
    (:func:`knn_predictions_over_k`, ``tie`` and ``rng``), both are scored on
    the clean ``test_labels``.  Under ``tie="strict"`` the K-NN's undecided
    samples are errors that can never agree, which ``chance_agreement_uniform``
    spreads over the wrong labels instead: it then overstates chance slightly.
    """
    cnn_pred = cnn_predictions(cnn_output, n_labels)
    test_labels = check_labels(test_labels, n_labels, "test labels", len(cnn_pred))
    neighbours, noisy_train_labels = np.asarray(neighbours), np.asarray(noisy_train_labels)
    ks = _checked_k(K_values, neighbours)
    knn_by_k = _knn_predictions_over_k(neighbours, noisy_train_labels, n_labels, ks, check_tie(tie), rng)
    cnn_accuracy = float(np.mean(cnn_pred == test_labels))
    rows = []
    for k, knn_pred in zip(ks, knn_by_k):
        knn_accuracy = float(np.mean(knn_pred == test_labels))
        both_wrong, same_wrong_label = error_agreement(cnn_pred, knn_pred, test_labels)
        rows.append({
            "dataset": dataset, "noise": noise, "level": str(level), "nominal_gamma": float(nominal_gamma),
            "seed_index": int(seed_index), "K": int(k), "cnn_accuracy": cnn_accuracy, "knn_accuracy": knn_accuracy,
            "agreement": agreement(cnn_pred, knn_pred),
            "chance_agreement": chance_agreement_from_predictions(cnn_pred, knn_pred, test_labels),
            "chance_agreement_uniform": chance_agreement(cnn_accuracy, knn_accuracy, n_labels),
            "both_wrong": both_wrong, "same_wrong_label": same_wrong_label,
        })
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


#: Columns of :func:`agreement_table` averaged over seeds by :func:`agreement_over_seeds`.
MEASURED_COLUMNS = ["cnn_accuracy", "knn_accuracy", "agreement", "chance_agreement", "chance_agreement_uniform",
                    "both_wrong", "same_wrong_label"]


def agreement_over_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every measured column, one row per (dataset, noise, level, K).

    Rows in the noise types' usual order, then by increasing noise, then K.
    """
    keys = ["dataset", "noise", "level", "K"]
    summary = mean_and_std_over_seeds(table, keys, MEASURED_COLUMNS, first=["nominal_gamma"])
    summary["_noise_rank"] = summary["noise"].map(noise_rank)
    ordered = summary.sort_values(["dataset", "_noise_rank", "nominal_gamma", "level", "K"], kind="mergesort")
    return ordered.drop(columns="_noise_rank").reset_index(drop=True)


def best_agreement_k(per_k: pd.DataFrame, keys=("dataset", "noise", "level"), column: str = "agreement_mean") -> pd.DataFrame:
    """The sample-level effective K: per ``keys`` group (default: per level), the row of :func:`agreement_over_seeds`
    whose mean agreement (``column``) is highest, the smallest K on a tie, with its K as ``effective_K``."""
    keys = list(keys)
    group_top = per_k.groupby(keys, sort=False)[column].transform("max")
    near_top = per_k[per_k[column] >= group_top - AGREEMENT_TIE_TOLERANCE].sort_values("K", kind="mergesort")
    best = near_top.drop_duplicates(keys, keep="first")  # the smallest K of each group
    return best.loc[sorted(best.index)].reset_index(drop=True).rename(columns={"K": "effective_K"})


#: Columns of the Fig. 10 table (results/fig10_{dataset}.csv), one row per (noise, level).
FIG10_COLUMNS = [
    "dataset", "noise", "level", "nominal_gamma", "n_seeds", "cnn_accuracy_mean", "effective_K", "K_at_grid_edge",
    "agreement_mean",
    "agreement_std", "chance_agreement_mean", "chance_agreement_uniform_mean", "both_wrong_mean",
    "same_wrong_label_mean", "knn_accuracy_mean", "fitted_K", "agreement_at_fitted_K",
    "effective_K_seed_min", "effective_K_seed_max",
]


def effective_k_table(per_k: pd.DataFrame, fitted: dict[str, int], per_seed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (noise, level): the sample-level effective K and what was measured at it, beside the curve-fitted K.

    ``per_k`` is :func:`agreement_over_seeds` output; ``fitted`` maps a noise
    type to the K that ``labelnoise.analytic.fit_k`` fitted to its accuracy
    curve (noise types without an analytic curve are absent: NaN there).
    ``per_seed`` (the per-seed agreement table :func:`agreement_over_seeds`
    aggregates) adds the smallest and largest of the seeds' own effective K:
    their spread (NaN without it).
    """
    best = best_agreement_k(per_k)
    best["effective_K_seed_min"] = best["effective_K_seed_max"] = np.nan
    if per_seed is not None:
        seeds = best_agreement_k(per_seed, ["dataset", "noise", "level", "seed_index"], column="agreement")
        spread = seeds.groupby(["dataset", "noise", "level"])["effective_K"].agg(["min", "max"])
        keys = pd.MultiIndex.from_frame(best[["dataset", "noise", "level"]])
        best["effective_K_seed_min"] = spread["min"].reindex(keys).to_numpy(float)
        best["effective_K_seed_max"] = spread["max"].reindex(keys).to_numpy(float)
    best["K_at_grid_edge"] = best["effective_K"] == per_k["K"].max()  # the agreement may rise further: a lower bound
    best["fitted_K"] = best["noise"].map(fitted).astype(float)
    at_fitted = per_k.rename(columns={"K": "fitted_K", "agreement_mean": "agreement_at_fitted_K"})
    at_fitted = at_fitted[["dataset", "noise", "level", "fitted_K", "agreement_at_fitted_K"]].astype({"fitted_K": float})
    best = best.merge(at_fitted, on=["dataset", "noise", "level", "fitted_K"], how="left")
    return best[FIG10_COLUMNS]
