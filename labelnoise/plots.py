"""The paper's figures, drawn from in-memory results.

Every ``plot_*`` function takes data (arrays, DataFrames) and returns a
matplotlib Figure; the workflow scripts load the result files and save the
figure with ``labelnoise.io.save_figure``.  Nothing here reads result files.

All figures share one style (``paper_rc``): seaborn's white grid, font sizes
readable when a figure is shrunk to a column, and colour-blind safe colours
(Okabe-Ito) with one fixed colour per noise type, so that, e.g., flip noise is
the same vermillion in Fig. 4 and Fig. 6.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.cm
import matplotlib.colors as mcolors
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from labelnoise.tables import aggregate_over_seeds, require_columns

# ---------------------------------------------------------------------------
# Style
# ---------------------------------------------------------------------------

#: One fixed, colour-blind safe (Okabe-Ito) colour per noise type, used by every figure.
NOISE_COLOURS: dict[str, str] = {
    "random": "#0072B2",  # blue
    "flip": "#D55E00",  # vermillion
    "confusion": "#009E73",  # bluish green
    "concentrated": "#CC79A7",  # reddish purple
}
#: Colour for a noise type not in NOISE_COLOURS.
OTHER_NOISE_COLOUR = "#555555"

#: Human-readable names of the noise types (Section 3 of the paper).
NOISE_NAMES: dict[str, str] = {
    "random": "random noise",
    "flip": "flip noise",
    "confusion": "confusion-matrix noise",
    "concentrated": "locally concentrated noise",
}

#: Sequential, colour-blind safe colour map over the number of neighbours K (Figs. 5-7 (b)).
K_COLOUR_MAP = "viridis"
#: Colour map of the confusion matrix P(noisy | clean): light colours denote high
#: probability, as in Fig. 7(a) of the paper.
CONFUSION_COLOUR_MAP = "cividis"
#: Colour of the ground-truth edge in the softmax bar charts (Figs. 2, 3).
GROUND_TRUTH_EDGE = dict(edgecolor="black", linewidth=2.5)
#: The measured K-NN classifier baseline (Figs. 4-7): Okabe-Ito orange, open squares, dash-dot.
KNN_COLOUR = "#E69F00"
KNN_STYLE = dict(color=KNN_COLOUR, marker="s", markersize=5, markerfacecolor="white", markeredgewidth=1.4,
                 linestyle="-.", linewidth=1.6, zorder=2.8)
#: Appendix A (Figs. 8, 9): softmax bars green, K-NN histogram bars blue, as in the paper's Fig. 9.
SOFTMAX_COLOUR = "#009E73"
KNN_HISTOGRAM_COLOUR = "#0072B2"

ACCURACY_LIMITS = (0.0, 1.02)
NOISE_LEVEL_LIMITS = (-0.02, 1.02)
ACCURACY_LABEL = "test accuracy"
GAMMA_LABEL = r"noise level $\gamma$ (fraction of labels re-drawn)"
REALISED_LABEL = "noise level (fraction of training labels changed)"


def paper_rc() -> dict:
    """The rcParams shared by all figures: seaborn ticks+grid, readable fonts, colour-blind cycle."""
    rc = dict(sns.axes_style("whitegrid"))
    rc.update(
        {
            "font.size": 11,
            "axes.titlesize": 11.5,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 9.5,
            "legend.title_fontsize": 9.5,
            "figure.titlesize": 13,
            "axes.edgecolor": ".35",
            "axes.linewidth": 0.8,
            "grid.color": ".88",
            "grid.linewidth": 0.7,
            "xtick.bottom": True,
            "ytick.left": True,
            "xtick.major.size": 3.5,
            "ytick.major.size": 3.5,
            "lines.linewidth": 1.8,
            "lines.markersize": 5,
            "legend.frameon": True,
            "legend.framealpha": 0.9,
            "legend.edgecolor": ".8",
            "axes.prop_cycle": matplotlib.cycler(color=sns.color_palette("colorblind")),
            "image.cmap": K_COLOUR_MAP,
            "pdf.fonttype": 42,  # embed TrueType: editable text in the PDF
            "savefig.dpi": 150,
        }
    )
    return rc


def apply_paper_style() -> None:
    """Make ``paper_rc`` the global matplotlib style (for scripts drawing their own extras)."""
    plt.rcParams.update(paper_rc())


def noise_colour(noise: str) -> str:
    """The fixed colour of a noise type across all figures."""
    return NOISE_COLOURS.get(noise, OTHER_NOISE_COLOUR)


def label_palette(n_labels: int) -> list:
    """Qualitative colour-blind palette with one colour per class label (Fig. 1)."""
    if n_labels <= 10:
        return sns.color_palette("colorblind", 10)[:n_labels]
    return sns.color_palette("husl", n_labels)


def k_colour_norm(k_values: Sequence[int]) -> mcolors.Normalize:
    """Log-scale normalisation of K for the sequential K colour map (Figs. 5-7)."""
    k_values = np.asarray(k_values, dtype=float)
    low, high = float(k_values.min()), float(k_values.max())
    if high <= low:
        high = low + 1.0
    return mcolors.LogNorm(vmin=low, vmax=high)


def _k_colour_map() -> mcolors.Colormap:
    """viridis without its palest top (yellow on white is hard to see as a thin line)."""
    return mcolors.ListedColormap(matplotlib.colormaps[K_COLOUR_MAP](np.linspace(0.0, 0.88, 256)), name="viridis_dark")


def k_colour(k: int, norm: mcolors.Normalize):
    """Colour of the analytic curve with K neighbours in the Analytical panel of Figs. 5-7."""
    return _k_colour_map()(float(norm(k)))


# ---------------------------------------------------------------------------
# Fig. 1: embeddings of deep features
# ---------------------------------------------------------------------------


def embed_2d(features: np.ndarray, seed: int, method: str = "tsne") -> np.ndarray:
    """2-D embedding of deep features for Fig. 1, deterministic given ``seed``.

    ``method="tsne"``: PCA to at most 50 dimensions (speed, noise removal), then
    t-SNE with PCA initialisation.  ``method="pca"``: the first two principal
    components.  Returns an (n, 2) float array.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    features = np.asarray(features, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"features must be a 2-D (n, d) array, got shape {features.shape}")
    n_samples, n_dims = features.shape
    if n_samples < 3 or n_dims < 2:
        raise ValueError(f"need at least 3 samples with at least 2 features, got shape {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features contain NaN or infinite values")

    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(features)
    if method == "tsne":
        n_components = min(50, n_dims, n_samples)
        if n_components < n_dims:
            features = PCA(n_components=n_components, random_state=seed).fit_transform(features)
        perplexity = float(min(30.0, (n_samples - 1) / 3.0))
        tsne = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            random_state=seed,
        )
        return tsne.fit_transform(features)
    raise ValueError(f"unknown embedding method {method!r}; use 'tsne' or 'pca'")


