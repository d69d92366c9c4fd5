"""Figs. 8 and 9 (Appendix A): the K whose label histogram is closest to the softmax, and example pairs."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.cm
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from labelnoise.plots.common import (
    GROUND_TRUTH_EDGE, KNN_HISTOGRAM_COLOUR, SOFTMAX_COLOUR, class_label_texts, paper_rc,
)


#: At most this share of the test samples (the farthest outliers) may lie past the chi-square axis of Fig. 8(b):
#: a few samples far out would otherwise stretch the axis to twice where the bars end (CIFAR-10: 0.4 for 0.2).
OUTLIER_SHARE = 0.001


def chi2_axis_end(distance: np.ndarray) -> float:
    """Where Fig. 8(b)'s histogram ends: the largest distance once the farthest OUTLIER_SHARE of samples are left out."""
    ordered = np.sort(np.asarray(distance, dtype=float))
    return max(float(ordered[len(ordered) - 1 - int(OUTLIER_SHARE * len(ordered))]), 1e-3)


def _draw_chi2(ax, distance: np.ndarray, median: float, paper_median: float | None) -> None:
    """Fig. 8(b): the histogram of the chi-square distances on an axis fitted to them, the median (dashed) and the
    paper's median (dotted where it falls on the axis; the box says where it lies otherwise); a note counts the
    samples past the axis."""
    top = chi2_axis_end(distance)
    bins = np.linspace(0.0, top * 1.0001, 41)
    ax.hist(distance, bins=bins, weights=np.full(len(distance), 1.0 / len(distance)), color=SOFTMAX_COLOUR,
            gid="chi2_histogram")
    ax.axvline(median, color="black", linestyle="--", linewidth=1.5, gid="median")
    end = top * 1.04
    text = f"median = {median:.3g} (dashed)"  # 1.54e-06 on a nearly one-hot softmax, not 0.0000
    if paper_median is not None and paper_median <= end:
        ax.axvline(paper_median, color="0.4", linestyle=":", linewidth=1.6, gid="paper_median")
        text += f"\npaper (CIFAR-10) = {paper_median:g} (dotted)"
    elif paper_median is not None:
        text += f"\npaper (CIFAR-10) = {paper_median:g},\nright of this axis"
    beyond = int((distance > bins[-1]).sum())
    if beyond:
        samples = f"{beyond} sample{'s' if beyond > 1 else ''} ({beyond / len(distance):.2%})"
        text += f"\n{samples} past the axis,\nup to {distance.max():.3g}"
    ax.text(0.97, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize=10.5,
            bbox=dict(boxstyle="round", facecolor="white", edgecolor=".7"))
    ax.set_xlabel(r"$\chi^2$ distance at the preferred K")
    ax.set_ylabel("fraction of test samples")
    ax.set_title(r"(b) $\chi^2$(softmax, K-NN histogram)")
    ax.set_xlim(0.0, end)


def plot_fig8_preferred_k(
    preferred_k, distance, k_values: Sequence[int], title: str,
    paper_median: float | None = None, definition: str | None = None, tied_fraction: float | None = None,
) -> Figure:
    """Fig. 8: (a) how often each K is a test sample's preferred K; (b) the chi-square distances there.

    ``preferred_k`` and ``distance`` hold one value per test sample (the K of
    least chi-square distance between softmax and K-NN label histogram, and
    that distance).  Panel (b) marks the median and writes it, beside the
    paper's value (``paper_median``) when given, on an axis fitted to the
    distances (:func:`chi2_axis_end`); ``definition`` (the
    chi-square formula) is written under the panels; ``tied_fraction`` (the
    share of samples whose minimum several K reach, resolved to the smallest)
    is written in panel (a).
    """
    preferred_k = np.asarray(preferred_k)
    distance = np.asarray(distance, dtype=float)
    k_values = np.sort(np.asarray(list(k_values)))
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

        _draw_chi2(ax_d, distance, median, paper_median)
        fig.suptitle(title)
        if definition:
            fig.supxlabel(definition + f"   ({len(distance)} test samples)", fontsize=12)
    return fig


def plot_fig9_softmax_knn_pairs(examples: list[dict], class_names: Sequence[str] | None = None, title: str = "") -> Figure:
    """Fig. 9: softmax output (left, green) beside the K-NN label histogram at the preferred K (right, blue).

    One pair per dict: ``softmax`` (L,), ``histogram`` (L,), ``label`` (true
    label, black bar edge), ``K``, ``chi2`` and ``name`` (e.g. the test index).
    Pairs are laid out two per row.
    """
    n_labels = len(examples[0]["softmax"])
    names = class_label_texts(class_names, n_labels)
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
                f"{example['name']} (label {names[label]}): " + r"$\chi^2$" + f" = {float(example['chi2']):.3g}",
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
