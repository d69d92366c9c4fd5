"""Fig. 10 (beyond the paper): does the CNN err on the same test samples as a K-NN? Agreement against K, and chance."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from labelnoise.plots.common import ACCURACY_LIMITS, NOISE_NAMES, k_ticks, level_limits, noise_colour, paper_rc


#: Levels drawn per noise type in the top row: the lowest, middle and highest noise.
LEVELS_SHOWN = 3
#: The CNN's accuracy in the bottom row: over the agreement line it may lie on, thin, dotted, open squares.
CNN_ACCURACY_STYLE = dict(color="0.35", marker="s", markersize=4.5, markerfacecolor="white", markeredgewidth=1.0,
                          linestyle=":", linewidth=1.3, zorder=3.5)


def shown_levels(levels: pd.DataFrame) -> list[str]:
    """Up to LEVELS_SHOWN levels of one noise type, spread from the least to the most noise (by nominal gamma)."""
    ordered = levels.drop_duplicates("level").sort_values("nominal_gamma")["level"].tolist()
    picks = np.unique(np.round(np.linspace(0, len(ordered) - 1, min(LEVELS_SHOWN, len(ordered)))).astype(int))
    return [ordered[i] for i in picks]


def _level_text(level: str, gamma: float, realised: dict[str, float]) -> str:
    """A legend entry for a level: its gamma; k clusters per class (concentrated, with the realised gamma where
    ``realised`` has it) or a label set's name (human) beside it."""
    if level == f"{gamma:.2f}":
        return rf"$\gamma$ = {gamma:.2f}"
    if level.isdigit():
        return rf"k = {level} (realised $\gamma$ = {realised[level]:.2f})" if level in realised else f"k = {level}"
    return rf"{level} ($\gamma$ = {gamma:.2f})"


def _draw_agreement_vs_k(ax, rows: pd.DataFrame, best: pd.DataFrame, colour_of: dict[str, tuple],
                         realised: dict[str, float]) -> None:
    """Top row: the agreement (solid) and the agreement expected by chance (dashed) against K, one colour per level."""
    for level, colour in colour_of.items():
        curve = rows[rows["level"] == level].sort_values("K")
        gamma = curve["nominal_gamma"].iloc[0]
        ax.plot(curve["K"], curve["agreement_mean"], color=colour, marker="o", markersize=3.5, linewidth=1.6,
                label=_level_text(level, gamma, realised), gid="agreement")
        ax.plot(curve["K"], curve["chance_agreement_mean"], color=colour, linestyle="--", linewidth=1.1, gid="chance")
        effective = best[best["level"] == level].iloc[0]
        ax.plot([effective["effective_K"]], [effective["agreement_mean"]], marker="*", markersize=12, zorder=4,
                color="white" if effective["K_at_grid_edge"] else colour, markeredgecolor="black", markeredgewidth=0.6,
                linestyle="none", gid="effective_K")
    fitted = best["fitted_K"].dropna()
    if len(fitted):
        ax.axvline(fitted.iloc[0], color="0.3", linestyle=":", linewidth=1.3, gid="fitted_K",
                   label=f"K fitted to the accuracy curve: {int(fitted.iloc[0])}")
    ks = sorted(rows["K"].unique())
    ax.set_xscale("log")
    ax.set_xticks(k_ticks(ks, max_ticks=7))
    ax.set_xticklabels([str(k) for k in k_ticks(ks, max_ticks=7)])
    ax.minorticks_off()
    ax.set_xlabel("K (neighbours that vote)")
    ax.set_ylim(*ACCURACY_LIMITS)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)  # below: hides no curve