def _require_keys(item: dict, keys: Sequence[str], what: str) -> None:
    """ValueError naming ``what`` and the keys of ``keys`` that ``item`` lacks."""
    missing = [key for key in keys if key not in item]
    if missing:
        raise ValueError(f"{what} lacks key(s) {missing}")


def _label_names(names: Sequence[str] | None, n_labels: int) -> list[str]:
    """The given label names, or '0', '1', ... for ``n_labels`` labels."""
    return list(names) if names is not None else [str(label) for label in range(n_labels)]


def plot_embedding_panels(
    panels: list[dict], label_names: Sequence[str] | None = None, draw_seed: int = 0
) -> Figure:
    """Fig. 1: side-by-side 2-D embeddings of deep features coloured by the *noisy* label.

    Each panel dict has ``xy`` (n, 2), ``labels`` (n,) noisy integer labels and
    ``title``.  Spread noise shows as scattered off-colour points inside each
    cluster, concentrated noise as whole off-colour sub-clusters.  Points are
    drawn in a fixed random order (``draw_seed``) so that no class hides the others.
    """
    if not panels:
        raise ValueError("plot_embedding_panels needs at least one panel")
    all_labels = []
    for index, panel in enumerate(panels):
        _require_keys(panel, ("xy", "labels", "title"), f"panel {index}")
        xy = np.asarray(panel["xy"], dtype=float)
        labels = np.asarray(panel["labels"])
        if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
            raise ValueError(f"panel {index}: xy must be a non-empty (n, 2) array, got {xy.shape}")
        if labels.shape != (len(xy),):
            raise ValueError(f"panel {index}: labels shape {labels.shape} does not match xy {xy.shape}")
        if labels.min() < 0:
            raise ValueError(f"panel {index}: labels must be non-negative class indices")
        all_labels.append(labels.astype(int))
    n_labels = int(max(labels.max() for labels in all_labels)) + 1
    if label_names is not None and len(label_names) < n_labels:
        raise ValueError(f"label_names has {len(label_names)} names for {n_labels} labels")
    palette = np.asarray(label_palette(n_labels))

    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(
            1, len(panels), figsize=(4.6 * len(panels), 4.9), squeeze=False, layout="constrained"
        )
        axes = axes[0]
        rng = np.random.default_rng(draw_seed)
        for panel_index, (ax, panel, labels) in enumerate(zip(axes, panels, all_labels)):
            xy = np.asarray(panel["xy"], dtype=float)
            order = rng.permutation(len(xy))
            ax.scatter(
                xy[order, 0],
                xy[order, 1],
                c=palette[labels[order]],
                s=5 if len(xy) > 2000 else 10,
                linewidths=0,
                alpha=0.85,
                rasterized=True,
            )
            letter = f"({chr(ord('a') + panel_index)}) " if len(panels) > 1 else ""
            ax.set_title(letter + panel["title"], wrap=True)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.set_aspect("equal", adjustable="datalim")
            for spine in ax.spines.values():
                spine.set_color(".7")
        names = _label_names(label_names, n_labels)
        handles = [
            Line2D([], [], linestyle="", marker="o", markersize=7, color=palette[label], label=names[label])
            for label in range(n_labels)
        ]
        fig.legend(
            handles=handles,
            title="noisy label",
            loc="outside lower center",
            ncol=min(n_labels, 10),
            frameon=False,
            handletextpad=0.1,
            columnspacing=1.0,
        )
    return fig


