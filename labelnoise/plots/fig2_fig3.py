"""Figs. 2 and 3: softmax outputs of noisy-label nets on single test images (Fig. 3 adds the clean vs noisy region)."""

from __future__ import annotations

from collections.abc import Sequence


import matplotlib
import matplotlib.cm
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labelnoise.knn import nearest_neighbours, noisy_neighbour_fraction, region_examples
from labelnoise.plots.common import GROUND_TRUTH_EDGE, class_label_texts, noise_colour, paper_rc


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
        "title": f"{noise} noise, {level}: test accuracy {100 * run['test_acc']:.1f}% (the net of seed {run['seed_index'] + 1})",
        "softmax": softmax[examples],
        "true_labels": labels[examples],
    }


def fig3_region_row(train_features, test_features, test_labels, noisy_labels, clean_labels, softmax, K: int,
                    rng: np.random.Generator, class_names: Sequence[str]) -> tuple[dict, str]:
    """The last row of Fig. 3 (the paper's panels g, h) and a line for the log.

    Two test samples of one class seen by the same concentrated-noise net
    (its ``softmax``, and ``noisy_labels`` it trained on): one whose K nearest
    training samples (clean feature space) kept their labels, and one whose
    neighbours were mostly flipped, so it lies inside a flipped cluster
    (:func:`labelnoise.knn.region_examples`).
    """
    neighbours = nearest_neighbours(train_features, test_features, K)
    fraction = noisy_neighbour_fraction(neighbours, noisy_labels, clean_labels)
    clean_index, noisy_index = region_examples(fraction, test_labels, rng)
    flipped_to = np.bincount(noisy_labels[neighbours[noisy_index]], minlength=len(class_names)).argmax()
    pair = np.array([clean_index, noisy_index])
    row = {
        "title": f"concentrated noise, the same net: clean vs noisy region (flipped share of the {K} nearest training samples)",
        "softmax": softmax[pair], "true_labels": test_labels[pair],
        "subtitles": [f"clean region: {fraction[clean_index]:.0%} flipped",
                      f"noisy region: {fraction[noisy_index]:.0%} flipped to {class_names[flipped_to]}"],
    }
    message = (f"clean-region test sample {clean_index} ({fraction[clean_index]:.2f} flipped), noisy-region {noisy_index} "
               f"({fraction[noisy_index]:.2f} flipped, predicted {class_names[softmax[noisy_index].argmax()]}, "
               f"true {class_names[test_labels[noisy_index]]})")
    return row, message


def _rows_with_names(rows: list[dict]) -> set[int]:
    """The rows whose bar charts carry the (long, rotated) class names: the last row, and every row above a row of
    fewer bar charts (Fig. 3's clean/noisy-region pair), whose other charts would otherwise have no names below."""
    counts = [np.asarray(row["softmax"]).shape[0] for row in rows]
    return {len(rows) - 1} | {index for index in range(len(rows) - 1) if counts[index + 1] < counts[index]}


def plot_fig2_softmax_examples(rows: list[dict], class_names: list[str] | None = None) -> Figure:
    """Figs. 2/3: softmax outputs of noisy-label networks on single test images.

    One figure row per dict (``title``, ``softmax`` (n_examples, L),
    ``true_labels`` (n_examples,), optional ``noise`` for the bar colour and
    optional ``subtitles``, one caption per example), one bar chart per
    example; the ground-truth bar has a thick black edge, as in the paper.  The bars show how the softmax mirrors the local label
    distribution: about 1 - gamma + gamma/L on the true label under random noise.  Short labels (digits) are
    written under every chart; long class names, rotated, under the last row and under every row above a shorter
    one (:func:`_rows_with_names`), so that every chart has the names at the foot of its column.
    """
    n_labels = np.shape(rows[0]["softmax"])[1]

    n_rows = len(rows)
    n_cols = max(np.asarray(row["softmax"]).shape[0] for row in rows)
    long_names = class_names is not None and max(len(name) for name in class_names) > 2
    tick_labels = class_label_texts(class_names, n_labels)
    named = _rows_with_names(rows) if long_names else set(range(n_rows))
    panel_width = max(1.9, 0.2 * n_labels + 0.4)
    row_height = 2.2
    # A row that holds rotated class names gets that much more height, so that its bar charts are as tall as
    # those of the other rows; the bottom row also holds the "label" axis title of short names.
    names_height = 0.07 * max(len(name) for name in tick_labels) + 0.1 if long_names else 0.0
    height_ratios = [row_height + (names_height if index in named else 0.0) for index in range(n_rows)]
    height_ratios[-1] += 0.0 if long_names else 0.2

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
                    ax.set_xticklabels(tick_labels if row_index in named else [], rotation=90, fontsize=9)
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
