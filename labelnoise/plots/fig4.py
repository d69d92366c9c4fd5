"""Fig. 4: test accuracy against the noise level, one panel per noise type (with the K-NN baseline)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labelnoise.analytic import concentrated_noise_accuracy
from labelnoise import noise_types
from labelnoise.tables import aggregate_over_seeds
from labelnoise.plots.common import (
    NOISE_LEVEL_LIMITS, NOISE_NAMES, REALISED_LABEL, draw_knn, draw_mean_std, format_accuracy_axis, knn_seed_means,
    noise_colour, paper_rc, seed_count_text,
)


#: Under the panels of Fig. 4: its x axis is not the one of Figs. 5-7.
REALISED_NOTE = (r"x axes: the realised noise (share of training labels that differ from the clean ones), not the nominal "
                 r"$\gamma$ of Figs. 5-7 (share re-drawn; random noise re-draws about 1/L of those to their own class, "
                 r"so realised $\approx\gamma(1-1/L)$)")  # no space inside $...$: textwrap may break the line


def plot_fig4_noise_types(
    train: pd.DataFrame, noises: Sequence[str] | None = None, knn: pd.DataFrame | None = None
) -> Figure:
    """Fig. 4: test accuracy against the realised noise level, one panel per noise type.

    Points are the mean over seeds with +-1 standard deviation; x is the mean
    fraction of training labels that actually differ from the clean ones.  The
    concentrated panel adds the paper's prediction (Section 5: with
    concentrated noise a net has no resistance at all), accuracy = a0 (1 - gamma)
    with a0 the CNN's mean clean accuracy (random noise at level 0, where
    trained; else 1, the paper's 1 - gamma).
    With ``knn`` (the table of ``labelnoise.knn.knn_noise_table``, one K) each
    panel also shows the measured accuracy of a K-NN classifier on the clean
    features with the same noisy labels, mean over seeds (Section 4.1).
    """
    noises = noise_types.drawn_in("fig4_panel", paper_only=True) if noises is None else noises
    dataset = str(train["dataset"].iloc[0])
    summary = aggregate_over_seeds(train)
    knn_rows = knn_seed_means(knn, noises) if knn is not None else None

    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(
            1, len(noises), figsize=(4.0 * len(noises), 3.9), sharey=True, squeeze=False, layout="constrained"
        )
        axes = axes[0]
        handles = []
        knn_handle = None
        for index, (ax, noise) in enumerate(zip(axes, noises)):
            rows = summary[summary["noise"] == noise]
            handles.append(draw_mean_std(ax, rows, "realised_gamma_mean", noise_colour(noise), NOISE_NAMES.get(noise, noise)))
            if knn_rows is not None:
                knn_handle = draw_knn(ax, knn_rows[knn_rows["noise"] == noise], "realised_gamma_mean")
            if noise == "concentrated":
                gamma = np.linspace(0.0, 1.0, 101)
                clean = summary[(summary["noise"] == "random") & (summary["realised_gamma_mean"] == 0)]["test_acc_mean"]
                a0 = float(clean.iloc[0]) if len(clean) else 1.0
                text = "1 − noise level" if a0 == 1.0 else f"{a0:.3f} (clean accuracy) × (1 − noise level)"
                (prediction,) = ax.plot(
                    gamma, concentrated_noise_accuracy(gamma, a0), linestyle="--", color="black", linewidth=1.3,
                    label=f"prediction for concentrated noise: accuracy = {text}", zorder=2,
                )
            ax.set_title(f"({chr(ord('a') + index)}) {dataset}: {NOISE_NAMES.get(noise, noise)}")
            ax.set_xlim(*NOISE_LEVEL_LIMITS)
            ax.set_xlabel(REALISED_LABEL)
            format_accuracy_axis(ax, show_label=index == 0)
        if "concentrated" in noises:
            handles.append(prediction)
        if knn_handle is not None:
            handles.append(knn_handle)
        # One legend for all panels, below them, where it cannot hide data; its title says what x is.
        legend = fig.legend(
            handles=handles, loc="outside lower center", ncol=len(handles) if len(handles) <= 4 else 3, frameon=False,
            title=f"test accuracy, mean ± std over {seed_count_text(summary[summary['noise'].isin(noises)])}\n"
                  + textwrap.fill(REALISED_NOTE, width=45 * len(noises), break_on_hyphens=False),
        )
        legend.get_title().set_multialignment("center")
    return fig