# ---------------------------------------------------------------------------
# Figs. 2 and 3: softmax outputs
# ---------------------------------------------------------------------------


def choose_softmax_examples(test_labels: np.ndarray, n_classes: int, n_examples: int, rng: np.random.Generator) -> np.ndarray:
    """Test samples shown in Figs. 2 and 3: one from each of ``n_examples`` distinct classes (seeded)."""
    classes = rng.choice(n_classes, size=min(n_examples, n_classes), replace=False)
    return np.array([rng.choice(np.flatnonzero(test_labels == c)) for c in classes])


def noisy_net_softmax_row(noise: str, softmax: np.ndarray, labels: np.ndarray, run: pd.Series, examples: np.ndarray) -> dict:
    """A row of Figs. 2 and 3: one noisy-trained net's softmax on ``examples``.

    ``softmax`` (M x L) and ``run`` (its training-table row) belong to the same
    net; the title names the noise level and the net's test accuracy.
    """
    if noise == "concentrated":
        level = f"k = {run['level']} (gamma = {run['realised_gamma']:.2f})"
    else:
        level = f"gamma = {run['nominal_gamma']:.2f}"
    return {
        "title": f"{noise} noise, {level}: test accuracy {100 * run['test_acc']:.1f}%",
        "softmax": softmax[examples],
        "true_labels": labels[examples],
    }


def plot_softmax_examples(rows: list[dict], class_names: list[str] | None = None) -> Figure:
    """Figs. 2/3: softmax outputs of noisy-label networks on single test images.

    One figure row per dict (``title``, ``softmax`` (n_examples, L),
    ``true_labels`` (n_examples,), optional ``noise`` for the bar colour and
    optional ``subtitles``, one caption per example), one bar chart per example; the ground-truth bar has a thick black edge, as in
    the paper.  The bars show how the softmax mirrors the local label
    distribution: about 1 - gamma + gamma/L on the true label under random noise.
    """
    if not rows:
        raise ValueError("plot_softmax_examples needs at least one row")
    n_labels = None
    for index, row in enumerate(rows):
        _require_keys(row, ("title", "softmax", "true_labels"), f"row {index}")
        softmax = np.asarray(row["softmax"], dtype=float)
        true_labels = np.asarray(row["true_labels"])
        if softmax.ndim != 2 or softmax.shape[0] == 0:
            raise ValueError(f"row {index}: softmax must be a non-empty (n_examples, L) array, got {softmax.shape}")
        if true_labels.shape != (softmax.shape[0],):
            raise ValueError(f"row {index}: true_labels shape {true_labels.shape} does not match softmax {softmax.shape}")
        if n_labels is None:
            n_labels = softmax.shape[1]
        elif softmax.shape[1] != n_labels:
            raise ValueError(f"row {index} has {softmax.shape[1]} labels, earlier rows {n_labels}")
        if np.any((true_labels < 0) | (true_labels >= n_labels)):
            raise ValueError(f"row {index}: true labels outside 0..{n_labels - 1}")
        if "subtitles" in row and len(row["subtitles"]) != softmax.shape[0]:
            raise ValueError(f"row {index}: {len(row['subtitles'])} subtitles for {softmax.shape[0]} examples")
    if class_names is not None and len(class_names) != n_labels:
        raise ValueError(f"class_names has {len(class_names)} names for {n_labels} labels")

    n_rows = len(rows)
    n_cols = max(np.asarray(row["softmax"]).shape[0] for row in rows)
    long_names = class_names is not None and max(len(name) for name in class_names) > 2
    tick_labels = _label_names(class_names, n_labels)
    panel_width = max(1.9, 0.2 * n_labels + 0.4)
    row_height = 2.2
    # The bottom row also holds the x tick labels: give it that much more height
    # so that its bar charts are as tall as those of the other rows.
    bottom_extra = 0.07 * max(len(name) for name in tick_labels) + 0.1 if long_names else 0.2
    height_ratios = [row_height] * (n_rows - 1) + [row_height + bottom_extra]

    with plt.rc_context(paper_rc()):
        fig = plt.figure(figsize=(panel_width * n_cols + 0.6, sum(height_ratios) + 0.3), layout="constrained")
        subfigures = np.atleast_1d(fig.subfigures(n_rows, 1, height_ratios=height_ratios))
        positions = np.arange(n_labels)
        for row_index, (subfig, row) in enumerate(zip(subfigures, rows)):
            softmax = np.asarray(row["softmax"], dtype=float)
            true_labels = np.asarray(row["true_labels"]).astype(int)
            colour = noise_colour(row.get("noise", "")) if "noise" in row else "#6F8FAF"
            subfig.suptitle(row["title"], fontsize=11.5, x=0.01, ha="left", fontweight="bold")
            axes = subfig.subplots(1, n_cols, sharey=True, squeeze=False)[0]
            for col_index, ax in enumerate(axes):
                if col_index >= len(softmax):
                    ax.remove()
                    continue
                bars = ax.bar(positions, softmax[col_index], width=0.75, color=colour, linewidth=0)
                truth_bar = bars[true_labels[col_index]]
                truth_bar.set_edgecolor(GROUND_TRUTH_EDGE["edgecolor"])
                truth_bar.set_linewidth(GROUND_TRUTH_EDGE["linewidth"])
                truth_bar.set_gid("ground_truth")
                if "subtitles" in row:
                    ax.set_title(row["subtitles"][col_index], fontsize=9.5)
                ax.set_ylim(0.0, 1.0)
                ax.set_xlim(-0.7, n_labels - 0.3)
                ax.set_xticks(positions)
                ax.grid(axis="x", visible=False)
                ax.tick_params(axis="x", length=0, pad=2)
                last_row = row_index == n_rows - 1
                if long_names:
                    ax.set_xticklabels(tick_labels if last_row else [], rotation=90, fontsize=9)
                else:
                    ax.set_xticklabels(tick_labels, fontsize=8.5 if n_labels > 10 else 9.5)
                if col_index == 0:
                    ax.set_ylabel("softmax")
                    ax.set_yticks([0, 0.5, 1])
                if last_row and not long_names:
                    ax.set_xlabel("label", fontsize=9.5, labelpad=1)
        legend_handle = matplotlib.patches.Patch(
            facecolor="white", label="ground-truth label", **GROUND_TRUTH_EDGE
        )
        fig.legend(handles=[legend_handle], loc="outside lower right", frameon=False)
    return fig


