"""Fig. 12 (beyond the paper): instance-dependent and human-label noise against the class-conditional theory (Eq. 6)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labelnoise import noise_types
from labelnoise.plots.common import (
    ACCURACY_LIMITS, KNN_STYLE, NOISE_NAMES, REALISED_LABEL, draw_mean_std, format_accuracy_axis, level_limits,
    noise_colour, paper_rc,
)


def _draw_instance(ax, rows: pd.DataFrame, clean: dict | None = None) -> None:
    """Accuracy against the realised noise level: the CNN (mean +- std), the K-NN baseline, the class-conditional theory;
    with ``clean``, the CNN and the K-NN on clean labels (gamma 0) start their curves."""
    rows = rows.sort_values("realised_gamma_mean")
    cnn, knn = rows, rows
    if clean is not None:
        start = pd.DataFrame([dict(clean, realised_gamma_mean=0.0)])
        cnn = pd.concat([start, rows], ignore_index=True)
        knn = cnn.dropna(subset=["knn_acc"])
    cnn_label = "CNN (mean ± std)" + ("; at 0 the nets trained on clean labels" if clean is not None else "")
    draw_mean_std(ax, cnn, "realised_gamma_mean", noise_colour("instance"), cnn_label)
    ax.plot(knn["realised_gamma_mean"], knn["knn_acc"], label=f"K-NN on clean features, K = {int(rows['knn_K'].iloc[0])}",
            gid="knn", **KNN_STYLE)
    ax.plot(rows["realised_gamma_mean"], rows["analytic_acc"], color="black", linewidth=1.8, marker="D", markersize=4,
            gid="analytic",
            label=f"class-conditional theory: Eq. 6 with the realised P(noisy | clean), K = {int(rows['analytic_K'].iloc[0])}")
    ax.set_xlim(*level_limits(cnn["realised_gamma_mean"]))
    ax.set_xlabel(REALISED_LABEL)
    format_accuracy_axis(ax)


def _draw_human(ax, rows: pd.DataFrame) -> None:
    """One group of bars per human label set: the CNN, the K-NN baseline and the class-conditional theory."""
    rows = rows.sort_values("realised_gamma_mean")
    x = np.arange(len(rows))
    width = 0.26
    ax.bar(x - width, rows["test_acc_mean"], width, yerr=rows["test_acc_std"].fillna(0.0), color=noise_colour("human"),
           capsize=2.5, label="CNN (mean ± std)", gid="cnn")
    ax.bar(x, rows["knn_acc"], width, color=KNN_STYLE["color"], label=f"K-NN on clean features, K = {int(rows['knn_K'].iloc[0])}",
           gid="knn")
    ax.bar(x + width, rows["analytic_acc"], width, color="0.25", gid="analytic",
           label=f"class-conditional theory: Eq. 6 with the realised P(noisy | clean), K = {int(rows['analytic_K'].iloc[0])}")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{level}\n(noise {gamma:.1%})" for level, gamma in zip(rows["level"], rows["realised_gamma_mean"])])
    ax.set_ylim(*ACCURACY_LIMITS)
    ax.set_xlabel("human label set")


def plot_fig12_realised_noise(table: pd.DataFrame, dataset: str, clean: dict | None = None) -> Figure:
    """Fig. 12: where the paper's class-conditional theory (Eq. 6) meets noise that is not class-conditional.

    One panel per noise type present in ``table``
    (:func:`labelnoise.summary.class_conditional_comparison`): instance-dependent
    noise as accuracy against the realised noise level, human labels as one
    group of bars per label set.  The theory's curve uses the realised
    transition matrix of the noisy labels and the K fitted to random noise.
    ``clean`` (optional: ``test_acc_mean``, ``test_acc_std``, ``n_seeds`` of
    the nets trained on clean labels, ``knn_acc`` of the K-NN with them, NaN
    if not run) adds the clean point, gamma 0, to the instance panel's curves.
    """
    noises = [noise for noise in noise_types.names(theory="realised") if noise in set(table["noise"])]
    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(1, len(noises), figsize=(5.6 * len(noises), 5.2), squeeze=False, layout="constrained")
        for index, (ax, noise) in enumerate(zip(axes[0], noises)):
            if noise == "instance":
                _draw_instance(ax, table[table["noise"] == noise], clean)
            else:
                _draw_human(ax, table[table["noise"] == noise])
            letter = f"({chr(ord('a') + index)}) " if len(noises) > 1 else ""
            ax.set_title(f"{letter}{dataset}: {NOISE_NAMES[noise]}")
        for ax in axes[0]:  # below each panel, where it hides no data
            ax.legend(fontsize=8.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
        fig.suptitle("Noise that is not class-conditional against the class-conditional theory")
    return fig
