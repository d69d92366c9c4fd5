"""Fig. 13: how much of the paper's resistance is its model selection's?

Every training records the state each selection protocol keeps
(:mod:`labelnoise.selection`): the paper's clean validation, a noisy
validation half, Label Wave, and no selection. :func:`protocol_curves` sets the
protocols' accuracy curves side by side, each with the analytic K-NN (Eq. 2) at
the K fitted to it; :func:`flip_decisions` looks inside the flip curve, where
at gamma = 0.5 the true label and its flip counterpart are exactly tied in
every neighbourhood: which of the two the selected net predicts, and how far
its softmax is from that tie.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelnoise.analytic import best_fit, fit_k_to_runs
from labelnoise.selection import PROTOCOLS
from labelnoise.tables import aggregate_over_seeds, mean_and_std_over_seeds

CURVE_COLUMNS = ("dataset", "noise", "level", "nominal_gamma", "realised_gamma_mean", "protocol", "n_seeds",
                 "test_acc_mean", "test_acc_std", "step_mean", "fitted_K", "rmse", "analytic_acc")


def _analytic_at(analytic: pd.DataFrame, k: int, gammas) -> np.ndarray:
    """The analytic curve of ``k`` at ``gammas`` (linear in gamma)."""
    curve = analytic[analytic["K"] == k].groupby("gamma", sort=True)["accuracy"].mean()
    return np.interp(np.asarray(gammas, dtype=float), curve.index.to_numpy(float), curve.to_numpy(float))


def protocol_curves(train: pd.DataFrame, analytic: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per noise type, level and protocol measured: the selected states' test accuracy and step, mean over seeds.

    ``train`` holds the per-seed training tables (columns ``{protocol}_test_acc``
    and ``{protocol}_step``); ``analytic`` maps class-conditional noise types
    to their analytic curves, to which each protocol's mean curve is fitted
    (``fitted_K``, ``rmse``, ``analytic_acc`` at the levels; NaN elsewhere).
    """
    parts = []
    for noise, runs in train.groupby("noise", sort=False):
        for protocol in PROTOCOLS:
            if runs[f"{protocol}_test_acc"].isna().any():  # not measured (noisy_val without noisy validation labels)
                continue
            selected = runs.assign(test_acc=runs[f"{protocol}_test_acc"], val_acc=runs[f"{protocol}_val_acc"])
            summary = aggregate_over_seeds(selected)
            steps = mean_and_std_over_seeds(selected, ["level"], [f"{protocol}_step"]).set_index("level")
            rows = summary.assign(protocol=protocol, step_mean=summary["level"].map(steps[f"{protocol}_step_mean"]),
                                  fitted_K=np.nan, rmse=np.nan, analytic_acc=np.nan)
            if noise in analytic:
                k, rmse = best_fit(fit_k_to_runs(analytic[noise], selected))
                rows = rows.assign(fitted_K=k, rmse=rmse, analytic_acc=_analytic_at(analytic[noise], k, rows["nominal_gamma"]))
            parts.append(rows)
    return pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]


def flip_decisions(softmax: np.ndarray, labels: np.ndarray, permutation: np.ndarray) -> dict[str, float]:
    """Where flip noise puts the decision: shares of test predictions that are the true label, its flip
    counterpart or another label, and how far the softmax is from a tie between the two (mean and median of
    |p(true) - p(counterpart)|), each the mean over seeds of ``softmax`` (seeds x M x L)."""
    labels = np.asarray(labels)
    counterpart = np.asarray(permutation)[labels]
    rows = np.arange(len(labels))
    predictions = softmax.argmax(axis=2)
    gap = np.abs(softmax[:, rows, labels] - softmax[:, rows, counterpart])
    true, flipped = (predictions == labels).mean(axis=1), (predictions == counterpart).mean(axis=1)
    return {
        "true_label": float(true.mean()), "counterpart": float(flipped.mean()), "other": float((1 - true - flipped).mean()),
        "tie_gap_mean": float(gap.mean(axis=1).mean()), "tie_gap_median": float(np.median(gap, axis=1).mean()),
    }
