"""Effective K against the amount of training data (Fig. 11): the paper's explanation of noise resistance, tested.

Section 4 explains why a net resists label noise by a K-NN-like vote: its
prediction is the plurality label of the training samples near the input, and
the more of them vote, the more noise the vote survives (Eq. 3).  A denser
training set puts more samples into the same neighbourhood, so the
explanation predicts an effective K (the K of the analytic curve, Eq. 2, that
fits the measured accuracy: ``labelnoise.analytic.fit_k``) that grows with the
number of training samples per class.  The grid of random noise is trained on
nested, stratified subsets of the training set
(:func:`labelnoise.data.nested_subsets`; a subset keeps the full set's noisy
labels at its samples) and K is fitted at every size.
"""

from __future__ import annotations

import pandas as pd

from labelnoise.analytic import fit_k
from labelnoise.tables import aggregate_over_seeds

#: Columns of :func:`scaling_table` (results/{dataset}/scaling.csv and results/fig11_{dataset}.csv).
SCALING_COLUMNS = [
    "dataset", "train_fraction", "n_train", "n_train_per_class", "fitted_K", "rmse", "K_at_grid_edge", "level",
    "nominal_gamma", "realised_gamma_mean", "cnn_acc_mean", "cnn_acc_std", "n_seeds",
]


def fitted_k(analytic: pd.DataFrame, train: pd.DataFrame) -> pd.Series:
    """The best row (K, rmse) of :func:`labelnoise.analytic.fit_k` for one grid of training tables."""
    summary = aggregate_over_seeds(train)
    empirical = pd.DataFrame({"gamma": summary["nominal_gamma"], "accuracy": summary["test_acc_mean"]})
    fit = fit_k(analytic[["gamma", "K", "accuracy"]], empirical)
    return fit[fit["best"]].iloc[0]


def scaling_table(dataset: str, analytic: pd.DataFrame, tables: dict[float, pd.DataFrame], sizes: dict[float, int],
                  n_classes: int, level: str) -> pd.DataFrame:
    """Fitted K and the CNN's accuracy at ``level`` for every training-set fraction; one row per fraction.

    ``tables`` maps each fraction to the training rows of its random-noise
    grid, ``sizes`` to its number of training samples, ``analytic`` holds the
    random-noise curves of every K.  ``K_at_grid_edge`` marks a fit at the
    largest K of the grid: there the curve only says "K at least this".
    """
    largest_k = int(analytic["K"].max())
    rows = []
    for fraction in sorted(tables):
        best = fitted_k(analytic, tables[fraction])
        at_level = aggregate_over_seeds(tables[fraction])
        at_level = at_level[at_level["level"].astype(str) == level].iloc[0]
        rows.append({
            "dataset": dataset, "train_fraction": float(fraction), "n_train": int(sizes[fraction]),
            "n_train_per_class": sizes[fraction] / n_classes, "fitted_K": int(best["K"]), "rmse": float(best["rmse"]),
            "K_at_grid_edge": int(best["K"]) == largest_k, "level": level,
            "nominal_gamma": float(at_level["nominal_gamma"]), "realised_gamma_mean": float(at_level["realised_gamma_mean"]),
            "cnn_acc_mean": float(at_level["test_acc_mean"]), "cnn_acc_std": float(at_level["test_acc_std"]),
            "n_seeds": int(at_level["n_seeds"]),
        })
    return pd.DataFrame(rows, columns=SCALING_COLUMNS)

