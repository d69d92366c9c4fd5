"""Fig. 11's table: the fitted K of each training-set size is the K whose analytic curve produced the accuracies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelnoise.analytic import knn_accuracy_curves, one_hot_clean_distribution
from labelnoise.noise import uniform_matrix
from labelnoise.scaling import scaling_table

K_GRID = [1, 3, 5, 11, 21]
GAMMAS = [0.0, 0.2, 0.4, 0.6, 0.8]


def _analytic() -> pd.DataFrame:
    labels = np.arange(10)
    return knn_accuracy_curves(one_hot_clean_distribution(labels, 10), labels, uniform_matrix(10), np.linspace(0, 1, 21),
                               K_GRID)


def _grid(analytic: pd.DataFrame, k: int, seeds: int = 2) -> pd.DataFrame:
    """Training rows whose accuracies lie on the analytic curve of ``k`` (seeds spread +-0.01 around it)."""
    rows = []
    for gamma in GAMMAS:
        curve = analytic[analytic["K"] == k]
        accuracy = float(np.interp(gamma, curve["gamma"], curve["accuracy"]))
        for seed_index in range(seeds):
            rows.append(dict(dataset="toy", noise="random", level=f"{gamma:.2f}", nominal_gamma=gamma,
                             corrupted_fraction=gamma, realised_gamma=0.9 * gamma, seed_index=seed_index,
                             test_acc=accuracy + (0.01 if seed_index else -0.01), val_acc=accuracy))
    return pd.DataFrame(rows)


def test_fitted_k_grows_as_the_tables_say_and_the_grid_top_is_flagged():
    analytic = _analytic()
    tables = {0.25: _grid(analytic, 3), 0.5: _grid(analytic, 11), 1.0: _grid(analytic, 21)}
    table = scaling_table("toy", analytic, tables, {0.25: 250, 0.5: 500, 1.0: 1000}, 10, "0.80")
    assert table["fitted_K"].tolist() == [3, 11, 21]
    assert table["rmse"].max() < 1e-3  # the mean over seeds lies on the curve
    assert table["K_at_grid_edge"].tolist() == [False, False, True]  # 21 is the grid's top: a lower bound
    assert table["n_train_per_class"].tolist() == [25.0, 50.0, 100.0]
    curve = analytic[analytic["K"] == 21]
    assert table["cnn_acc_mean"].iloc[2] == np.interp(0.8, curve["gamma"], curve["accuracy"])
    assert np.isclose(table["cnn_acc_std"].iloc[2], np.std([-0.01, 0.01], ddof=1))


def test_the_fit_is_of_the_curves_shape_so_a_weaker_clean_net_keeps_its_k():
    """A smaller training set also learns the clean task less well: accuracies scaled by 0.85 still fit K = 11."""
    analytic = _analytic()
    weaker = _grid(analytic, 11).assign(test_acc=lambda frame: 0.85 * frame["test_acc"])
    table = scaling_table("toy", analytic, {0.5: weaker, 1.0: _grid(analytic, 11)}, {0.5: 500, 1.0: 1000}, 10, "0.80")
    assert table["fitted_K"].tolist() == [11, 11] and (table["fit"] == "relative to gamma 0").all()
    without_zero = {fraction: frame[frame["nominal_gamma"] > 0] for fraction, frame in {0.5: weaker}.items()}
    absolute = scaling_table("toy", analytic, without_zero, {0.5: 500}, 10, "0.80")
    assert absolute["fit"].tolist() == ["absolute"] and absolute["fitted_K"].iloc[0] != 11  # the offset reads as K
