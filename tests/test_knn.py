"""The K-NN baseline: exact neighbour search, plurality vote with tie policies,
and a check of Eq. 3 against a real K-NN classifier under random and flip noise."""

from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from labelnoise import knn  # noqa: E402
from labelnoise.plots.fig4 import plot_fig4_noise_types  # noqa: E402
from labelnoise.plots.fig5_6_7 import plot_fig5_6_7_analytic_comparison  # noqa: E402
from labelnoise.analytic import plurality_probability, random_noise_probabilities  # noqa: E402
from labelnoise.noise import flip_noise, flip_permutation, random_noise  # noqa: E402


def brute_force_neighbours(reference, queries, k):
    distances = ((queries[:, None, :] - reference[None, :, :]) ** 2).sum(-1)
    return np.stack([np.lexsort((np.arange(len(reference)), row))[:k] for row in distances])


def brute_force_knn_accuracy(reference, ref_labels, queries, query_labels, k, n_labels):
    """Strict ties: the plurality must be unique, else the answer counts as wrong."""
    correct = 0
    for query, label in zip(queries, query_labels):
        order = np.argsort(((reference - query) ** 2).sum(1), kind="stable")[:k]
        votes = Counter(ref_labels[order].tolist()).most_common()
        unique_top = len(votes) == 1 or votes[0][1] > votes[1][1]
        correct += unique_top and votes[0][0] == label
    return correct / len(queries)


def clusters(n_per_class, n_labels, rng, spread=0.3, dim=5):
    centres = rng.normal(scale=10.0, size=(n_labels, dim))
    labels = np.repeat(np.arange(n_labels), n_per_class)
    return centres[labels] + rng.normal(scale=spread, size=(len(labels), dim)), labels


def test_neighbour_search_equals_brute_force_across_chunks():
    rng = np.random.default_rng(0)
    reference, queries = rng.normal(size=(300, 8)), rng.normal(size=(57, 8))
    expected = brute_force_neighbours(reference, queries, 25)
    for chunk_elements in (1, 300 * 7, knn.DEFAULT_CHUNK_ELEMENTS):  # one row, 7 rows, all rows per chunk
        assert np.array_equal(knn.nearest_neighbours(reference, queries, 25, chunk_elements), expected)
    everything = knn.nearest_neighbours(reference, queries, 300)  # K = N: a full ranking
    assert np.array_equal(everything, brute_force_neighbours(reference, queries, 300))


def test_neighbour_search_errors():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="K = 21 exceeds the 20 training samples"):
        knn.nearest_neighbours(reference, reference, 21)
    with pytest.raises(ValueError, match="positive integer"):
        knn.nearest_neighbours(reference, reference, 0)


def test_knn_accuracy_equals_brute_force_with_noisy_labels():
    rng = np.random.default_rng(2)
    reference, labels = clusters(60, 4, rng, spread=4.0)  # overlapping clusters: errors happen
    noisy = random_noise(labels, 0.5, 4, rng).labels
    queries, query_labels = clusters(30, 4, np.random.default_rng(3), spread=4.0)
    for k in (1, 4, 9):
        neighbours = knn.nearest_neighbours(reference, queries, k)
        fast = knn.knn_accuracy(neighbours, noisy, query_labels, 4, tie="strict")
        assert fast == pytest.approx(brute_force_knn_accuracy(reference, noisy, queries, query_labels, k, 4))
    assert 0.2 < fast < 1.0


def test_clean_labels_on_separable_clusters_give_accuracy_one():
    rng = np.random.default_rng(4)
    reference, labels = clusters(50, 6, rng)
    queries, query_labels = clusters(20, 6, np.random.default_rng(4))  # same centres, new points
    queries = queries + rng.normal(scale=0.3, size=queries.shape)
    neighbours = knn.nearest_neighbours(reference, queries, 11)
    for tie in knn.TIE_POLICIES:
        assert knn.knn_accuracy(neighbours, labels, query_labels, 6, tie, np.random.default_rng(0)) == 1.0


