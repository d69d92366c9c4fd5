"""The summary table: experiment, analytic K-NN at the fitted K, K-NN baseline and the paper's claims.

One row per (dataset, noise type, level) with the nominal and realised noise,
the CNN test accuracy (mean and std over seeds), the analytic plurality
accuracy (Eq. 2) of the K fitted to the experimental curve (Figs. 5-7), an
empirical K-NN baseline when one was run, and what the paper reports for that
noise type, so that a reader sees our numbers and the paper's side by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelnoise.agreement import agreement_over_seeds, best_agreement_k
from labelnoise.analytic import best_fit
from labelnoise.io import load_csv
from labelnoise.noise_types import NOISE_TYPES
from labelnoise.selection import PROTOCOLS
from labelnoise.tables import load_train_tables

#: What the paper reports per noise type (Fig. 4 and Section 5), from the registry.
PAPER_CLAIMS: dict[str, str] = {noise.name: noise.paper_claim for noise in NOISE_TYPES}

SUMMARY_COLUMNS: tuple[str, ...] = (
    "dataset", "noise", "level", "train_fraction", "nominal_gamma", "corrupted_fraction", "realised_gamma",
    "n_seeds", "cnn_acc_mean", "cnn_acc_std", "fitted_K", "analytic_acc_fitted_K",
    "knn_K", "knn_acc", "effective_K", "agreement", "chance_agreement", "paper_claim",
)
#: Each registered selection protocol's columns in the summary (Fig. 13).
PROTOCOL_MEASURES: tuple[str, ...] = ("acc_mean", "fitted_K", "rmse")


def summary_columns() -> list[str]:
    """The summary's columns: :data:`SUMMARY_COLUMNS`, then each registered protocol's :data:`PROTOCOL_MEASURES`."""
    return list(SUMMARY_COLUMNS) + [f"{protocol}_{measure}" for protocol in PROTOCOLS for measure in PROTOCOL_MEASURES]


def analytic_at_fitted_k(analytic: pd.DataFrame, fit: pd.DataFrame, gammas) -> tuple[int, np.ndarray]:
    """The fitted K and its analytic accuracy interpolated (linearly in gamma) at ``gammas``."""
    k, _ = best_fit(fit)
    curve = analytic[analytic["K"] == k].groupby("gamma", sort=True)["accuracy"].mean()  # fit_k fitted it to these
    return k, np.interp(np.asarray(gammas, dtype=float), curve.index.to_numpy(float), curve.to_numpy(float))


def realised_prediction(realised: pd.DataFrame, k: int, levels) -> np.ndarray:
    """Eq. 6 with a realised transition matrix (``analytic_realised``'s table) at K = ``k``, one value per level."""
    at_k = realised[realised["K"] == k].assign(level=lambda frame: frame["level"].astype(str)).set_index("level")
    return np.array([at_k["accuracy"].get(str(level), np.nan) for level in levels], dtype=float)


def class_conditional_comparison(train_summary: pd.DataFrame, knn: dict[str, pd.DataFrame],
                                 realised: dict[str, pd.DataFrame], random_fit: pd.DataFrame) -> pd.DataFrame:
    """Fig. 12's table: per level of instance or human noise, the CNN, the K-NN baseline and the class-conditional
    prediction (Eq. 6 with the realised transition matrix) at the K fitted to random noise."""
    k, _ = best_fit(random_fit)
    parts = []
    for noise, table in realised.items():
        rows = train_summary[train_summary["noise"] == noise].copy()
        rows["level"] = rows["level"].astype(str)
        rows["analytic_K"] = k
        rows["analytic_acc"] = realised_prediction(table, k, rows["level"])
        baseline = knn[noise].assign(level=knn[noise]["level"].astype(str))
        pairs = [knn_baseline(baseline, level, None) for level in rows["level"]]  # the summary's K-NN column
        rows["knn_K"] = [int(knn_k) for knn_k, _ in pairs]
        rows["knn_acc"] = [accuracy for _, accuracy in pairs]
        parts.append(rows)
    columns = ["dataset", "noise", "level", "realised_gamma_mean", "n_seeds", "test_acc_mean", "test_acc_std", "knn_K",
               "knn_acc", "analytic_K", "analytic_acc"]
    return pd.concat(parts, ignore_index=True)[columns]


def knn_baseline(knn: pd.DataFrame | None, level: str, fitted_k: int | None) -> tuple[float, float]:
    """(K, mean accuracy over seeds) of the K-NN baseline at ``level``: the fitted K when run, else its best K; NaN if absent."""
    if knn is None:
        return np.nan, np.nan
    per_k = knn[knn["level"] == level].groupby("K")["accuracy"].mean()  # mean over seeds
    if per_k.empty:
        return np.nan, np.nan
    k = fitted_k if fitted_k in per_k.index else per_k.idxmax()
    return float(k), float(per_k[k])


def build_summary(
    train_summary: pd.DataFrame,
    analytic: dict[str, pd.DataFrame],
    fits: dict[str, pd.DataFrame],
    knn: dict[str, pd.DataFrame] | None = None,
    effective_k: pd.DataFrame | None = None,
    scaling: pd.DataFrame | None = None,
    realised: dict[str, pd.DataFrame] | None = None,
    selection: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Summary rows of one dataset (columns :func:`summary_columns`).

    ``train_summary`` is ``tables.aggregate_over_seeds`` output; ``analytic`` and
    ``fits`` map each spread noise type (random, flip, confusion) to its curves
    and K fit; ``knn`` maps noise types to K-NN baseline tables (columns noise,
    level, K, accuracy), or is None / lacks a type when no baseline was run
    (those cells are NaN). Concentrated noise has no analytic curve: NaN there.
    ``effective_k`` (the Fig. 10 table) adds the sample-level effective K, the
    agreement there and its chance level; ``scaling`` (the Fig. 11 table) adds
    a row per smaller training-set fraction at its level (``train_fraction``
    is 1 on the other rows). ``realised`` maps instance and human noise to
    Eq. 6 with their realised transition matrix, read at the K fitted to
    random noise. ``selection`` (the Fig. 13 table) adds, per selection
    protocol, its mean test accuracy and the K fitted to its curve with the
    RMSE (``{protocol}_acc_mean``, ``_fitted_K``, ``_rmse``; random and flip).
    """
    knn = knn or {}
    frame = train_summary.copy()
    frame["level"] = frame["level"].astype(str)
    parts = []
    for noise, rows in frame.groupby("noise", sort=False):
        rows = rows.copy()
        fitted_k = None
        rows["fitted_K"] = np.nan
        rows["analytic_acc_fitted_K"] = np.nan
        if noise in analytic and noise in fits:
            fitted_k, predicted = analytic_at_fitted_k(analytic[noise], fits[noise], rows["nominal_gamma"])
            rows["fitted_K"] = float(fitted_k)
            rows["analytic_acc_fitted_K"] = predicted
        elif noise in (realised or {}) and "random" in fits:
            fitted_k, _ = best_fit(fits["random"])
            rows["fitted_K"] = float(fitted_k)
            rows["analytic_acc_fitted_K"] = realised_prediction(realised[noise], fitted_k, rows["level"])
        baseline = knn.get(noise)
        if baseline is not None:
            baseline = baseline.assign(level=baseline["level"].astype(str))
        pairs = [knn_baseline(baseline, level, fitted_k) for level in rows["level"]]
        rows["knn_K"] = [k for k, _ in pairs]
        rows["knn_acc"] = [acc for _, acc in pairs]
        rows["paper_claim"] = PAPER_CLAIMS.get(noise, "")
        parts.append(rows)
    out = pd.concat(parts, ignore_index=True)
    out["train_fraction"] = 1.0
    out = _with_agreement(out, effective_k)
    out = _with_selection(out, selection)
    if scaling is not None:
        out = pd.concat([out, _scaling_rows(scaling)], ignore_index=True)
    out = out.rename(columns={
        "corrupted_fraction_mean": "corrupted_fraction",
        "realised_gamma_mean": "realised_gamma",
        "test_acc_mean": "cnn_acc_mean",
        "test_acc_std": "cnn_acc_std",
    })
    return out[summary_columns()]


def _with_agreement(rows: pd.DataFrame, effective_k: pd.DataFrame | None) -> pd.DataFrame:
    """The Fig. 10 columns (effective_K, agreement, chance_agreement) joined on (noise, level); NaN without them."""
    if effective_k is None:
        return rows.assign(effective_K=np.nan, agreement=np.nan, chance_agreement=np.nan)
    columns = effective_k[["noise", "level", "effective_K", "agreement_mean", "chance_agreement_mean"]].rename(
        columns={"agreement_mean": "agreement", "chance_agreement_mean": "chance_agreement"})
    return rows.merge(columns.assign(level=columns["level"].astype(str)), on=["noise", "level"], how="left")


def _with_selection(rows: pd.DataFrame, selection: pd.DataFrame | None) -> pd.DataFrame:
    """Each protocol's mean test accuracy, fitted K and RMSE (the Fig. 13 table) joined on (noise, level); NaN elsewhere."""
    columns = {f"{protocol}_{measure}": np.nan for protocol in PROTOCOLS for measure in PROTOCOL_MEASURES}
    if selection is None:
        return rows.assign(**columns)
    wide = selection.assign(level=selection["level"].astype(str)).pivot(
        index=["noise", "level"], columns="protocol", values=["test_acc_mean", "fitted_K", "rmse"])
    wide.columns = [f"{protocol}_{'acc_mean' if measure == 'test_acc_mean' else measure}" for measure, protocol in wide.columns]
    merged = rows.merge(wide.reset_index(), on=["noise", "level"], how="left")
    return merged.assign(**{column: np.nan for column in columns if column not in merged})


def _scaling_rows(scaling: pd.DataFrame) -> pd.DataFrame:
    """Summary rows of the smaller training-set fractions of Fig. 11 (random noise at ``scaling.level``)."""
    smaller = scaling[scaling["train_fraction"] < 1.0]
    return pd.DataFrame({
        "dataset": smaller["dataset"], "noise": "random", "level": smaller["level"].astype(str),
        "train_fraction": smaller["train_fraction"], "nominal_gamma": smaller["nominal_gamma"],
        "realised_gamma_mean": smaller["realised_gamma_mean"], "test_acc_mean": smaller["cnn_acc_mean"],
        "test_acc_std": smaller["cnn_acc_std"], "n_seeds": smaller["n_seeds"], "fitted_K": smaller["fitted_K"].astype(float),
        "paper_claim": "fewer training samples (Fig. 11)",
    })


def _accuracy_text(tables) -> str:
    """'noise level: mean test accuracy' of training tables, one item per level."""
    rows = load_train_tables(tables)
    means = rows.groupby(["noise", "level"], sort=False).agg(acc=("test_acc", "mean"), gamma=("realised_gamma", "mean"))
    return "; ".join(f"{noise} {level} (realised {row.gamma:.2f}): {row.acc:.3f}" for (noise, level), row in means.iterrows())


def measured_labels(figure: str, inputs) -> dict[str, str]:
    """Report labels with this run's numbers behind ``figure``, read from the figure job's inputs.

    ``inputs`` maps input names to paths (a Snakemake input namelist works):
    training tables (names ending in ``table`` or ``tables``), the K fit of
    the comparison figures (``fit``) and the Appendix A summary (``summary``).
    """
    keys = list(inputs.keys()) if hasattr(inputs, "keys") else []
    tables = []
    for key in keys:
        if key.endswith("table") or key.endswith("tables"):
            value = inputs[key]
            tables += [value] if isinstance(value, str) else list(value)
    labels = {"figure": figure}
    if tables:
        labels["CNN test accuracy (mean over seeds)"] = _accuracy_text(tables)
    if "summary" in keys:  # Appendix A summary (Figs. 8, 9)
        appendix = load_csv(inputs["summary"]).iloc[0]
        labels["median chi-square (paper 0.143)"] = f"{appendix['median_chi2']:.4f}"
        labels["median preferred K"] = f"{appendix['median_preferred_K']:g}"
        labels["share at the smallest K"] = f"{appendix['fraction_at_K_min']:.2f}"
    if "scaling" in keys:  # Fig. 11
        scaling = load_csv(inputs["scaling"], dtype={"level": str})
        labels["fitted K by training samples per class"] = "; ".join(
            f"{row.n_train_per_class:.0f}: K = {row.fitted_K}{' (grid top)' if row.K_at_grid_edge else ''}"
            for row in scaling.itertuples())
        labels[f"CNN at random {scaling['level'].iloc[0]}"] = "; ".join(
            f"{row.n_train_per_class:.0f}: {row.cnn_acc_mean:.3f}" for row in scaling.itertuples())
    if "agreement" in keys:  # Fig. 10
        per_k = agreement_over_seeds(pd.concat([load_csv(path, dtype={"level": str}) for path in inputs["agreement"]]))
        best = best_agreement_k(per_k)
        highest = best.loc[best.groupby("noise", sort=False)["nominal_gamma"].idxmax()]
        labels["agreement at the effective K, most noise (chance)"] = "; ".join(
            f"{row.noise} {row.level}: {row.agreement_mean:.2f} at K = {row.effective_K} ({row.chance_agreement_mean:.2f})"
            for row in highest.itertuples())
    if "flip_softmax" in keys:  # Fig. 13: each protocol at the highest random and flip level
        rows = load_train_tables(tables)
        highest = rows[rows["nominal_gamma"] == rows.groupby("noise")["nominal_gamma"].transform("max")]
        for noise, level_rows in highest.groupby("noise", sort=False):
            labels[f"{noise} {level_rows['level'].iloc[0]}: test accuracy by selection"] = "; ".join(
                f"{protocol} {level_rows[f'{protocol}_test_acc'].mean():.3f}" for protocol in PROTOCOLS
                if level_rows[f"{protocol}_test_acc"].notna().all())
    if "fit" in keys:
        k, rmse = best_fit(load_csv(inputs["fit"]))
        labels["fitted K (RMSE)"] = f"{k} ({rmse:.3f})"
    return labels
