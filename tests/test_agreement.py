"""CNN vs K-NN agreement (Section 4.1): K-NN over a K grid, agreement and its chance baselines,
errors in common, the effective K, and the nested training subsets of the training-set-size study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelnoise import agreement as ag
from labelnoise import knn
from labelnoise.data import nested_subsets
from labelnoise.noise import random_noise, realised_gamma


def reference_plurality_vote(neighbour_labels, n_labels, tie="random", rng=None):
    """knn.plurality_vote as it was before the vote moved into knn.vote_from_counts."""
    counts = knn.label_counts(neighbour_labels, n_labels)
    is_top = counts == counts.max(axis=1, keepdims=True)
    n_top = is_top.sum(axis=1)
    prediction = np.argmax(counts, axis=1)
    tied = np.flatnonzero(n_top > 1)
    if tie == "strict":
        prediction[tied] = knn.NO_DECISION
    elif len(tied):
        pick = (rng.random(len(tied)) * n_top[tied]).astype(np.int64)
        rank = np.cumsum(is_top[tied], axis=1) - 1
        prediction[tied] = np.argmax(is_top[tied] & (rank == pick[:, None]), axis=1)
    return prediction


def test_plurality_vote_is_unchanged_bit_for_bit():
    rng = np.random.default_rng(0)
    for trial in range(20):
        votes = rng.integers(0, 4, size=(300, int(rng.integers(1, 9))))
        assert np.array_equal(knn.plurality_vote(votes, 4, "strict"), reference_plurality_vote(votes, 4, "strict"))
        new, old = np.random.default_rng(trial), np.random.default_rng(trial)
        assert np.array_equal(knn.plurality_vote(votes, 4, "random", new), reference_plurality_vote(votes, 4, "random", old))
        assert new.random() == old.random()  # the same draws were consumed


# Hand-made: 8 training samples, 3 test samples with ties at several K.
TRAIN_LABELS = np.array([0, 1, 2, 0, 1, 2, 1, 0])
NEIGHBOURS = np.array([
    [0, 1, 3, 4, 6, 2],  # labels 0 1 0 1 1 2: K=2 tie {0,1}, K=4 tie {0,1}, K=5 -> 1, K=6 -> 1
    [2, 5, 0, 1, 7, 3],  # labels 2 2 0 1 0 0: K<=4 -> 2, K=5 tie {0,2}, K=6 -> 0
    [1, 0, 2, 3, 4, 5],  # labels 1 0 2 0 1 2: K=3 three-way tie, K=6 three-way tie
])


@pytest.mark.parametrize("k_values", [[1, 2, 3, 4, 5, 6], [2, 4, 6], [3, 5]])
def test_predictions_over_k_equal_plurality_vote_per_k(k_values):
    strict = ag.knn_predictions_over_k(NEIGHBOURS, TRAIN_LABELS, 3, k_values, "strict")
    expected = {1: [0, 2, 1], 2: [-1, 2, -1], 3: [0, 2, -1], 4: [-1, 2, 0], 5: [1, -1, -1], 6: [1, 0, -1]}
    assert strict.tolist() == [expected[k] for k in k_values]
    for seed in range(30):
        over_k, per_k = np.random.default_rng(seed), np.random.default_rng(seed)
        together = ag.knn_predictions_over_k(NEIGHBOURS, TRAIN_LABELS, 3, k_values, "random", over_k)
        one_by_one = [knn.plurality_vote(TRAIN_LABELS[NEIGHBOURS[:, :k]], 3, "random", per_k) for k in k_values]
        assert np.array_equal(together, np.stack(one_by_one))
        assert over_k.random() == per_k.random()


def test_predictions_over_k_equal_plurality_vote_on_random_neighbourhoods():
    rng = np.random.default_rng(1)
    train_labels = rng.integers(0, 3, size=200)
    neighbours = rng.integers(0, 200, size=(500, 40))
    k_values = [1, 2, 4, 6, 9, 10, 17, 24, 40]
    for tie in knn.TIE_POLICIES:
        over_k, per_k = np.random.default_rng(2), np.random.default_rng(2)
        together = ag.knn_predictions_over_k(neighbours, train_labels, 3, k_values, tie, over_k)
        for row, k in enumerate(k_values):
            assert np.array_equal(together[row], knn.plurality_vote(train_labels[neighbours[:, :k]], 3, tie, per_k))
    assert (together[1] != ag.knn_predictions_over_k(neighbours, train_labels, 3, k_values, "strict")[1]).any()


def test_predictions_over_k_errors():
    with pytest.raises(ValueError, match="strictly increasing"):
        ag.knn_predictions_over_k(NEIGHBOURS, TRAIN_LABELS, 3, [3, 2], "strict")
    with pytest.raises(ValueError, match="positive integers"):
        ag.knn_predictions_over_k(NEIGHBOURS, TRAIN_LABELS, 3, [0, 2], "strict")
    with pytest.raises(ValueError, match="K = 7 exceeds the 6 neighbours"):
        ag.knn_predictions_over_k(NEIGHBOURS, TRAIN_LABELS, 3, [1, 7], "strict")
    with pytest.raises(ValueError, match="tie must be one of"):
        ag.knn_predictions_over_k(NEIGHBOURS, TRAIN_LABELS, 3, [2], "coin")


def test_agreement_equals_a_loop_count():
    rng = np.random.default_rng(3)
    cnn = rng.integers(0, 4, size=1000)
    knn_pred = np.where(rng.random(1000) < 0.1, knn.NO_DECISION, rng.integers(0, 4, size=1000))
    knn_pred[:50] = cnn[:50]
    count = 0
    for a, b in zip(cnn.tolist(), knn_pred.tolist()):
        count += a == b and b != knn.NO_DECISION
    assert ag.agreement(cnn, knn_pred) == count / 1000
    assert ag.agreement(np.array([0, 1]), np.array([knn.NO_DECISION, 1])) == 0.5


def independent_classifier(true_labels, accuracy, n_labels, rng, wrong_offsets=None):
    """Right with probability ``accuracy``; when wrong, true + offset mod L, offset uniform over 1..L-1 unless given."""
    right = rng.random(len(true_labels)) < accuracy
    if wrong_offsets is None:
        wrong_offsets = rng.integers(1, n_labels, size=len(true_labels))
    return np.where(right, true_labels, (true_labels + wrong_offsets) % n_labels)


def test_chance_agreement_matches_independent_classifiers():
    n_samples, n_labels, acc_a, acc_b = 200_000, 5, 0.7, 0.4
    rng = np.random.default_rng(4)
    true_labels = rng.integers(0, n_labels, size=n_samples)
    pred_a = independent_classifier(true_labels, acc_a, n_labels, rng)
    pred_b = independent_classifier(true_labels, acc_b, n_labels, rng)
    expected = ag.chance_agreement(acc_a, acc_b, n_labels)
    assert expected == pytest.approx(0.7 * 0.4 + 0.3 * 0.6 / 4)
    standard_error = np.sqrt(expected * (1 - expected) / n_samples)
    assert abs(ag.agreement(pred_a, pred_b) - expected) < 4 * standard_error
    assert abs(ag.chance_agreement_from_predictions(pred_a, pred_b, true_labels) - expected) < 4 * standard_error
    # Errors that all go to one label (flip-like) agree more by chance; only the empirical baseline sees it.
    flip_a = independent_classifier(true_labels, acc_a, n_labels, rng, wrong_offsets=1)
    flip_b = independent_classifier(true_labels, acc_b, n_labels, rng, wrong_offsets=1)
    flip_expected = acc_a * acc_b + (1 - acc_a) * (1 - acc_b)
    assert abs(ag.agreement(flip_a, flip_b) - flip_expected) < 4 * standard_error
    assert abs(ag.chance_agreement_from_predictions(flip_a, flip_b, true_labels) - flip_expected) < 4 * standard_error
    assert ag.chance_agreement(acc_a, acc_b, n_labels) < flip_expected - 10 * standard_error


def test_chance_agreement_values():
    assert ag.chance_agreement(1.0, 0.3, 10) == pytest.approx(0.3)
    assert ag.chance_agreement(0.0, 0.0, 2) == 1.0  # two always-wrong binary classifiers always agree
    assert np.allclose(ag.chance_agreement(np.array([0.5, 1.0]), 0.5, 3), [0.25 + 0.125, 0.5])


def test_chance_agreement_from_predictions_exact_cases():
    # Class 0 (4 samples): a always right, b right 3 of 4 -> 1 * 3/4.
    # Class 1 (2 samples): a says 1 and 2, b says 2 and no decision -> 1/2 * 1/2.
    true_labels = np.array([0, 0, 0, 0, 1, 1])
    pred_a = np.array([0, 0, 0, 0, 1, 2])
    pred_b = np.array([0, 0, 0, 1, 2, knn.NO_DECISION])
    assert ag.chance_agreement_from_predictions(pred_a, pred_b, true_labels) == pytest.approx(4 / 6 * 3 / 4 + 2 / 6 * 1 / 4)
    # Every class: a right 4 of 6 and each wrong label once, b right 2 of 6 and each wrong label twice.
    # That is the uniform-error assumption exactly, so the two baselines coincide: 2/3 * 1/3 + 1/3 * 2/3 / 2.
    n_labels = 3
    true_labels = np.repeat(np.arange(n_labels), 6)
    offsets_a, offsets_b = np.array([0, 0, 0, 0, 1, 2]), np.array([0, 0, 1, 1, 2, 2])
    pred_a = (true_labels + np.tile(offsets_a, n_labels)) % n_labels
    pred_b = (true_labels + np.tile(offsets_b, n_labels)) % n_labels
    assert ag.chance_agreement_from_predictions(pred_a, pred_b, true_labels) == pytest.approx(1 / 3)
    assert ag.chance_agreement(2 / 3, 1 / 3, n_labels) == pytest.approx(1 / 3)


def test_error_agreement_hand_made():
    true_labels = np.array([0, 1, 2, 3, 0, 1])
    cnn = np.array([1, 1, 0, 2, 3, 1])  # wrong on samples 0, 2, 3, 4
    knn_pred = np.array([1, 0, 2, knn.NO_DECISION, 2, 1])  # on those: same wrong, right, no decision, other wrong
    assert ag.error_agreement(cnn, knn_pred, true_labels) == (0.75, 0.25)
    nothing_wrong = ag.error_agreement(true_labels, knn_pred, true_labels)
    assert np.isnan(nothing_wrong).all()


def table_inputs():
    rng = np.random.default_rng(5)
    train_labels = rng.integers(0, 3, size=120)
    noisy = random_noise(train_labels, 0.4, 3, rng).labels
    neighbours = rng.integers(0, 120, size=(60, 9))
    test_labels = rng.integers(0, 3, size=60)
    softmax = rng.dirichlet(np.ones(3), size=60)
    return softmax, test_labels, neighbours, noisy


def test_agreement_table_rows_agree_with_the_parts():
    softmax, test_labels, neighbours, noisy = table_inputs()
    k_values = [1, 3, 5, 9]
    table = ag.agreement_table(softmax, test_labels, neighbours, noisy, 3, k_values, "random", np.random.default_rng(0),
                               dataset="toy", noise="random", level="0.40", nominal_gamma=0.4, seed_index=2)
    assert list(table.columns) == ag.AGREEMENT_COLUMNS and table["K"].tolist() == k_values
    cnn = softmax.argmax(axis=1)
    knn_by_k = ag.knn_predictions_over_k(neighbours, noisy, 3, k_values, "random", np.random.default_rng(0))
    for row, knn_pred in zip(table.itertuples(), knn_by_k):
        assert row.cnn_accuracy == np.mean(cnn == test_labels) and row.knn_accuracy == np.mean(knn_pred == test_labels)
        assert row.agreement == ag.agreement(cnn, knn_pred)
        assert row.chance_agreement == ag.chance_agreement_from_predictions(cnn, knn_pred, test_labels)
        assert row.chance_agreement_uniform == pytest.approx(ag.chance_agreement(row.cnn_accuracy, row.knn_accuracy, 3))
        assert (row.both_wrong, row.same_wrong_label) == ag.error_agreement(cnn, knn_pred, test_labels)
    same = ag.agreement_table(cnn, test_labels, neighbours, noisy, 3, k_values, "random", np.random.default_rng(0),
                              dataset="toy", noise="random", level="0.40", nominal_gamma=0.4, seed_index=2)
    pd.testing.assert_frame_equal(table, same)  # predicted labels give what their softmax gives
    with pytest.raises(ValueError, match=r"test labels must have shape \(59,\)"):
        ag.agreement_table(cnn[:-1], test_labels, neighbours, noisy, 3, k_values, "strict", None,
                           dataset="toy", noise="random", level="0.40", nominal_gamma=0.4, seed_index=0)


def test_best_agreement_k_takes_the_seed_mean_and_the_smallest_k_on_ties():
    rows = []
    for level, by_k in (("0.20", {1: [0.8, 0.6], 5: [0.7, 0.9], 9: [0.75, 0.75]}),  # means 0.7, 0.8, 0.75
                        ("0.60", {1: [0.5, 0.5], 5: [0.6, 0.4], 9: [0.4, 0.6]})):  # 0.5 everywhere: K = 1
        for k, values in by_k.items():
            for seed_index, value in enumerate(values):
                rows.append(dict(dataset="toy", noise="random", level=level, nominal_gamma=float(level),
                                 seed_index=seed_index, K=k, agreement=value,
                                 **{column: 0.3 for column in ag.MEASURED_COLUMNS if column != "agreement"}))
    per_k = ag.agreement_over_seeds(pd.DataFrame(rows))
    assert len(per_k) == 6 and (per_k["n_seeds"] == 2).all()
    best = ag.best_agreement_k(per_k)
    assert best["level"].tolist() == ["0.20", "0.60"] and best["effective_K"].tolist() == [5, 1]
    assert best["agreement_mean"].tolist() == pytest.approx([0.8, 0.5])
    assert best["agreement_std"].iloc[0] == pytest.approx(np.std([0.7, 0.9], ddof=1))
    # each seed's own effective K: level 0.20 seeds pick K = 1 (0.8) and K = 5 (0.9); level 0.60: K = 5 and K = 9 (0.6)
    table = ag.effective_k_table(per_k, {"random": 5}, pd.DataFrame(rows))
    assert table["effective_K_seed_min"].tolist() == [1, 5] and table["effective_K_seed_max"].tolist() == [5, 9]
    assert ag.effective_k_table(per_k, {"random": 5})["effective_K_seed_min"].isna().all()


# ---------------------------------------------------------------------------
# Nested training subsets (effective K vs training-set size)
# ---------------------------------------------------------------------------

FRACTIONS = [0.01, 0.1, 0.25, 0.5, 1.0]


def test_nested_subsets_are_nested_stratified_and_complete():
    labels = np.repeat(np.arange(4), [100, 37, 250, 3])
    np.random.default_rng(6).shuffle(labels)
    subsets = nested_subsets(labels, FRACTIONS, np.random.default_rng(7))
    assert list(subsets) == FRACTIONS
    for smaller, larger in zip(FRACTIONS, FRACTIONS[1:]):
        assert np.isin(subsets[smaller], subsets[larger]).all()
    for fraction, subset in subsets.items():
        assert np.array_equal(subset, np.unique(subset))  # sorted, no repeats
        expected = [max(1, int(round(fraction * n))) for n in (100, 37, 250, 3)]
        assert np.bincount(labels[subset], minlength=4).tolist() == expected
    assert np.array_equal(subsets[1.0], np.arange(len(labels)))
    again = nested_subsets(labels, FRACTIONS, np.random.default_rng(7))
    assert all(np.array_equal(again[f], subsets[f]) for f in FRACTIONS)
    other = nested_subsets(labels, FRACTIONS, np.random.default_rng(8))
    assert not np.array_equal(other[0.5], subsets[0.5])


def test_subsets_keep_the_full_sets_noisy_labels():
    rng = np.random.default_rng(9)
    clean = rng.integers(0, 10, size=2000)
    noisy = random_noise(clean, 0.5, 10, rng).labels
    subsets = nested_subsets(clean, [0.05, 1.0], rng)
    small = subsets[0.05]
    assert realised_gamma(noisy, clean) == np.mean(noisy != clean)
    assert realised_gamma(noisy[small], clean[small]) != realised_gamma(noisy, clean)  # the subset's own share


@pytest.mark.parametrize("fractions", [[], [0.0, 0.5], [0.5, 1.5], [0.5, 0.1], [0.1, 0.1, 1.0]])
def test_nested_subsets_reject_bad_fractions(fractions):
    with pytest.raises(ValueError, match=r"non-empty, strictly increasing list in \(0, 1\]"):
        nested_subsets(np.arange(10) % 2, fractions, np.random.default_rng(0))
