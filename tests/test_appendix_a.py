"""Appendix A: K-NN label histograms, the chi-square distance, the preferred K, Figs. 8 and 9."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from labelnoise.checks import check_k_list  # noqa: E402
from labelnoise import appendix_a as aa  # noqa: E402
from labelnoise.plots.common import KNN_HISTOGRAM_COLOUR, SOFTMAX_COLOUR  # noqa: E402
from labelnoise.plots.fig8_fig9 import plot_fig8_preferred_k, plot_fig9_softmax_knn_pairs  # noqa: E402
from labelnoise.knn import nearest_neighbours  # noqa: E402


def brute_force_histograms(train, labels, test, k_values, n_labels):
    out = np.empty((len(test), len(k_values), n_labels))
    for i, x in enumerate(test):
        order = np.argsort(((train - x) ** 2).sum(1), kind="stable")
        for j, k in enumerate(k_values):
            out[i, j] = np.bincount(labels[order[:k]], minlength=n_labels) / k
    return out


def clustered(n_clusters, n_per_cluster, n_labels, rng, dim=6):
    """Training clusters with a mixed label distribution each; returns the per-cluster distributions too."""
    centres = rng.normal(scale=20.0, size=(n_clusters, dim))
    distributions = rng.dirichlet(np.full(n_labels, 0.7), size=n_clusters)
    cluster = np.repeat(np.arange(n_clusters), n_per_cluster)
    features = centres[cluster] + rng.normal(size=(len(cluster), dim))
    labels = np.concatenate([rng.choice(n_labels, size=n_per_cluster, p=p) for p in distributions])
    return features, labels, centres, distributions


def test_fast_histograms_equal_brute_force():
    rng = np.random.default_rng(0)
    train, labels = rng.normal(size=(400, 10)), rng.integers(0, 5, size=400)
    test = rng.normal(size=(40, 10))
    k_values = [300, 10, 1, 55, 400]  # unsorted on purpose; K = N is allowed
    fast = aa.label_histograms(labels[nearest_neighbours(train, test, 400)], k_values, 5)
    assert np.allclose(fast, brute_force_histograms(train, labels, test, sorted(k_values), 5))
    assert np.allclose(fast.sum(-1), 1.0)


def test_chi_square_properties():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(10), size=200), rng.dirichlet(np.ones(10), size=200)
    assert np.allclose(aa.chi_square_distance(p, p), 0.0)
    assert np.allclose(aa.chi_square_distance(p, q), aa.chi_square_distance(q, p))
    d = aa.chi_square_distance(p, q)
    assert ((d > 0) & (d <= 1)).all()
    # bounded by 1, reached exactly for disjoint supports
    assert aa.chi_square_distance([1, 0, 0], [0, 0.5, 0.5]) == pytest.approx(1.0)
    # hand example: 1/2 [(0.5)^2/1.5 + (0.5)^2/0.5] = 1/2 (1/6 + 1/2) = 1/3
    assert aa.chi_square_distance([1.0, 0.0], [0.5, 0.5]) == pytest.approx(1 / 3)
    # 1/2 [(0.2)^2/1.0 + (0.2)^2/1.0] = 0.04, empty bins contribute nothing (no NaN)
    assert aa.chi_square_distance([0.6, 0.4, 0.0], [0.4, 0.6, 0.0]) == pytest.approx(0.04)


def test_preferred_k_is_the_argmin_and_the_smallest_k_on_ties():
    distances = np.array([[0.3, 0.1, 0.2], [0.05, 0.05, 0.4], [0.9, 0.8, 0.7]])
    k, d = aa.preferred_k(distances, [10, 20, 30])
    assert k.tolist() == [20, 10, 30] and d.tolist() == [0.1, 0.05, 0.7]
    assert aa.tied_minimum(distances).tolist() == [False, True, False]


def test_k_values_are_checked():
    """Appendix A's K go through the one check of K lists (labelnoise.checks.check_k_list), then sorted."""
    assert check_k_list([30, 10, 20], 100).tolist() == [30, 10, 20]
    histograms = aa.label_histograms(np.array([[0, 1, 1, 1]]), [4, 2], 2)
    assert histograms.tolist() == [[[0.5, 0.5], [0.25, 0.75]]]  # K = 2, then K = 4
    with pytest.raises(ValueError, match="K = 300 exceeds the 250 training samples"):
        check_k_list([10, 300], 250)
    for bad in ([0, 10], [], [2.0], [True], ["3"]):
        with pytest.raises(ValueError, match="positive integers"):
            check_k_list(bad)
    with pytest.raises(ValueError, match="unique"):
        check_k_list([10, 10])
    with pytest.raises(ValueError, match="strictly increasing"):
        check_k_list([10, 5], increasing=True)
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="exceeds the 50 training samples"):
        aa.softmax_vs_knn(rng.normal(size=(50, 3)), np.zeros(50, int), rng.normal(size=(4, 3)),
                          np.full((4, 2), 0.5), [10, 60])


def test_softmax_equal_to_local_label_distribution_gives_small_distances():
    rng = np.random.default_rng(3)
    n_labels = 6
    train, labels, centres, distributions = clustered(8, 400, n_labels, rng)
    which = rng.integers(0, 8, size=200)
    test = centres[which] + rng.normal(scale=0.5, size=(200, centres.shape[1]))
    k_values = list(range(10, 301, 10))
    result = aa.softmax_vs_knn(train, labels, test, distributions[which], k_values)
    assert result.median < 0.01  # binomial sampling noise of a 300-sample histogram is ~ L / (4 K)
    assert np.median(result.preferred_k) >= 100  # large K average the noise away inside a 400-point cluster
    # the histogram reported is the one at the preferred K, and its distance is the minimum over K
    assert np.allclose(aa.chi_square_distance(result.softmax, result.histogram), result.distance)
    assert np.allclose(result.distance, result.distances.min(axis=1))
    # a softmax of the wrong cluster is far from the local histogram
    wrong = aa.softmax_vs_knn(train, labels, test, distributions[(which + 1) % 8], k_values)
    assert wrong.median > 10 * result.median


