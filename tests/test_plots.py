"""The figure functions: panel counts, plotted data equal to the aggregated
results, the ground-truth marking of Fig. 2, deterministic embeddings, saving.

Running this file as a script renders every figure from realistic synthetic
data into /tmp/plots_preview/ (or the folder given as the first argument) for
a visual check.
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from labelnoise import io  # noqa: E402
from labelnoise.plots.common import NOISE_NAMES, REALISED_LABEL, label_palette, noise_colour, seed_count_text  # noqa: E402
from labelnoise.plots.fig1 import embed_2d, plot_fig1_embedding  # noqa: E402
from labelnoise.plots.fig2_fig3 import plot_fig2_softmax_examples  # noqa: E402
from labelnoise.plots.fig4 import plot_fig4_noise_types  # noqa: E402
from labelnoise.plots.fig5_6_7 import plot_fig5_6_7_analytic_comparison  # noqa: E402
from labelnoise.tables import aggregate_over_seeds  # noqa: E402

N_LABELS = 10


# ---------------------------------------------------------------------------
# Realistic synthetic inputs (shapes and trends as in the paper's MNIST figures)
# ---------------------------------------------------------------------------


def _random_accuracy(gamma):
    """Stays ~0.98 until gamma ~ 0.8, then falls towards chance (Fig. 4b)."""
    return 0.1 + 0.88 / (1.0 + np.exp((gamma - 0.9) / 0.025))


def _flip_accuracy(gamma):
    """Collapses at gamma = 0.5 where the flipped label takes the plurality (Fig. 4c)."""
    return 0.01 + 0.97 / (1.0 + np.exp((gamma - 0.5) / 0.02))


def synthetic_train(n_seeds: int = 4, seed: int = 0, dataset: str = "mnist5k") -> pd.DataFrame:
    """A per-seed training table with all four noise types."""
    rng = np.random.default_rng(seed)
    rows = []

    def add(noise, level, gamma, corrupted, realised, accuracy, seed_index):
        test_acc = float(np.clip(accuracy + rng.normal(0, 0.004 + 0.05 * accuracy * (1 - accuracy)), 0, 1))
        rows.append(
            dict(
                dataset=dataset, noise=noise, level=level, seed_index=seed_index, seed=100 + seed_index,
                nominal_gamma=gamma, corrupted_fraction=corrupted, realised_gamma=realised,
                val_acc=float(np.clip(test_acc + rng.normal(0, 0.003), 0, 1)), test_acc=test_acc,
                best_epoch=5, epochs_run=10, best_step=50, steps_run=100, wall_s=2.0,
            )
        )

    gammas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0]
    for seed_index in range(n_seeds):
        for gamma in gammas:
            level = f"{gamma:.2f}"
            add("random", level, gamma, gamma, gamma * 0.9 + rng.normal(0, 0.002) * (gamma > 0),
                _random_accuracy(gamma), seed_index)
            add("confusion", level, gamma, gamma, gamma * 0.8, _random_accuracy(gamma * 0.95), seed_index)
        for gamma in [0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9]:
            add("flip", f"{gamma:.2f}", gamma, gamma, gamma, _flip_accuracy(gamma), seed_index)
        for k in [2, 3, 4, 5, 6, 8, 10]:
            corrupted = 1.0 / k + rng.normal(0, 0.02)
            add("concentrated", str(k), 1.0 / k, corrupted, corrupted, 0.99 - corrupted, seed_index)
    return pd.DataFrame(rows)


def synthetic_analytic(noise: str, k_values=(1, 3, 5, 9, 15, 25, 51, 101, 201)) -> pd.DataFrame:
    """Made-up analytic curves: sharper drop for larger K (a stand-in for Eq. 2)."""
    gamma = np.linspace(0.0, 1.0, 101)
    frames = []
    for k in k_values:
        if noise == "flip":
            accuracy = 0.01 + 0.99 / (1.0 + np.exp((gamma - 0.5) / (0.25 / np.sqrt(k))))
        else:
            accuracy = 0.1 + 0.9 / (1.0 + np.exp((gamma - (0.92 - 0.3 / np.sqrt(k))) / (0.3 / np.sqrt(k))))
        frames.append(pd.DataFrame({"gamma": gamma, "K": k, "accuracy": accuracy}))
    return pd.concat(frames, ignore_index=True)


def synthetic_fit(analytic: pd.DataFrame, best_k: int = 25) -> pd.DataFrame:
    k_values = sorted(analytic["K"].unique())
    rmse = [0.02 + 0.01 * abs(np.log(k / best_k)) for k in k_values]
    return pd.DataFrame({"K": k_values, "rmse": rmse, "best": [k == best_k for k in k_values]})


def synthetic_confusion(seed: int = 0) -> np.ndarray:
    """A row-stochastic P(noisy | clean) with a few dominant confusions per row."""
    rng = np.random.default_rng(seed)
    matrix = rng.dirichlet(np.full(N_LABELS, 0.3), size=N_LABELS)
    return matrix


def synthetic_clusters(n_per_class: int = 60, seed: int = 0):
    """Ten separated Gaussian blobs in 20-D with their class labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, size=(N_LABELS, 20))
    labels = np.repeat(np.arange(N_LABELS), n_per_class)
    features = centres[labels] + rng.normal(0, 1, size=(len(labels), 20))
    return features, labels


