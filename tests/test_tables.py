"""aggregate_over_seeds: the mean +- std over seeds plotted in Figs. 4-7."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelnoise.tables import AGGREGATED_COLUMNS, aggregate_over_seeds


def _row(noise, level, seed_index, gamma, corrupted, realised, test_acc, val_acc, dataset="mnist5k"):
    return dict(
        dataset=dataset, noise=noise, level=level, seed_index=seed_index, seed=1000 + seed_index,
        nominal_gamma=gamma, corrupted_fraction=corrupted, realised_gamma=realised,
        val_acc=val_acc, test_acc=test_acc, best_epoch=3, epochs_run=8, best_step=30, steps_run=80, wall_s=1.5,
    )


@pytest.fixture
def hand_made_train() -> pd.DataFrame:
    rows = [
        # concentrated: level is k; k=2 is the *most* noise, so it must sort last.
        _row("concentrated", "2", 0, 0.5, 0.48, 0.48, 0.50, 0.52),
        _row("concentrated", "10", 0, 0.1, 0.11, 0.11, 0.88, 0.90),
        _row("concentrated", "10", 1, 0.1, 0.09, 0.09, 0.90, 0.92),
        _row("concentrated", "5", 0, 0.2, 0.21, 0.21, 0.78, 0.80),
        # random, listed out of order
        _row("random", "0.50", 0, 0.5, 0.5, 0.45, 0.96, 0.97),
        _row("random", "0.50", 1, 0.5, 0.5, 0.44, 0.98, 0.97),
        _row("random", "0.50", 2, 0.5, 0.5, 0.46, 0.97, 0.99),
        _row("random", "0.00", 0, 0.0, 0.0, 0.0, 0.99, 0.99),
        _row("random", "0.00", 1, 0.0, 0.0, 0.0, 0.97, 0.98),
        # flip
        _row("flip", "0.60", 0, 0.6, 0.6, 0.6, 0.10, 0.11),
        _row("flip", "0.20", 0, 0.2, 0.2, 0.2, 0.95, 0.96),
    ]
    return pd.DataFrame(rows)


def test_exact_means_stds_and_counts(hand_made_train):
    summary = aggregate_over_seeds(hand_made_train)
    assert list(summary.columns) == list(AGGREGATED_COLUMNS)
    assert len(summary) == 7

    random_half = summary[(summary["noise"] == "random") & (summary["level"] == "0.50")].iloc[0]
    assert random_half["n_seeds"] == 3
    assert random_half["test_acc_mean"] == pytest.approx(0.97)
    # sample std (ddof=1) of 0.96, 0.98, 0.97 is exactly 0.01 (ddof=0 would give 0.00816)
    assert random_half["test_acc_std"] == pytest.approx(0.01)
    assert random_half["val_acc_mean"] == pytest.approx((0.97 + 0.97 + 0.99) / 3)
    assert random_half["realised_gamma_mean"] == pytest.approx(0.45)
    assert random_half["corrupted_fraction_mean"] == pytest.approx(0.5)
    assert random_half["nominal_gamma"] == pytest.approx(0.5)

    random_zero = summary[(summary["noise"] == "random") & (summary["level"] == "0.00")].iloc[0]
    assert random_zero["test_acc_std"] == pytest.approx(np.std([0.99, 0.97], ddof=1))

    k10 = summary[(summary["noise"] == "concentrated") & (summary["level"] == "10")].iloc[0]
    assert k10["n_seeds"] == 2
    assert k10["corrupted_fraction_mean"] == pytest.approx(0.10)
    assert k10["test_acc_mean"] == pytest.approx(0.89)


def test_single_seed_has_no_std(hand_made_train):
    """One seed has no spread to show: NaN, not a misleading 0.0."""
    summary = aggregate_over_seeds(hand_made_train)
    single = summary[summary["n_seeds"] == 1]
    assert len(single) == 4
    assert single["test_acc_std"].isna().all()
    assert summary.loc[summary["n_seeds"] > 1, "test_acc_std"].notna().all()


def test_sort_order_is_noise_type_then_increasing_noise(hand_made_train):
    summary = aggregate_over_seeds(hand_made_train.sample(frac=1.0, random_state=3))
    assert list(zip(summary["noise"], summary["level"])) == [
        ("random", "0.00"),
        ("random", "0.50"),
        ("flip", "0.20"),
        ("flip", "0.60"),
        ("concentrated", "10"),  # corrupted fraction 0.10
        ("concentrated", "5"),  # 0.21
        ("concentrated", "2"),  # 0.48
    ]


def test_datasets_are_kept_apart(hand_made_train):
    other = hand_made_train.assign(dataset="digits", test_acc=0.5)
    summary = aggregate_over_seeds(pd.concat([hand_made_train, other], ignore_index=True))
    assert len(summary) == 14
    assert (summary.loc[summary["dataset"] == "digits", "test_acc_mean"] == 0.5).all()
    assert summary["n_seeds"].sum() == 2 * len(hand_made_train)