# ---------------------------------------------------------------------------
# Fig. 4: the noise types compared
# ---------------------------------------------------------------------------


def _single_value(frame: pd.DataFrame, column: str, what: str) -> str:
    values = frame[column].unique()
    if len(values) != 1:
        raise ValueError(f"{what} must hold exactly one {column}, found {sorted(map(str, values))}")
    return str(values[0])


def _draw_mean_std(ax, summary: pd.DataFrame, x_column: str, colour: str, label: str):
    """Mean test accuracy with +-1 std error bars and a faint band; returns the ErrorbarContainer."""
    summary = summary.sort_values(x_column)
    x = summary[x_column].to_numpy(dtype=float)
    mean = summary["test_acc_mean"].to_numpy(dtype=float)
    std = summary["test_acc_std"].to_numpy(dtype=float)
    ax.fill_between(x, mean - std, np.minimum(mean + std, ACCURACY_LIMITS[1]), color=colour, alpha=0.15, linewidth=0)
    container = ax.errorbar(
        x, mean, yerr=std, color=colour, marker="o", markersize=4.5, capsize=2.5, elinewidth=1.1, label=label, zorder=3
    )
    container.lines[0].set_gid("experimental_mean")
    return container


def _seed_count_text(summary: pd.DataFrame) -> str:
    """'1 seed', '3 seeds' or '2-3 seeds': how many seeds each plotted mean is over."""
    low, high = int(summary["n_seeds"].min()), int(summary["n_seeds"].max())
    if low != high:
        return f"{low}-{high} seeds"
    return f"{low} seed" + ("s" if low != 1 else "")


def _format_accuracy_axis(ax, show_label: bool = True) -> None:
    ax.set_ylim(*ACCURACY_LIMITS)
    ax.set_yticks(np.linspace(0, 1, 6))
    if show_label:
        ax.set_ylabel(ACCURACY_LABEL)