def random_noisy_labels(labels, fraction, seed=0):
    rng = np.random.default_rng(seed)
    noisy = labels.copy()
    chosen = rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False)
    noisy[chosen] = rng.integers(0, N_LABELS, size=len(chosen))
    return noisy


def concentrated_noisy_labels(labels, xy, fraction):
    """Flip the labels of the points of each class furthest along x (a spatial cluster)."""
    noisy = labels.copy()
    for label in range(N_LABELS):
        members = np.flatnonzero(labels == label)
        far = members[np.argsort(xy[members, 0])[-int(round(fraction * len(members))):]]
        noisy[far] = (label + 1) % N_LABELS
    return noisy


def synthetic_softmax_rows(n_examples: int = 4, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for noise, gamma in [("random", 0.5), ("flip", 0.3), ("concentrated", 0.2)]:
        truth = rng.integers(0, N_LABELS, size=n_examples)
        softmax = np.full((n_examples, N_LABELS), 0.0)
        for i, label in enumerate(truth):
            if noise == "random":
                softmax[i] = gamma / N_LABELS
                softmax[i, label] += 1 - gamma
            elif noise == "flip":
                softmax[i, label] = 1 - gamma
                softmax[i, (label + 1) % N_LABELS] = gamma
            else:
                softmax[i, (label + 1) % N_LABELS if i % 2 else label] = 0.9
                softmax[i] += 0.1 / N_LABELS
            softmax[i] = np.abs(softmax[i] + rng.normal(0, 0.01, N_LABELS))
            softmax[i] /= softmax[i].sum()
        rows.append(dict(title=f"{noise} noise, gamma = {gamma:.2f}", softmax=softmax, true_labels=truth, noise=noise))
    return rows


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _close_figures_and_use_one_thread():
    """Close figures after each test; one OpenMP thread keeps t-SNE fast on a busy shared CPU."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
    plt.close("all")


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return synthetic_train()


def _errorbar_containers(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_embed_2d_is_deterministic_and_two_dimensional():
    features, _ = synthetic_clusters(n_per_class=8)
    for method in ("tsne", "pca"):
        first = embed_2d(features, seed=3, method=method)
        again = embed_2d(features, seed=3, method=method)
        assert first.shape == (len(features), 2)
        assert np.all(np.isfinite(first))
        np.testing.assert_array_equal(first, again)


def test_embed_2d_tsne_keeps_clusters_apart():
    features, labels = synthetic_clusters(n_per_class=15)
    xy = embed_2d(features, seed=0)
    centres = np.array([xy[labels == label].mean(axis=0) for label in range(N_LABELS)])
    within = np.mean([np.linalg.norm(xy[labels == label] - centres[label], axis=1).mean() for label in range(N_LABELS)])
    between = np.min([np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1:]])
    assert between > 2 * within


def test_embed_2d_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="method"):
        embed_2d(np.zeros((10, 3)) + np.arange(3), seed=0, method="umap")


def test_embedding_panels_colour_points_by_noisy_label():
    features, labels = synthetic_clusters(n_per_class=10)
    xy = embed_2d(features, seed=0, method="pca")
    noisy = random_noisy_labels(labels, 0.2)
    fig = plot_fig1_embedding([
        dict(xy=xy, labels=noisy, title="20% random noise"),
        dict(xy=xy, labels=concentrated_noisy_labels(labels, xy, 0.2), title="20% concentrated noise"),
    ])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    assert ax.get_title() == "(a) 20% random noise"
    # each point's colour is its noisy label's palette colour, whatever the drawing order
    collection = ax.collections[0]
    drawn = {tuple(np.round(p, 6)): tuple(np.round(c[:3], 6)) for p, c in zip(collection.get_offsets(), collection.get_facecolors())}
    palette = label_palette(N_LABELS)
    for point, label in zip(xy, noisy):
        assert drawn[tuple(np.round(point, 6))] == tuple(np.round(palette[label], 6))
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_labels == [str(label) for label in range(N_LABELS)]


#: Machado, Oliveira & Fernandes (2009), full severity, on linear RGB: how protanopes and deuteranopes see a colour.
COLOUR_VISION = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]]),
}


def _cielab(rgb, vision: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour as seen with ``vision``."""
    rgb = np.asarray(rgb, dtype=float)
    linear = np.clip(vision @ np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_label_palette_has_ten_distinct_colours_for_colour_blind_readers():
    palette = label_palette(N_LABELS)
    assert len({matplotlib.colors.to_hex(colour) for colour in palette}) == N_LABELS
    # seaborn's "colorblind" (the old palette): 4/6 at delta E 21, 0/9 at 26; its closest pair 11 for deuteranopes
    for name, vision in COLOUR_VISION.items():
        lab = [_cielab(colour, vision) for colour in palette]
        closest = min(np.linalg.norm(a - b) for i, a in enumerate(lab) for b in lab[i + 1:])
        assert closest > (22 if name == "normal" else 15), (name, closest)
    assert len({matplotlib.colors.to_hex(colour) for colour in label_palette(12)}) == 12


def test_softmax_grid_marks_only_the_ground_truth_bar():
    rows = synthetic_softmax_rows(n_examples=3)
    fig = plot_fig2_softmax_examples(rows)
    assert len(fig.axes) == 3 * 3
    for ax_index, ax in enumerate(fig.axes):
        row, col = divmod(ax_index, 3)
        truth = rows[row]["true_labels"][col]
        bars = ax.patches
        assert len(bars) == N_LABELS
        np.testing.assert_allclose([bar.get_height() for bar in bars], rows[row]["softmax"][col])
        assert ax.get_ylim() == (0.0, 1.0)
        for label, bar in enumerate(bars):
            if label == truth:
                assert bar.get_linewidth() >= 2
                assert matplotlib.colors.same_color(bar.get_edgecolor(), "black")
            else:
                assert bar.get_linewidth() == 0


def test_softmax_grid_with_class_names_and_ragged_rows():
    rows = synthetic_softmax_rows(n_examples=4)
    rows[1] = dict(rows[1], softmax=rows[1]["softmax"][:2], true_labels=rows[1]["true_labels"][:2])
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    fig = plot_fig2_softmax_examples(rows, class_names=names)
    assert len(fig.axes) == 4 + 2 + 4
    named = [[t.get_text() for t in ax.get_xticklabels()] == names for ax in fig.axes]
    # the last row, and the first (above a shorter row) name the classes; the short middle row needs no names
    assert named == [True] * 4 + [False] * 2 + [True] * 4
    assert all(t.get_rotation() == 90 for t in fig.axes[0].get_xticklabels())
    # Fig. 3: three rows of examples, then the clean/noisy-region pair; the row above the pair names the classes too
    region = dict(title="region", softmax=rows[0]["softmax"][:2], true_labels=rows[0]["true_labels"][:2],
                  subtitles=["clean region", "noisy region"])
    fig = plot_fig2_softmax_examples(synthetic_softmax_rows(n_examples=4) + [region], class_names=names)
    named = [[t.get_text() for t in ax.get_xticklabels()] == names for ax in fig.axes]
    assert named == [False] * 8 + [True] * 4 + [True] * 2


def test_noise_types_points_equal_aggregated_means(train):
    fig = plot_fig4_noise_types(train)
    assert len(fig.axes) == 3
    summary = aggregate_over_seeds(train)
    for ax, noise in zip(fig.axes, ("concentrated", "random", "flip")):
        assert ax.get_ylim() == pytest.approx((0.0, 1.02))
        expected = summary[summary["noise"] == noise].sort_values("realised_gamma_mean")
        containers = _errorbar_containers(ax)
        assert len(containers) == 1
        line = containers[0].lines[0]
        np.testing.assert_allclose(line.get_xdata(), expected["realised_gamma_mean"])
        np.testing.assert_allclose(line.get_ydata(), expected["test_acc_mean"])
        assert matplotlib.colors.same_color(line.get_color(), noise_colour(noise))
        # error bars span mean +- std
        segments = containers[0].lines[2][0].get_segments()
        spans = np.array([seg[1, 1] - seg[0, 1] for seg in segments])
        np.testing.assert_allclose(spans, 2 * expected["test_acc_std"], atol=1e-12)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:3] == ["locally concentrated noise", "random noise", "flip noise"]
    assert "10 seeds" in fig.legends[0].get_title().get_text() or "4 seeds" in fig.legends[0].get_title().get_text()
    # the x axes are the realised noise, not the nominal gamma of Figs. 5-7: said once, under the panels
    assert all(ax.get_xlabel() == REALISED_LABEL for ax in fig.axes)
    note = " ".join(fig.legends[0].get_title().get_text().split())
    assert "realised noise" in note and r"not the nominal $\gamma$ of Figs. 5-7" in note
    # the concentrated panel alone carries the prediction a0 (1 - gamma), a0 the clean CNN's accuracy
    dashed = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    a0 = summary[(summary["noise"] == "random") & (summary["nominal_gamma"] == 0)]["test_acc_mean"].iloc[0]
    assert 0.9 < a0 < 1
    np.testing.assert_allclose(dashed[0].get_ydata(), a0 * (1 - dashed[0].get_xdata()))
    assert f"{a0:.3f} (clean accuracy)" in dashed[0].get_label()
    # without a clean grid level the prediction is the paper's 1 - gamma
    alone = plot_fig4_noise_types(train[train["nominal_gamma"] > 0])
    (line,) = [line for line in alone.axes[0].get_lines() if line.get_linestyle() == "--"]
    np.testing.assert_allclose(line.get_ydata(), 1 - line.get_xdata())
    assert not [line for line in fig.axes[1].get_lines() if line.get_linestyle() == "--"]


@pytest.mark.parametrize("noise, with_confusion", [("random", False), ("flip", False), ("confusion", True)])
def test_analytic_comparison_panels(train, noise, with_confusion):
    empirical = train[train["noise"] == noise]
    analytic = synthetic_analytic(noise)
    fit = synthetic_fit(analytic, best_k=25)
    confusion = synthetic_confusion() if with_confusion else None
    fig = plot_fig5_6_7_analytic_comparison(empirical, analytic, fit, f"mnist5k, {noise} noise", confusion=confusion)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == (4 if with_confusion else 3)
    if with_confusion:
        image = panels[0].get_images()[0]
        np.testing.assert_allclose(image.get_array(), confusion)
        panels = panels[1:]
    ax_experiment, ax_analytic, ax_comparison = panels
    summary = aggregate_over_seeds(empirical)
    line = _errorbar_containers(ax_experiment)[0].lines[0]
    np.testing.assert_allclose(line.get_xdata(), summary["nominal_gamma"])
    np.testing.assert_allclose(line.get_ydata(), summary["test_acc_mean"])
    # (b): one curve per K, distinct colours from the sequential map
    assert len(ax_analytic.get_lines()) == analytic["K"].nunique()
    assert len({tuple(l.get_color()) for l in ax_analytic.get_lines()}) == analytic["K"].nunique()
    # (c): the fitted curve, labelled with K and RMSE, plus its two neighbours K = 15 and 51
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "analytic, fitted K = 25 (RMSE 0.020)" in texts
    assert "analytic, K = 15" in texts and "analytic, K = 51" in texts
    fitted = [l for l in ax_comparison.get_lines() if l.get_gid() == "analytic_fitted"][0]
    expected = analytic[analytic["K"] == 25].sort_values("gamma")
    np.testing.assert_allclose(fitted.get_ydata(), expected["accuracy"])
    neighbours = [l for l in ax_comparison.get_lines() if l.get_label().startswith("analytic, K")]
    assert all(l.get_linewidth() < fitted.get_linewidth() for l in neighbours)


def test_analytic_comparison_fitted_k_at_end_of_list_has_one_neighbour(train):
    analytic = synthetic_analytic("random")
    fit = synthetic_fit(analytic, best_k=1)
    fig = plot_fig5_6_7_analytic_comparison(train[train["noise"] == "random"], analytic, fit, "random")
    ax_comparison = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"][2]
    assert [l.get_label() for l in ax_comparison.get_lines() if l.get_label().startswith("analytic, K")] == ["analytic, K = 3"]


def test_plotting_does_not_change_global_style():
    before = dict(plt.rcParams)
    plot_fig2_softmax_examples(synthetic_softmax_rows(n_examples=1))
    assert dict(plt.rcParams) == before


def test_save_figure_writes_pdf_and_png(tmp_path, train):
    target = tmp_path / "fig4_mnist5k.pdf"
    io.save_figure(plot_fig4_noise_types(train), target)
    assert target.stat().st_size > 1000
    png = target.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _fig13_inputs():
    """Fig. 13's curves and flip decisions, Label Wave equal to the final state wherever it 'found no minimum'."""
    from labelnoise.selection import PROTOCOLS

    rows, decisions = [], []
    for noise, gammas in (("random", [0.0, 0.4, 0.8]), ("flip", [0.3, 0.45, 0.6])):
        for protocol in PROTOCOLS:
            for gamma in gammas:
                accuracy = 0.9 - gamma / 2 - (0.1 if protocol in ("label_wave", "final") else 0.0)
                rows.append(dict(noise=noise, protocol=protocol, nominal_gamma=gamma, n_seeds=2, test_acc_mean=accuracy,
                                 test_acc_std=0.01, fitted_K=5, rmse=0.05, analytic_acc=accuracy + 0.02))
                if noise == "flip":
                    decisions.append(dict(protocol=protocol, nominal_gamma=gamma, true_label=accuracy,
                                          counterpart=1 - accuracy))
    return pd.DataFrame(rows), pd.DataFrame(decisions)


def test_fig13_fits_the_flip_levels_and_keeps_label_wave_visible_over_the_final_state():
    from labelnoise.plots.fig13 import plot_fig13_selection

    curves, decisions = _fig13_inputs()
    fig = plot_fig13_selection(curves, decisions, "toy")
    for ax in fig.axes[1:]:  # (b) flip accuracy, (c) flip decisions: the levels 0.3-0.6 and a small margin
        low, high = ax.get_xlim()
        assert 0.25 <= low < 0.3 and 0.6 < high <= 0.65
    low, high = fig.axes[0].get_xlim()
    assert -0.1 <= low < 0 and 0.8 < high <= 0.9
    for ax in fig.axes[1:]:
        wave = next(line for line in ax.get_lines() if line.get_color() == "#0072B2" and line.get_linestyle() == "-")
        final = next(line for line in ax.get_lines() if line.get_color() == "#999999" and line.get_linestyle() == "-")
        np.testing.assert_allclose(wave.get_ydata(), final.get_ydata())  # the same points...
        assert wave.get_zorder() > final.get_zorder() and wave.get_linewidth() < final.get_linewidth() / 2  # ...both seen
        assert final.get_marker() != wave.get_marker()
    legend = " ".join(text.get_text() for text in fig.axes[1].get_legend().get_texts())
    assert "final state where it finds no minimum" in legend


def _fig10_inputs():
    """Fig. 10's per-K agreement and its effective-K table for random noise and concentrated noise (levels k)."""
    levels = {"random": [("0.00", 0.0), ("0.40", 0.4), ("0.80", 0.8)], "concentrated": [("10", 0.1), ("5", 0.2), ("2", 0.5)]}
    per_k, best = [], []
    for noise, pairs in levels.items():
        for level, gamma in pairs:
            for k in (1, 5, 25):
                per_k.append(dict(noise=noise, level=level, nominal_gamma=gamma, K=k, agreement_mean=0.9 - gamma / 2,
                                  chance_agreement_mean=0.8 - gamma / 2))
            best.append(dict(noise=noise, level=level, nominal_gamma=gamma, effective_K=5, K_at_grid_edge=False,
                             fitted_K=5.0 if noise == "random" else np.nan, agreement_mean=0.9 - gamma / 2,
                             agreement_std=0.01, chance_agreement_mean=0.8 - gamma / 2, same_wrong_label_mean=0.3,
                             cnn_accuracy_mean=0.9 - gamma / 2))  # the accuracy on the agreement, as often measured
    return pd.DataFrame(per_k), pd.DataFrame(best)


def test_fig10_names_cluster_counts_and_draws_the_accuracy_over_the_agreement():
    from labelnoise.plots.fig10 import plot_fig10_agreement

    per_k, best = _fig10_inputs()
    realised = pd.DataFrame({"noise": "concentrated", "level": ["10", "5", "2"], "realised_gamma_mean": [0.11, 0.22, 0.5]})
    fig = plot_fig10_agreement(per_k, best, realised)
    top_random, top_concentrated, bottom_random, bottom_concentrated = fig.axes[0], fig.axes[1], fig.axes[2], fig.axes[3]
    assert "nominal" in bottom_random.get_xlabel()
    assert bottom_concentrated.get_xlabel().startswith("k clusters per class")
    assert [t.get_text() for t in bottom_concentrated.get_xticklabels()] == ["10", "5", "2"]
    legend = [t.get_text() for t in top_concentrated.get_legend().get_texts()]
    assert legend[0] == r"k = 10 (realised $\gamma$ = 0.11)" and not any("nominal" in entry for entry in legend)
    for ax in (bottom_random, bottom_concentrated):
        accuracy = next(line for line in ax.get_lines() if line.get_gid() == "cnn_accuracy")
        agreement = next(c for c in _errorbar_containers(ax)).lines[0]
        np.testing.assert_allclose(np.asarray(accuracy.get_ydata(), float), np.asarray(agreement.get_ydata(), float))
        assert accuracy.get_zorder() > agreement.get_zorder() and accuracy.get_linestyle() != agreement.get_linestyle()
    # without the realised gamma the legend names k alone
    legend = [t.get_text() for t in plot_fig10_agreement(per_k, best).axes[1].get_legend().get_texts()]
    assert legend[0] == "k = 10"


def test_fig8_fits_the_distance_axis_to_the_data_and_says_what_lies_past_it():
    from labelnoise.plots.fig8_fig9 import plot_fig8_preferred_k

    rng = np.random.default_rng(0)
    k_values = [10, 20, 30]
    # CIFAR-10's shape: the bars end near 0.2, a few samples lie far out (up to 0.4)
    distance = np.concatenate([np.minimum(rng.exponential(0.03, 3996), 0.2), [0.3, 0.33, 0.36, 0.4]])
    fig = plot_fig8_preferred_k(rng.choice(k_values, 4000), distance, k_values, "toy", paper_median=0.143123)
    ax = fig.axes[1]
    assert 0.2 <= ax.get_xlim()[1] <= 0.22
    paper = next(line for line in ax.get_lines() if line.get_gid() == "paper_median")
    assert paper.get_xdata()[0] == pytest.approx(0.143123)
    text = " ".join(t.get_text() for t in ax.texts)
    assert "4 samples (0.10%) past the axis" in text and "up to 0.4" in text
    assert sum(patch.get_height() for patch in ax.patches) == pytest.approx(0.999)  # fractions of all samples
    # distances far below the paper's median: the paper's value is named, its place said, nothing past the axis
    fig = plot_fig8_preferred_k([10] * 300, rng.uniform(0, 0.06, 300), k_values, "toy", paper_median=0.143123)
    ax = fig.axes[1]
    assert ax.get_xlim()[1] < 0.065 and not [line for line in ax.get_lines() if line.get_gid() == "paper_median"]
    text = " ".join(t.get_text() for t in ax.texts)
    assert "0.143123" in text and "right of this axis" in text and "past the axis" not in text


def test_fig12_starts_instance_noise_at_the_clean_nets_and_fits_the_axis():
    from labelnoise.plots.fig12 import plot_fig12_realised_noise

    table = pd.DataFrame({"noise": "instance", "level": ["0.20", "0.40"], "realised_gamma_mean": [0.2, 0.4],
                          "test_acc_mean": [0.9, 0.85], "test_acc_std": [0.01, 0.01], "n_seeds": 2, "knn_acc": [0.92, 0.8],
                          "analytic_acc": [0.99, 0.9], "analytic_K": 21, "knn_K": 11})
    ax = plot_fig12_realised_noise(table, "toy").axes[0]
    low, high = ax.get_xlim()
    assert 0.15 <= low < 0.2 and 0.4 < high <= 0.45
    clean = {"test_acc_mean": 0.96, "test_acc_std": 0.005, "n_seeds": 2, "knn_acc": 0.97}
    ax = plot_fig12_realised_noise(table, "toy", clean).axes[0]
    cnn = _errorbar_containers(ax)[0].lines[0]
    np.testing.assert_allclose(np.asarray(cnn.get_xdata(), float), [0.0, 0.2, 0.4])
    np.testing.assert_allclose(np.asarray(cnn.get_ydata(), float), [0.96, 0.9, 0.85])
    knn = next(line for line in ax.get_lines() if line.get_gid() == "knn")
    np.testing.assert_allclose(np.asarray(knn.get_ydata(), float), [0.97, 0.92, 0.8])
    theory = next(line for line in ax.get_lines() if line.get_gid() == "analytic")
    assert len(theory.get_xdata()) == 2  # Eq. 6 with a realised matrix: only where there is noise
    low, high = ax.get_xlim()
    assert -0.05 <= low < 0 and 0.4 < high <= 0.45


# ---------------------------------------------------------------------------
# Visual preview: python tests/test_plots.py [folder]
# ---------------------------------------------------------------------------


def render_previews(folder: str = "/tmp/plots_preview") -> None:
    from pathlib import Path

    out = Path(folder)
    train = synthetic_train(n_seeds=10)
    features, labels = synthetic_clusters(n_per_class=200)
    xy = embed_2d(features, seed=0)
    io.save_figure(plot_fig1_embedding([
        dict(xy=xy, labels=random_noisy_labels(labels, 0.2), title="20% random noise: CNN test accuracy 97.8%"),
        dict(xy=xy, labels=concentrated_noisy_labels(labels, xy, 0.2), title="20% concentrated noise: CNN test accuracy 80.1%"),
    ]), out / "fig1.pdf")
    io.save_figure(plot_fig2_softmax_examples(synthetic_softmax_rows(n_examples=5)), out / "fig2.pdf")
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    io.save_figure(plot_fig2_softmax_examples(synthetic_softmax_rows(n_examples=5), class_names=names), out / "fig3.pdf")
    io.save_figure(plot_fig4_noise_types(train), out / "fig4.pdf")
    for number, noise in [(5, "random"), (6, "flip"), (7, "confusion")]:
        analytic = synthetic_analytic(noise)
        few_k = analytic[analytic["K"].isin([1, 5, 25, 101])] if noise == "flip" else analytic
        io.save_figure(plot_fig5_6_7_analytic_comparison(
            train[train["noise"] == noise], few_k, synthetic_fit(few_k, best_k=25), f"mnist5k, {NOISE_NAMES[noise]}",
            confusion=synthetic_confusion() if noise == "confusion" else None,
        ), out / f"fig{number}.pdf")


if __name__ == "__main__":
    render_previews(*sys.argv[1:])


def test_softmax_examples_are_distinct_classes_and_rows_name_their_run():
    import pandas as pd

    from labelnoise.plots.fig2_fig3 import choose_softmax_examples, noisy_net_softmax_row

    labels = np.repeat(np.arange(10), 7)
    examples = choose_softmax_examples(labels, 10, 5, np.random.default_rng(0))
    assert len(set(labels[examples])) == 5
    again = choose_softmax_examples(labels, 10, 5, np.random.default_rng(0))
    assert np.array_equal(examples, again)
    softmax = np.eye(10)[labels]
    run = pd.Series({"level": "5", "realised_gamma": 0.2071, "nominal_gamma": 0.2, "test_acc": 0.8165, "seed_index": 0})
    row = noisy_net_softmax_row("concentrated", softmax, labels, run, examples)
    assert row["title"] == "concentrated noise, k = 5 (gamma = 0.21): test accuracy 81.7% (the net of seed 1)"
    assert np.array_equal(row["softmax"], softmax[examples]) and np.array_equal(row["true_labels"], labels[examples])


@pytest.mark.parametrize("counts, text", [([1, 1], "1 seed"), ([3, 3], "3 seeds"), ([2, 3], "2-3 seeds")])
def test_seed_count_in_legends_reads_as_english(counts, text):
    assert seed_count_text(pd.DataFrame({"n_seeds": counts})) == text
