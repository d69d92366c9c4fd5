"""The training tables: one row per seed (``training_table``), and their summary over seeds.

The paper reports, for every noise level, the mean and standard deviation of
the test accuracy over independent trainings (10 seeds for MNIST, 7 for
CIFAR-10; Figs. 4-7).  ``aggregate_over_seeds`` produces exactly that summary,
one row per (dataset, noise type, level), from the training table in which the
pipeline records one row per seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labelnoise.io import ResultFileError, load_csv, rebuild_hint
from labelnoise.noise import realised_gamma
from labelnoise import noise_types
from labelnoise.selection import PROTOCOLS, SELECTION_MEASURES, TrainResult

#: The first columns of the per-level training tables results/{dataset}/train/{noise}/{level}.csv: val_acc ...
#: best_step are those of the reported protocol (``selection``); :func:`table_columns` adds
#: ``{protocol}_{step,val_acc,test_acc}`` of every registered protocol (NaN where one was not measured: noisy_val
#: without noisy validation labels).
TABLE_COLUMNS = [
    "dataset", "noise", "level", "seed_index", "seed", "nominal_gamma", "corrupted_fraction",
    "realised_gamma", "val_acc", "test_acc", "best_epoch", "epochs_run", "best_step", "steps_run", "wall_s",
    "selection",
]


def table_columns() -> list[str]:
    """The training table's columns: :data:`TABLE_COLUMNS`, then each registered protocol's measures."""
    return TABLE_COLUMNS + [f"{protocol}_{measure}" for protocol in PROTOCOLS for measure in SELECTION_MEASURES]


def training_table(results: list[TrainResult], seeds: list[int], noisy_labels: np.ndarray, corrupted: np.ndarray,
                   clean_labels: np.ndarray, coordinates: dict, selection: str) -> pd.DataFrame:
    """One row per seed of one (dataset, noise type, level), columns :func:`table_columns`.

    ``coordinates`` holds dataset, noise, level and nominal_gamma; ``noisy_labels``
    and ``corrupted`` (seeds x N_train) the labels each seed trained on and which
    of them were re-drawn; ``selection`` the protocol ``results`` report.
    """
    rows = []
    per_seed = zip(seeds, noisy_labels, corrupted, results, strict=True)
    for seed_index, (seed, labels, mask, result) in enumerate(per_seed):
        rows.append({
            **coordinates,
            "seed_index": seed_index,
            "seed": seed,
            "corrupted_fraction": float(np.mean(mask)),
            "realised_gamma": realised_gamma(labels, clean_labels),
            "val_acc": result.val_acc,
            "test_acc": result.test_acc,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_step": result.best_step,
            "steps_run": result.steps_run,
            "wall_s": result.wall_s,
            "selection": selection,
            **{f"{protocol}_{measure}": result.selections.get(protocol, {}).get(measure, np.nan)
               for protocol in PROTOCOLS for measure in SELECTION_MEASURES},
        })
    return pd.DataFrame(rows)[table_columns()]


#: Columns of the aggregated table, in order.
AGGREGATED_COLUMNS: tuple[str, ...] = (
    "dataset",
    "noise",
    "level",
    "nominal_gamma",
    "corrupted_fraction_mean",
    "realised_gamma_mean",
    "test_acc_mean",
    "test_acc_std",
    "val_acc_mean",
    "n_seeds",
)

_GROUP_KEYS = ["dataset", "noise", "level"]


def _counts_clusters(noise: str) -> bool:
    """Whether ``noise``'s level is a cluster count k (labelnoise.noise_types), not a share of labels."""
    return noise in noise_types.BY_NAME and noise_types.get(noise).level == "k"


def noise_rank(noise: str) -> int:
    """Position of ``noise`` in the registry's order (unknown types rank after all known ones)."""
    order = noise_types.names()
    return order.index(noise) if noise in order else len(order)


def sample_std(values) -> float:
    """Standard deviation over seeds with ddof=1 (the sample std); NaN over a single seed, which has no spread to show."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def mean_and_std_over_seeds(table: pd.DataFrame, keys, measured, first=()) -> pd.DataFrame:
    """The project's one seed aggregation: a row per ``keys`` group, in order of appearance.

    Each ``measured`` column gives ``<column>_mean`` and ``<column>_std``
    (:func:`sample_std`), each ``first`` column its first value (one per
    group by construction), and ``n_seeds`` counts the rows of the group.
    """
    columns = {column: (column, "first") for column in first}
    for column in measured:
        columns[f"{column}_mean"] = (column, "mean")
        columns[f"{column}_std"] = (column, sample_std)
    grouped = table.groupby(list(keys), sort=False, dropna=False)
    summary = grouped.agg(**columns, n_seeds=(list(measured)[0], "size")).reset_index()
    summary["n_seeds"] = summary["n_seeds"].astype(int)
    return summary


def aggregate_over_seeds(train: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds, one row per (dataset, noise, level).

    This is the quantity plotted as "mean and standard deviation of the
    accuracy" in Figs. 4-7 of the paper (:func:`mean_and_std_over_seeds`;
    ``test_acc_std`` is the sample std, NaN when a level has a single seed).

    Rows are sorted by dataset, then noise type in the registry's order, then increasing
    noise: ``nominal_gamma`` for the gamma-parameterised noises and
    ``corrupted_fraction_mean`` for those whose level is a number of clusters k
    (concentrated noise: a larger k means *less* noise).

    The table is the workflow's (:func:`load_train_tables`): one row per trained seed of each level.
    """
    summary = mean_and_std_over_seeds(
        train, _GROUP_KEYS, ["corrupted_fraction", "realised_gamma", "test_acc", "val_acc"], first=["nominal_gamma"]
    )
    summary["test_acc_std"] = summary["test_acc_std"].astype(float)

    # Increasing noise: nominal gamma, except for concentrated noise whose level
    # (k clusters) only sets gamma approximately; there the measured fraction counts.
    noise_amount = summary["nominal_gamma"].where(
        ~summary["noise"].map(_counts_clusters), summary["corrupted_fraction_mean"]
    )
    summary = (
        summary.assign(
            _noise_rank=summary["noise"].map(noise_rank),
            _noise_amount=noise_amount,
        )
        .sort_values(["dataset", "_noise_rank", "noise", "_noise_amount", "level"], kind="mergesort")
        .drop(columns=["_noise_rank", "_noise_amount"])
        .reset_index(drop=True)
    )
    return summary[list(AGGREGATED_COLUMNS)]


def load_train_tables(paths) -> pd.DataFrame:
    """Concatenate per-level training tables, keeping level names as text ('0.50').

    A table at ``.../{dataset}/train/{noise}/{level}.csv`` must hold that
    dataset, noise and level (not another level's rows copied into place).
    """
    frames = []
    for path in map(Path, paths):
        frame = load_csv(path, dtype={"level": str, "dataset": str, "noise": str})
        missing = [column for column in table_columns() if column not in frame.columns]
        if missing:
            raise ResultFileError(f"{path} lacks the columns {missing}; {rebuild_hint(path)}")
        if path.parent.parent.name == "train":
            expected = (path.parent.parent.parent.name, path.parent.name, path.stem)
            found = sorted(set(frame[["dataset", "noise", "level"]].itertuples(index=False, name=None)))
            if found != [expected]:
                raise ResultFileError(f"{path} holds the rows of {found}, not of {expected}; {rebuild_hint(path)}")
        frames.append(frame)
    if not frames:
        raise ValueError("no training tables given")
    return pd.concat(frames, ignore_index=True)[table_columns()]