def plot_noise_types(
    train: pd.DataFrame, noises: Sequence[str] = ("concentrated", "random", "flip"), knn: pd.DataFrame | None = None
) -> Figure:
    """Fig. 4: test accuracy against the realised noise level, one panel per noise type.

    Points are the mean over seeds with +-1 standard deviation; x is the mean
    fraction of training labels that actually differ from the clean ones.  The
    concentrated panel adds the paper's prediction, accuracy = 1 - gamma
    (Section 5): with concentrated noise a net has no resistance at all.
    With ``knn`` (the table of ``labelnoise.knn.knn_noise_table``, one K) each
    panel also shows the measured accuracy of a K-NN classifier on the clean
    features with the same noisy labels, mean over seeds (Section 4.1).
    """
    require_columns(train, ["dataset", "noise", "realised_gamma", "test_acc"], "training table")
    if not noises:
        raise ValueError("plot_noise_types needs at least one noise type")
    dataset = _single_value(train, "dataset", "the training table for Fig. 4")
    summary = aggregate_over_seeds(train)
    absent = [noise for noise in noises if noise not in set(summary["noise"])]
    if absent:
        raise ValueError(f"training table has no rows for noise type(s) {absent}; present: {sorted(set(summary['noise']))}")
    knn_rows = _knn_summary(knn, noises) if knn is not None else None

    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(
            1, len(noises), figsize=(4.0 * len(noises), 3.9), sharey=True, squeeze=False, layout="constrained"
        )
        axes = axes[0]
        handles = []
        knn_handle = None
        for index, (ax, noise) in enumerate(zip(axes, noises)):
            rows = summary[summary["noise"] == noise]
            handles.append(_draw_mean_std(ax, rows, "realised_gamma_mean", noise_colour(noise), NOISE_NAMES.get(noise, noise)))
            if knn_rows is not None:
                knn_handle = _draw_knn(ax, knn_rows[knn_rows["noise"] == noise], "realised_gamma_mean")
            if noise == "concentrated":
                gamma = np.linspace(0.0, 1.0, 101)
                (prediction,) = ax.plot(
                    gamma, 1.0 - gamma, linestyle="--", color="black", linewidth=1.3,
                    label="prediction for concentrated noise: accuracy = 1 − noise level", zorder=2,
                )
            ax.set_title(f"({chr(ord('a') + index)}) {dataset}: {NOISE_NAMES.get(noise, noise)}")
            ax.set_xlim(*NOISE_LEVEL_LIMITS)
            ax.set_xlabel(REALISED_LABEL)
            _format_accuracy_axis(ax, show_label=index == 0)
        if "concentrated" in noises:
            handles.append(prediction)
        if knn_handle is not None:
            handles.append(knn_handle)
        # One legend for all panels, below them, where it cannot hide data.
        fig.legend(
            handles=handles, loc="outside lower center", ncol=len(handles) if len(handles) <= 4 else 3, frameon=False,
            title=f"test accuracy, mean ± std over {_seed_count_text(summary[summary['noise'].isin(noises)])}",
        )
    return fig


def _knn_summary(knn: pd.DataFrame, noises: Sequence[str]) -> pd.DataFrame:
    """Seed means of the K-NN baseline table; every noise type drawn must be in it."""
    from labelnoise.knn import knn_summary

    rows = knn_summary(knn)
    absent = [noise for noise in noises if noise not in set(rows["noise"])]
    if absent:
        raise ValueError(f"K-NN table has no rows for noise type(s) {absent}")
    return rows


def _draw_knn(ax, rows: pd.DataFrame, x_column: str):
    """The measured K-NN accuracy (mean over seeds) as an orange dash-dot line with open squares."""
    rows = rows.sort_values(x_column)
    k = int(rows["K"].iloc[0])
    seeds = _seed_count_text(rows)
    (line,) = ax.plot(
        rows[x_column].to_numpy(float), rows["accuracy_mean"].to_numpy(float),
        label=f"K-NN classifier on clean features, K = {k} (mean, {seeds})", gid="knn_baseline", **KNN_STYLE,
    )
    return line


# ---------------------------------------------------------------------------
# Figs. 5, 6, 7: experiment vs the K-NN plurality analysis
# ---------------------------------------------------------------------------