def test_tie_policies():
    votes = np.array([[0, 0, 1, 1, 2], [2, 2, 2, 0, 1], [3, 1, 3, 1, 0]])
    strict = knn.plurality_vote(votes, 4, tie="strict")
    assert strict.tolist() == [knn.NO_DECISION, 2, knn.NO_DECISION]
    # random: only tied top labels, each about equally often, reproducible from the generator
    draws = np.array([knn.plurality_vote(votes, 4, "random", np.random.default_rng(seed)) for seed in range(2000)])
    assert set(draws[:, 0]) == {0, 1} and set(draws[:, 2]) == {1, 3} and (draws[:, 1] == 2).all()
    assert abs(np.mean(draws[:, 0] == 0) - 0.5) < 0.05 and abs(np.mean(draws[:, 2] == 1) - 0.5) < 0.05
    again = knn.plurality_vote(votes, 4, "random", np.random.default_rng(7))
    assert np.array_equal(again, knn.plurality_vote(votes, 4, "random", np.random.default_rng(7)))
    with pytest.raises(ValueError, match="tie must be one of"):
        knn.plurality_vote(votes, 4, "coin")
    # A three-way tie under random breaking: each tied label a third of the time.
    three = np.array([[0, 1, 2]])
    picks = [knn.plurality_vote(three, 3, "random", np.random.default_rng(s))[0] for s in range(3000)]
    assert max(abs(np.mean(np.array(picks) == label) - 1 / 3) for label in range(3)) < 0.04


def isolated_groups(n_groups, k, n_labels, rng):
    """Perfectly separable data whose test samples have disjoint K-neighbourhoods.

    Every group is K training points around a centre far from all others, with
    one clean label; its test sample sits at the centre.  So each test sample's
    K nearest neighbours are exactly its group: the neighbour labels of
    different test samples are independent, and the test accuracy is a
    binomial proportion around Eq. 3's Q.
    """
    side = int(np.ceil(np.sqrt(n_groups)))
    centres = 100.0 * np.stack(np.divmod(np.arange(n_groups), side), axis=1).astype(float)
    group_labels = rng.integers(0, n_labels, size=n_groups)
    train = np.repeat(centres, k, axis=0) + rng.uniform(-1, 1, size=(n_groups * k, 2))
    return train, np.repeat(group_labels, k), centres, group_labels


@pytest.mark.parametrize("tie", knn.TIE_POLICIES)
@pytest.mark.parametrize("noise, gamma", [("random", 0.7), ("flip", 0.4)])
def test_empirical_knn_accuracy_matches_eq3(noise, gamma, tie):
    n_groups, k, n_labels = 4000, 7, 4
    rng = np.random.default_rng(11)
    train, train_labels, test, test_labels = isolated_groups(n_groups, k, n_labels, rng)
    neighbours = knn.nearest_neighbours(train, test, k)
    assert np.array_equal(np.sort(neighbours, axis=1), np.arange(n_groups * k).reshape(n_groups, k))
    if noise == "random":
        noisy = random_noise(train_labels, gamma, n_labels, rng).labels
        q = random_noise_probabilities(gamma, n_labels)  # Eq. 8
    else:
        noisy = flip_noise(train_labels, gamma, flip_permutation(n_labels), rng).labels
        q = np.array([1 - gamma, gamma, 0.0, 0.0])
    expected = plurality_probability(q, k, 0, tie=tie)  # by symmetry the same for every true label
    accuracy = knn.knn_accuracy(neighbours, noisy, test_labels, n_labels, tie, np.random.default_rng(5))
    standard_error = np.sqrt(expected * (1 - expected) / n_groups)
    assert abs(accuracy - expected) < 4 * standard_error, (accuracy, expected, standard_error)


def test_knn_noise_table_rows_and_realised_gamma():
    rng = np.random.default_rng(6)
    train, labels = clusters(40, 3, rng)
    test, test_labels = clusters(10, 3, np.random.default_rng(6))
    neighbours = knn.nearest_neighbours(train, test, 5)
    noisy = np.stack([random_noise(labels, 0.5, 3, np.random.default_rng(s)).labels for s in range(3)])
    levels = [dict(level="0.00", nominal_gamma=0.0, noisy_labels=labels[None], clean_labels=labels),
              dict(level="0.50", nominal_gamma=0.5, noisy_labels=noisy, clean_labels=labels)]
    table = knn.knn_noise_table(neighbours, test_labels, 3, levels, "random",
                                lambda level, s: np.random.default_rng(s), dataset="toy", noise="random")
    assert list(table.columns) == knn.TABLE_COLUMNS and len(table) == 4
    assert table.loc[0, "accuracy"] == 1.0 and table.loc[0, "realised_gamma"] == 0.0
    assert np.allclose(table["realised_gamma"][1:], (noisy != labels).mean(axis=1))
    assert (table["K"] == 5).all() and table["accuracy"].between(0, 1).all()
    summary = knn.knn_summary(table)
    assert summary.loc[summary["level"] == "0.50", "accuracy_mean"].iloc[0] == pytest.approx(table["accuracy"][1:].mean())


