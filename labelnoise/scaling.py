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

from labelnoise.analytic import best_fit, fit_k_to_runs
from labelnoise.tables import aggregate_over_seeds

#: Columns of :func:`scaling_table` (results/{dataset}/scaling.csv and results/fig11_{dataset}.csv).
SCALING_COLUMNS = [
    "dataset", "train_fraction", "n_train", "n_train_per_class", "fitted_K", "rmse", "K_at_grid_edge", "fit", "level",
    "nominal_gamma", "realised_gamma_mean", "cnn_acc_mean", "cnn_acc_std", "n_seeds",
]


def scaling_table(dataset: str, analytic: pd.DataFrame, tables: dict[float, pd.DataFrame], sizes: dict[float, int],
                  n_classes: int, level: str) -> pd.DataFrame:
    """Fitted K and the CNN's accuracy at ``level`` for every training-set fraction; one row per fraction.

    ``tables`` maps each fraction to the training rows of its random-noise
    grid, ``sizes`` to its number of training samples, ``analytic`` holds the
    random-noise curves of every K.  With a level at gamma = 0 the fit is of
    the curve's shape (:func:`labelnoise.analytic.fit_k_to_runs` relative to
    the clean accuracy): a smaller training set also learns the clean task less
    well, which an absolute fit would read as a smaller K.  ``K_at_grid_edge``
    marks a fit at the largest K of the grid: there the curve only says "K at
    least this".
    """
    largest_k = int(analytic["K"].max())
    relative = all((table["nominal_gamma"] == 0.0).any() for table in tables.values())
    rows = []
    for fraction in sorted(tables):
        k, rmse = best_fit(fit_k_to_runs(analytic, tables[fraction], relative_to_clean=relative))
        at_level = aggregate_over_seeds(tables[fraction])
        at_level = at_level[at_level["level"].astype(str) == level].iloc[0]
        rows.append({
            "dataset": dataset, "train_fraction": float(fraction), "n_train": int(sizes[fraction]),
            "n_train_per_class": sizes[fraction] / n_classes, "fitted_K": k, "rmse": rmse,
            "K_at_grid_edge": k == largest_k, "fit": "relative to gamma 0" if relative else "absolute", "level": level,
            "nominal_gamma": float(at_level["nominal_gamma"]), "realised_gamma_mean": float(at_level["realised_gamma_mean"]),
            "cnn_acc_mean": float(at_level["test_acc_mean"]), "cnn_acc_std": float(at_level["test_acc_std"]),
            "n_seeds": int(at_level["n_seeds"]),
        })
    return pd.DataFrame(rows, columns=SCALING_COLUMNS)

