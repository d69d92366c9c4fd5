"""The summary table: analytic at the fitted K, K-NN baseline, paper claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelnoise.summary import PAPER_CLAIMS, analytic_at_fitted_k, build_summary, knn_baseline, summary_columns


def train_summary() -> pd.DataFrame:
    return pd.DataFrame({
        "dataset": "d", "noise": ["random", "random", "concentrated"], "level": ["0.20", "0.60", "5"],
        "nominal_gamma": [0.2, 0.6, 0.2], "corrupted_fraction_mean": [0.2, 0.6, 0.21],
        "realised_gamma_mean": [0.18, 0.54, 0.21], "test_acc_mean": [0.95, 0.9, 0.8],
        "test_acc_std": [0.01, 0.02, 0.03], "n_seeds": 2,
    })


def curves() -> pd.DataFrame:
    gamma = np.linspace(0, 1, 11)
    return pd.concat([pd.DataFrame({"gamma": gamma, "K": k, "accuracy": 1 - gamma / k}) for k in (1, 5)])


FIT = pd.DataFrame({"K": [1, 5], "rmse": [0.3, 0.1], "best": [False, True]})


def test_analytic_is_interpolated_at_the_fitted_k():
    k, acc = analytic_at_fitted_k(curves(), FIT, [0.2, 0.65])
    assert k == 5 and np.allclose(acc, [1 - 0.2 / 5, 1 - 0.65 / 5])


def test_knn_baseline_averages_seeds_and_prefers_the_fitted_k():
    knn = pd.DataFrame({"level": "0.20", "K": [5, 5, 11], "accuracy": [0.9, 0.8, 0.99]})
    assert knn_baseline(knn, "0.20", 5) == (5.0, pytest.approx(0.85))
    assert knn_baseline(knn, "0.20", 3) == (11.0, 0.99)  # fitted K not run: its best K
    assert np.isnan(knn_baseline(knn, "0.60", 5)[1]) and np.isnan(knn_baseline(None, "0.20", 5)[0])


def test_summary_rows_put_our_numbers_beside_the_paper():
    knn = {"random": pd.DataFrame({"level": ["0.20", "0.60"], "K": 5, "accuracy": [0.97, 0.93]})}
    table = build_summary(train_summary(), {"random": curves()}, {"random": FIT}, knn)
    assert list(table.columns) == summary_columns() and len(table) == 3
    random = table[table["noise"] == "random"].set_index("level")
    assert np.allclose(random["analytic_acc_fitted_K"], [0.96, 0.88]) and (random["fitted_K"] == 5).all()
    assert list(random["knn_acc"]) == [0.97, 0.93] and list(random["cnn_acc_mean"]) == [0.95, 0.9]
    concentrated = table[table["noise"] == "concentrated"].iloc[0]
    assert np.isnan(concentrated["analytic_acc_fitted_K"]) and np.isnan(concentrated["knn_acc"])
    assert concentrated["paper_claim"] == PAPER_CLAIMS["concentrated"] and "1 - gamma" in concentrated["paper_claim"]


def test_summary_without_knn_baseline_has_nan_columns():
    table = build_summary(train_summary(), {"random": curves()}, {"random": FIT})
    assert table["knn_acc"].isna().all() and table["knn_K"].isna().all()