def _draw_vs_noise(ax, best: pd.DataFrame, colour: str) -> None:
    """Bottom row: at the effective K of every level, the agreement, chance, and the CNN's errors the K-NN shares.

    The CNN's accuracy is drawn last, thin and dotted with open squares, so that it stays visible where it lies on
    the agreement. Concentrated noise's levels are cluster counts k: its x axis spans them at x = 1/k, ticked with k.
    """
    best = best.sort_values("nominal_gamma")
    x = best["nominal_gamma"].to_numpy(float)
    ax.errorbar(x, best["agreement_mean"], yerr=best["agreement_std"], color=colour, marker="o", markersize=4,
                capsize=2.5, label="agreement at the effective K", gid="agreement_best")
    ax.plot(x, best["chance_agreement_mean"], color=colour, linestyle="--", linewidth=1.2)
    ax.plot(x, best["same_wrong_label_mean"], color="black", marker="v", markersize=4, linewidth=1.1)
    ax.plot(x, best["cnn_accuracy_mean"], gid="cnn_accuracy", **CNN_ACCURACY_STYLE)
    ax.set_ylim(*ACCURACY_LIMITS)
    if best["level"].astype(str).str.isdigit().all():  # concentrated noise: k clusters per class, one relabelled
        ax.set_xlim(*level_limits(x))
        ax.set_xticks(x)
        ax.set_xticklabels(best["level"].astype(str))
        ax.set_xlabel("k clusters per class (one relabelled; at x = 1/k)")
    else:
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel(r"noise level $\gamma$ (nominal)")


def _bottom_legend() -> list[Line2D]:
    """Legend of the bottom row, in neutral colours: each panel draws the agreement in its noise type's colour."""
    return [
        Line2D([], [], color="0.25", marker="o", markersize=4, label="agreement at the effective K (mean ± std)"),
        Line2D([], [], color="0.25", linestyle="--", label="by chance (independent given the class)"),
        Line2D([], [], color="black", marker="v", markersize=4, label="CNN errors where the K-NN has the same wrong label"),
        Line2D([], [], label="CNN accuracy", **CNN_ACCURACY_STYLE),
    ]


def _realised_of(realised: pd.DataFrame | None, noise: str) -> dict[str, float]:
    """Level -> realised gamma of one noise type (empty without ``realised``)."""
    if realised is None:
        return {}
    rows = realised[realised["noise"] == noise]
    return dict(zip(rows["level"].astype(str), rows["realised_gamma_mean"].astype(float)))


def plot_fig10_agreement(per_k: pd.DataFrame, best: pd.DataFrame, realised: pd.DataFrame | None = None) -> Figure:
    """Fig. 10: CNN vs K-NN agreement per test sample, one column per noise type.

    Top: agreement against K at a low, a middle and a high noise level (solid),
    the agreement two independent classifiers with the same per-class
    accuracies would reach (dashed), the K of highest agreement (star, the
    sample-level effective K; hollow where it is the grid's largest K, a lower
    bound) and the K fitted to the accuracy curve (dotted).
    Bottom: at each level's effective K, the agreement, chance, the share of
    the CNN's errors on which the K-NN predicts the same wrong label, and the
    CNN's accuracy.  ``per_k`` and ``best`` come from
    :func:`labelnoise.agreement.agreement_over_seeds` and
    :func:`labelnoise.agreement.effective_k_table`; ``realised`` (optional:
    ``noise``, ``level``, ``realised_gamma_mean``, e.g. the training tables
    aggregated over seeds) gives the realised gamma of the concentrated levels,
    whose levels are k clusters per class.
    """
    noises = list(dict.fromkeys(per_k["noise"]))
    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(2, len(noises), figsize=(4.1 * len(noises), 7.4), squeeze=False, layout="constrained")
        for column, noise in enumerate(noises):
            rows, noise_best = per_k[per_k["noise"] == noise], best[best["noise"] == noise]
            levels = shown_levels(rows)
            shades = plt.get_cmap("plasma")(np.linspace(0.05, 0.75, len(levels)))
            _draw_agreement_vs_k(axes[0, column], rows, noise_best, dict(zip(levels, map(tuple, shades))),
                                 _realised_of(realised, noise))
            _draw_vs_noise(axes[1, column], noise_best, noise_colour(noise))
            axes[0, column].set_title(f"({chr(ord('a') + column)}) {NOISE_NAMES.get(noise, noise)}")
        axes[0, 0].set_ylabel("agreement with K-NN (share of test samples)")
        axes[1, 0].set_ylabel("share of test samples / of CNN errors")
        fig.legend(handles=_bottom_legend(), loc="outside lower center", ncol=4, frameon=False)
        fig.suptitle("CNN vs K-NN on the noisy labels, test sample by test sample "
                     "(dashed: chance; star: effective K, hollow at the K grid's top)")
    return fig