def _validate_confusion(confusion) -> np.ndarray:
    matrix = np.asarray(confusion, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ValueError(f"confusion must be a square (L, L) matrix with L >= 2, got shape {matrix.shape}")
    if np.any(matrix < 0) or not np.allclose(matrix.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("confusion must be row-stochastic: P(noisy | clean) >= 0 with rows summing to 1")
    return matrix


def _draw_confusion(ax, matrix: np.ndarray, fig) -> None:
    """Fig. 7(a): P(noisy | clean) as a heatmap; light colours denote high probability."""
    n_labels = matrix.shape[0]
    image = ax.imshow(matrix, cmap=CONFUSION_COLOUR_MAP, vmin=0.0, vmax=max(float(matrix.max()), 1e-12))
    ax.set_xticks(range(n_labels))
    ax.set_yticks(range(n_labels))
    ax.tick_params(length=0, labelsize=9 if n_labels <= 10 else 7)
    ax.grid(False)
    ax.set_xlabel(r"noisy label $\tilde{y}$")
    ax.set_ylabel(r"clean label $y$")
    colourbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    colourbar.set_label(r"$P(\tilde{y} \mid y)$")


def plot_analytic_comparison(
    empirical: pd.DataFrame,
    analytic: pd.DataFrame,
    fit: pd.DataFrame,
    noise_label: str,
    confusion: np.ndarray | None = None,
    knn: pd.DataFrame | None = None,
) -> Figure:
    """Figs. 5-7: experiment, K-NN plurality analysis (Eq. 2) and their comparison.

    Panels: (a) experimental mean +- std test accuracy against gamma (the
    nominal fraction of labels re-drawn); (b) the analytic accuracy for each K,
    coloured along a sequential map; (c) the experiment with the analytic curve
    at the fitted K (the ``best`` row of ``fit``) and, thinner, its neighbours in
    the fitted K list.  With ``confusion`` (Fig. 7) the matrix P(noisy | clean)
    comes first as a heatmap.  ``empirical`` holds the training rows of one
    dataset and one noise type; ``noise_label`` (e.g. "MNIST, random noise")
    titles the figure.  With ``knn`` (the K-NN baseline table of the same
    noise type) the comparison panel also shows the measured accuracy of a
    K-NN classifier on the clean features, mean over seeds, against gamma.
    """
    require_columns(empirical, ["dataset", "noise", "nominal_gamma", "test_acc"], "empirical training table")
    require_columns(analytic, ["gamma", "K", "accuracy"], "analytic table")
    require_columns(fit, ["K", "rmse", "best"], "fit table")
    noise = _single_value(empirical, "noise", "the empirical table for Figs. 5-7")
    _single_value(empirical, "dataset", "the empirical table for Figs. 5-7")
    matrix = _validate_confusion(confusion) if confusion is not None else None
    knn_rows = _knn_summary(knn, [noise]) if knn is not None else None

    best_rows = fit[fit["best"].astype(bool)]
    if len(best_rows) != 1:
        raise ValueError(f"fit table must mark exactly one row best=True, found {len(best_rows)}")
    best_k = int(best_rows["K"].iloc[0])
    best_rmse = float(best_rows["rmse"].iloc[0])
    analytic_k = sorted(int(k) for k in analytic["K"].unique())
    if analytic_k[0] < 1:
        raise ValueError(f"analytic table has K values below 1: {analytic_k}")
    if best_k not in analytic_k:
        raise ValueError(f"fitted K = {best_k} has no curve in the analytic table (K values {analytic_k})")
    fitted_k_list = sorted(int(k) for k in fit["K"].unique() if int(k) in analytic_k)
    position = fitted_k_list.index(best_k)
    neighbours = fitted_k_list[max(position - 1, 0) : position] + fitted_k_list[position + 1 : position + 2]

    summary = aggregate_over_seeds(empirical)
    colour = noise_colour(noise)
    experiment_label = f"experiment (mean ± std, {_seed_count_text(summary)})"
    norm = k_colour_norm(analytic_k)

    def analytic_curve(k: int) -> pd.DataFrame:
        return analytic[analytic["K"] == k].sort_values("gamma")

    n_panels = 3 if matrix is None else 4
    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(1, n_panels, figsize=(4.0 * n_panels, 3.9), squeeze=False, layout="constrained")
        axes = list(axes[0])
        letters = iter("abcd")
        if matrix is not None:
            ax_confusion = axes.pop(0)
            _draw_confusion(ax_confusion, matrix, fig)
            ax_confusion.set_title(rf"({next(letters)}) Confusion matrix $P(\tilde{{y}} \mid y)$")
        ax_experiment, ax_analytic, ax_comparison = axes

        # (a) Experimental
        _draw_mean_std(ax_experiment, summary, "nominal_gamma", colour, experiment_label)
        ax_experiment.set_title(f"({next(letters)}) Experimental")

        # (b) Analytical: one curve per K, colour bar over K (log scale)
        for k in analytic_k:
            curve = analytic_curve(k)
            ax_analytic.plot(curve["gamma"], curve["accuracy"], color=k_colour(k, norm), linewidth=1.4, label=f"K = {k}")
        ax_analytic.set_title(f"({next(letters)}) Analytical (K-NN plurality)")
        mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=_k_colour_map())
        colourbar = fig.colorbar(mappable, ax=ax_analytic, fraction=0.05, pad=0.02)
        colourbar.set_label("K (neighbours)")
        colourbar.minorticks_off()
        colourbar.set_ticks(_k_ticks(analytic_k))
        colourbar.set_ticklabels([str(k) for k in _k_ticks(analytic_k)])

        # (c) Comparison at the fitted K, with its neighbours in the K list.  The
        # analytic curves are black/grey here: any K colour could be mistaken for
        # the experiment's noise colour when the two curves lie on top of each other.
        curve = analytic_curve(best_k)
        fitted_label = f"analytic, fitted K = {best_k} (RMSE {best_rmse:.3f})"
        (fitted_line,) = ax_comparison.plot(
            curve["gamma"], curve["accuracy"], color="black", linewidth=2.0,
            label=fitted_label, gid="analytic_fitted", zorder=2.5,
        )
        neighbour_lines = []
        for k in neighbours:
            curve = analytic_curve(k)
            (line,) = ax_comparison.plot(
                curve["gamma"], curve["accuracy"], color="0.45", linewidth=1.2,
                linestyle="--" if k < best_k else ":", label=f"analytic, K = {k}", zorder=2,
            )
            neighbour_lines.append(line)
        experiment = _draw_mean_std(ax_comparison, summary, "nominal_gamma", colour, experiment_label)
        legend_handles = [experiment, fitted_line, *neighbour_lines]
        if knn_rows is not None:
            legend_handles.append(_draw_knn(ax_comparison, knn_rows[knn_rows["noise"] == noise], "nominal_gamma"))
        ax_comparison.set_title(f"({next(letters)}) Comparison")
        # One legend for panels (a) and (c), below the figure, where it cannot hide curves.
        fig.legend(
            handles=legend_handles, loc="outside lower center",
            ncol=len(legend_handles) if len(legend_handles) <= 4 else 3, frameon=False, columnspacing=1.5,
        )

        for ax in (ax_experiment, ax_analytic, ax_comparison):
            ax.set_xlim(*NOISE_LEVEL_LIMITS)
            ax.set_xlabel(GAMMA_LABEL)
            _format_accuracy_axis(ax)  # each panel labelled: the K colour bar sits beside the next one
        fig.suptitle(noise_label)
    return fig


def _k_ticks(k_values: Sequence[int], max_ticks: int = 10) -> list[int]:
    """A readable subset of the K values for a colour bar: both ends kept, the rest spread through the list."""
    k_values = sorted(k_values)
    if len(k_values) <= max_ticks:
        return list(k_values)
    picks = np.unique(np.round(np.linspace(0, len(k_values) - 1, max_ticks)).astype(int))
    return [k_values[i] for i in picks]


# ---------------------------------------------------------------------------
# Figs. 8, 9 (Appendix A): softmax output vs K-NN label histogram
# ---------------------------------------------------------------------------


def plot_preferred_k_and_distances(
    preferred_k, distance, k_values: Sequence[int], title: str,
    paper_median: float | None = None, definition: str | None = None, tied_fraction: float | None = None,
) -> Figure:
    """Fig. 8: (a) how often each K is a test sample's preferred K; (b) the chi-square distances there.

    ``preferred_k`` and ``distance`` hold one value per test sample (the K of
    least chi-square distance between softmax and K-NN label histogram, and
    that distance).  Panel (b) marks the median and writes it, beside the
    paper's value (``paper_median``) when given; ``definition`` (the
    chi-square formula) is written under the panels; ``tied_fraction`` (the
    share of samples whose minimum several K reach, resolved to the smallest)
    is written in panel (a).
    """
    preferred_k = np.asarray(preferred_k)
    distance = np.asarray(distance, dtype=float)
    k_values = np.sort(np.asarray(list(k_values)))
    if preferred_k.ndim != 1 or preferred_k.shape != distance.shape or preferred_k.size == 0:
        raise ValueError(f"preferred_k {preferred_k.shape} and distance {distance.shape} must be equal, non-empty 1-D")
    if not np.isin(preferred_k, k_values).all():
        raise ValueError(f"preferred K values {sorted(set(preferred_k.tolist()) - set(k_values.tolist()))} are not in the K list")
    if (distance < 0).any() or not np.isfinite(distance).all():
        raise ValueError("distances must be finite and non-negative")
    counts = np.array([(preferred_k == k).sum() for k in k_values])
    median = float(np.median(distance))
    gap = float(np.diff(k_values).min()) if len(k_values) > 1 else 1.0

    with plt.rc_context(paper_rc()):
        fig, (ax_k, ax_d) = plt.subplots(1, 2, figsize=(10.5, 4.0), layout="constrained")
        ax_k.bar(k_values, counts / len(preferred_k), width=0.8 * gap, color=KNN_HISTOGRAM_COLOUR, gid="preferred_k")
        ax_k.set_xlabel("preferred K (neighbours)")
        ax_k.set_ylabel("fraction of test samples")
        ax_k.set_title("(a) preferred K")
        if tied_fraction is not None:
            ax_k.text(0.97, 0.95, f"minimum shared by several K: {tied_fraction:.0%}\n(then the smallest K counts)",
                      transform=ax_k.transAxes, ha="right", va="top", fontsize=9.5,
                      bbox=dict(boxstyle="round", facecolor="white", edgecolor=".7"))
        ax_k.set_xlim(k_values.min() - gap, k_values.max() + gap)
        ax_k.grid(axis="x", visible=False)

        top = max(float(distance.max()), 1e-3)
        bins = np.linspace(0.0, top * 1.0001, 41)
        ax_d.hist(distance, bins=bins, weights=np.full(len(distance), 1.0 / len(distance)),
                  color=SOFTMAX_COLOUR, gid="chi2_histogram")
        ax_d.axvline(median, color="black", linestyle="--", linewidth=1.5, gid="median")
        text = f"median = {median:.4f}"
        if paper_median is not None:
            text += f"\npaper (CIFAR-10) = {paper_median:g}"
        ax_d.text(0.97, 0.95, text, transform=ax_d.transAxes, ha="right", va="top", fontsize=10.5,
                  bbox=dict(boxstyle="round", facecolor="white", edgecolor=".7"))
        ax_d.set_xlabel(r"$\chi^2$ distance at the preferred K")
        ax_d.set_ylabel("fraction of test samples")
        ax_d.set_title(r"(b) $\chi^2$(softmax, K-NN histogram)")
        ax_d.set_xlim(0.0, top * 1.02)
        fig.suptitle(title)
        if definition:
            fig.supxlabel(definition + f"   ({len(distance)} test samples)", fontsize=10)
    return fig


def plot_softmax_knn_pairs(examples: list[dict], class_names: Sequence[str] | None = None, title: str = "") -> Figure:
    """Fig. 9: softmax output (left, green) beside the K-NN label histogram at the preferred K (right, blue).

    One pair per dict: ``softmax`` (L,), ``histogram`` (L,), ``label`` (true
    label, black bar edge), ``K``, ``chi2`` and ``name`` (e.g. the test index).
    Pairs are laid out two per row.
    """
    if not examples:
        raise ValueError("plot_softmax_knn_pairs needs at least one example")
    n_labels = None
    for index, example in enumerate(examples):
        _require_keys(example, ("softmax", "histogram", "label", "K", "chi2", "name"), f"example {index}")
        shapes = {np.shape(example["softmax"]), np.shape(example["histogram"])}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"example {index}: softmax and histogram must be 1-D of one length, got {shapes}")
        n_labels = n_labels or len(example["softmax"])
        if len(example["softmax"]) != n_labels or not 0 <= int(example["label"]) < n_labels:
            raise ValueError(f"example {index}: {len(example['softmax'])} labels (expected {n_labels}) or label out of range")
    names = _label_names(class_names, n_labels)
    if len(names) != n_labels:
        raise ValueError(f"class_names has {len(names)} names for {n_labels} labels")
    long_names = max(len(name) for name in names) > 2
    n_rows = (len(examples) + 1) // 2
    n_cols = min(2, len(examples))
    positions = np.arange(n_labels)

    with plt.rc_context(paper_rc()):
        fig = plt.figure(figsize=(n_cols * max(5.2, 0.42 * n_labels + 1.2), n_rows * (3.0 if long_names else 2.6) + 0.5),
                         layout="constrained")
        subfigures = np.atleast_1d(fig.subfigures(n_rows, n_cols, squeeze=False).ravel())
        for subfig, example in zip(subfigures, examples):
            label = int(example["label"])
            subfig.suptitle(
                f"{example['name']} (label {names[label]}): " + r"$\chi^2$" + f" = {float(example['chi2']):.3f}",
                fontsize=10.5,
            )
            axes = subfig.subplots(1, 2, sharey=True)
            panels = ((example["softmax"], SOFTMAX_COLOUR, "softmax output"),
                      (example["histogram"], KNN_HISTOGRAM_COLOUR, f"K-NN histogram, K = {int(example['K'])}"))
            for ax, (values, colour, caption) in zip(axes, panels):
                bars = ax.bar(positions, np.asarray(values, dtype=float), width=0.75, color=colour, linewidth=0)
                bars[label].set_edgecolor(GROUND_TRUTH_EDGE["edgecolor"])
                bars[label].set_linewidth(GROUND_TRUTH_EDGE["linewidth"])
                bars[label].set_gid("ground_truth")
                ax.set_title(caption, fontsize=9.5)
                ax.set_ylim(0.0, 1.0)
                ax.set_xlim(-0.7, n_labels - 0.3)
                ax.set_xticks(positions)
                ax.set_xticklabels(names, rotation=90 if long_names else 0, fontsize=8.5 if long_names else 9)
                ax.tick_params(axis="x", length=0, pad=2)
                ax.grid(axis="x", visible=False)
            axes[0].set_ylabel("probability")
            axes[0].set_yticks([0, 0.5, 1])
        for subfig in subfigures[len(examples):]:
            subfig.set_visible(False)
        legend_handle = matplotlib.patches.Patch(facecolor="white", label="ground-truth label", **GROUND_TRUTH_EDGE)
        fig.legend(handles=[legend_handle], loc="outside lower right", frameon=False)
        if title:
            fig.suptitle(title, fontsize=12)
    return fig