def test_tables_and_examples_near_median():
    rng = np.random.default_rng(4)
    train, labels, centres, distributions = clustered(4, 100, 3, rng)
    test = centres[np.arange(20) % 4] + rng.normal(size=(20, centres.shape[1]))
    softmax = rng.dirichlet(np.ones(3), size=20)
    result = aa.softmax_vs_knn(train, labels, test, softmax, [10, 20, 50])
    table = aa.per_sample_table(result, np.arange(20) % 3, np.arange(100, 120))
    assert list(table.columns) == ["test_position", "dataset_index", "label", "softmax_prediction",
                                   "knn_prediction", "preferred_K", "chi2"]
    assert set(table["preferred_K"]) <= {10, 20, 50} and np.allclose(table["chi2"], result.distance)
    summary = aa.summary_table(result, "toy")
    assert len(summary) == 1 and summary["paper_median_chi2"].iloc[0] == 0.143123
    assert summary["median_chi2"].iloc[0] == pytest.approx(np.median(result.distance))
    assert "(p_i - q_i)^2 / (p_i + q_i)" in summary["chi2_definition"].iloc[0]
    assert summary["median_chi2_full"].iloc[0] == pytest.approx(2 * np.median(result.distance))  # same preferred K
    # Pearson's reading at its own preferred K: brute-force neighbours, every K's histogram, the minimum over K
    order = np.argsort(((test[:, None, :] - train[None]) ** 2).sum(axis=2), axis=1)[:, :50]
    histograms = aa.label_histograms(labels[order], [10, 20, 50], 3)
    expected = (((histograms - softmax[:, None]) ** 2) / softmax[:, None]).sum(axis=2).min(axis=1)
    assert np.allclose(result.pearson, expected)
    assert summary["median_chi2_pearson"].iloc[0] == pytest.approx(np.median(expected))
    chosen = aa.examples_near_median(result.distance, 4)
    gap = np.abs(result.distance - np.median(result.distance))
    assert np.sort(gap[chosen]).max() <= np.sort(gap)[3] + 1e-15
    assert (np.diff(result.distance[chosen]) >= 0).all()


def test_pearson_reading_by_hand():
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.5, 0.0])
    assert aa.pearson_chi_square(p, q) == pytest.approx(0.2**2 / 0.7 + 0.3**2 / 0.2 + 0.1**2 / 0.1)
    # a softmax entry that underflowed to 0: no term where the histogram is 0 too, an infinite one where it is not
    assert aa.pearson_chi_square([1.0, 0.0], [1.0, 0.0]) == 0 and np.isinf(aa.pearson_chi_square([1.0, 0.0], [0.5, 0.5]))


def test_fig8_bars_and_median():
    rng = np.random.default_rng(5)
    k_values = [10, 20, 30, 40]
    preferred = rng.choice(k_values, size=300, p=[0.4, 0.3, 0.2, 0.1])
    distance = rng.beta(2, 10, size=300)
    fig = plot_fig8_preferred_k(preferred, distance, k_values, "toy", paper_median=0.143123,
                                               definition=aa.CHI2_DEFINITION_TEX, tied_fraction=0.25)
    ax_k, ax_d = fig.axes
    heights = [patch.get_height() for patch in ax_k.patches if patch.get_gid() == "preferred_k"]
    assert np.allclose(heights, [np.mean(preferred == k) for k in k_values])
    assert sum(patch.get_height() for patch in ax_d.patches) == pytest.approx(1.0)
    median_line = [line for line in ax_d.get_lines() if line.get_gid() == "median"][0]
    assert median_line.get_xdata()[0] == pytest.approx(np.median(distance))
    texts = " ".join(t.get_text() for t in ax_d.texts)
    assert f"median = {np.median(distance):.3g}" in texts and "0.143123" in texts


def test_fig9_pairs_green_softmax_left_blue_histogram_right():
    rng = np.random.default_rng(6)
    examples = [dict(softmax=rng.dirichlet(np.ones(10)), histogram=rng.dirichlet(np.ones(10)), label=i, K=10 * (i + 1),
                     chi2=0.14, name=f"test sample {i}") for i in range(4)]
    fig = plot_fig9_softmax_knn_pairs(examples, [str(i) for i in range(10)], title="toy")
    axes = [ax for ax in fig.axes]
    assert len(axes) == 8
    for pair, example in enumerate(examples):
        left, right = axes[2 * pair], axes[2 * pair + 1]
        assert np.allclose([bar.get_height() for bar in left.patches], example["softmax"])
        assert np.allclose([bar.get_height() for bar in right.patches], example["histogram"])
        assert matplotlib.colors.to_hex(left.patches[0].get_facecolor()) == SOFTMAX_COLOUR.lower()
        assert matplotlib.colors.to_hex(right.patches[0].get_facecolor()) == KNN_HISTOGRAM_COLOUR.lower()
        assert [i for i, bar in enumerate(left.patches) if bar.get_gid() == "ground_truth"] == [example["label"]]
        assert f"K = {example['K']}" in right.get_title()