def test_region_examples_pick_clean_and_flipped_neighbourhoods():
    fraction = np.array([0.0, 0.2, 1.0, 0.9, 0.0, 1.0])
    labels = np.array([1, 1, 1, 2, 2, 2])
    for seed in range(10):
        clean, noisy = knn.region_examples(fraction, labels, np.random.default_rng(seed))
        assert noisy in (2, 5) and fraction[clean] == 0.0 and labels[clean] == labels[noisy]
    neighbours = np.array([[0, 1], [1, 2]])
    assert knn.noisy_neighbour_fraction(neighbours, np.array([5, 1, 2]), np.array([0, 1, 3])).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="mostly corrupted"):
        knn.region_examples(np.array([0.1, 0.5]), np.array([0, 1]), np.random.default_rng(0))


# ---------------------------------------------------------------------------
# The K-NN curve in Figs. 4-7
# ---------------------------------------------------------------------------


def _train_and_knn():
    rows, knn_rows = [], []
    for noise, levels in (("random", [0.0, 0.4, 0.8]), ("flip", [0.2, 0.4]), ("concentrated", [5, 2]),
                          ("confusion", [0.2, 0.6])):
        for level in levels:
            gamma = 1 / level if noise == "concentrated" else level
            name = str(level) if noise == "concentrated" else f"{level:.2f}"
            for seed_index in range(2):
                rows.append(dict(dataset="toy", noise=noise, level=name, seed_index=seed_index, seed=seed_index,
                                 nominal_gamma=gamma, corrupted_fraction=gamma, realised_gamma=0.9 * gamma,
                                 val_acc=0.9, test_acc=1 - gamma / 2 - 0.01 * seed_index,
                                 best_epoch=1, epochs_run=2, best_step=10, steps_run=20, wall_s=1.0))
                knn_rows.append(dict(dataset="toy", noise=noise, level=name, nominal_gamma=gamma,
                                     realised_gamma=0.9 * gamma + 0.001 * seed_index, seed_index=seed_index, K=11,
                                     tie="random", accuracy=1 - gamma * (0.6 + 0.1 * seed_index)))
    return pd.DataFrame(rows), pd.DataFrame(knn_rows)


def _knn_line(ax):
    lines = [line for line in ax.get_lines() if line.get_gid() == "knn_baseline"]
    assert len(lines) == 1
    return lines[0]


def test_fig4_draws_the_knn_seed_means_in_every_panel():
    train, knn_table = _train_and_knn()
    fig = plot_fig4_noise_types(train, knn=knn_table)
    for ax, noise in zip(fig.axes, ("concentrated", "random", "flip")):
        rows = knn_table[knn_table["noise"] == noise].groupby("level").mean(numeric_only=True).sort_values("realised_gamma")
        x, y = _knn_line(ax).get_data()
        assert np.allclose(x, rows["realised_gamma"]) and np.allclose(y, rows["accuracy"])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:3] == ["locally concentrated noise", "random noise", "flip noise"]
    assert any("K-NN classifier" in text and "K = 11" in text for text in legend)
    without = plot_fig4_noise_types(train)  # the argument is optional
    assert not [line for ax in without.axes for line in ax.get_lines() if line.get_gid() == "knn_baseline"]


def test_comparison_panel_draws_the_knn_curve_against_gamma():
    train, knn_table = _train_and_knn()
    gamma = np.linspace(0, 1, 11)
    analytic = pd.DataFrame([dict(gamma=g, K=k, accuracy=1 - g ** k) for k in (1, 11) for g in gamma])
    fit = pd.DataFrame(dict(K=[1, 11], rmse=[0.2, 0.1], best=[False, True]))
    fig = plot_fig5_6_7_analytic_comparison(train[train["noise"] == "random"], analytic, fit, "toy", knn=knn_table)
    ax_experiment, ax_analytic, ax_comparison = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"][:3]
    x, y = _knn_line(ax_comparison).get_data()
    rows = knn_table[knn_table["noise"] == "random"].groupby("nominal_gamma")["accuracy"].mean()
    assert np.allclose(x, rows.index) and np.allclose(y, rows.to_numpy())
    assert not [line for line in ax_experiment.get_lines() if line.get_gid() == "knn_baseline"]
    assert any("K-NN classifier" in t.get_text() for t in fig.legends[0].get_texts())
