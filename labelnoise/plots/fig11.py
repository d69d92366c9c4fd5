"""Fig. 11 (beyond the paper): the fitted K of random noise against the number of training samples per class."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from labelnoise.plots.common import ACCURACY_LIMITS, noise_colour, paper_rc


def plot_fig11_effective_k_vs_data(scaling: pd.DataFrame) -> Figure:
    """Fig. 11: (a) the K whose analytic curve fits the measured random-noise accuracy, against training samples per
    class (an open marker: the fit sits at the grid's largest K, a lower bound); (b) the CNN's accuracy at the
    scaling level (mean +- std over seeds).  ``scaling`` is :func:`labelnoise.scaling.scaling_table` output."""
    scaling = scaling.sort_values("n_train_per_class")
    x = scaling["n_train_per_class"].to_numpy(float)
    colour = noise_colour("random")
    with plt.rc_context(paper_rc()):
        fig, (ax_k, ax_acc) = plt.subplots(1, 2, figsize=(9.2, 3.9), layout="constrained")
        ax_k.plot(x, scaling["fitted_K"], color=colour, linewidth=1.4, zorder=2)
        edge = scaling["K_at_grid_edge"].astype(bool).to_numpy()
        ax_k.plot(x[~edge], scaling["fitted_K"][~edge], "o", color=colour, markersize=7, gid="fitted_K")
        ax_k.plot(x[edge], scaling["fitted_K"][edge], "o", color=colour, markerfacecolor="white", markersize=7,
                  gid="fitted_K_at_edge", label="at the K grid's top (a lower bound)")
        for xi, row in zip(x, scaling.itertuples()):
            ax_k.annotate(f"K = {row.fitted_K}\nRMSE {row.rmse:.3f}", (xi, row.fitted_K), textcoords="offset points",
                          xytext=(0, 8), ha="center", fontsize=8)
        ax_k.set_xscale("log")
        ax_k.set_yscale("log")
        ks = sorted(scaling["fitted_K"].unique())
        ax_k.set_ylim(ks[0] / 1.8, ks[-1] * 2.2)  # room for the labels above the markers
        ax_k.set_yticks(ks)
        ax_k.set_yticklabels([str(k) for k in ks])
        ax_k.set_xlabel("training samples per class")
        ax_k.set_ylabel("fitted K (random noise)")
        ax_k.set_title("(a) The K fitted to the accuracy curve, against the data")
        if edge.any():
            ax_k.legend(fontsize=8, frameon=False, loc="upper left")
        if "fit" in scaling and str(scaling["fit"].iloc[0]).startswith("relative"):  # why its RMSE is not Fig. 5's
            ax_k.text(0.98, 0.03, "curves fitted relative to each set's\nclean accuracy (Fig. 5: absolute)",
                      transform=ax_k.transAxes, ha="right", va="bottom", fontsize=7.5, color="0.3")
        level = scaling["level"].iloc[0]
        ax_acc.errorbar(x, scaling["cnn_acc_mean"], yerr=scaling["cnn_acc_std"].fillna(0.0), color=colour, marker="o",
                        capsize=2.5, gid="cnn_accuracy")
        ax_acc.set_xscale("log")
        ax_acc.set_ylim(*ACCURACY_LIMITS)
        ax_acc.set_xlabel("training samples per class")
        ax_acc.set_ylabel(f"CNN test accuracy at {level} random noise")
        ax_acc.set_title(f"(b) CNN at gamma = {level}")
        for ax in (ax_k, ax_acc):
            ax.set_xlim(x[0] / 1.3, x[-1] * 1.3)
            ax.set_xticks(x)
            ax.set_xticklabels([f"{value:.0f}" for value in x])
            ax.minorticks_off()
    return fig
