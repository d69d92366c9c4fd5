"""Figs. 5-7: the experiment against the K-NN plurality analysis (Eq. 2) for random, flip and confusion noise."""

from __future__ import annotations


import matplotlib
import matplotlib.cm
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labelnoise.analytic import best_fit
from labelnoise.tables import aggregate_over_seeds
from labelnoise.plots.common import (
    CONFUSION_COLOUR_MAP, GAMMA_LABEL, NOISE_LEVEL_LIMITS, draw_knn, draw_mean_std, format_accuracy_axis, k_colour,
    k_colour_map, k_colour_norm, k_ticks, knn_seed_means, noise_colour, paper_rc, seed_count_text,
)


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
    colourbar.set_label(r"$P(\tilde{y} \mid y)$ of a re-drawn label")


def _fitted_k_and_neighbours(fit: pd.DataFrame, analytic_k: list[int]) -> tuple[int, float, list[int]]:
    """The fitted K (the ``best`` row of ``fit``), its RMSE, and the K values beside it in the fitted list."""
    best_k, best_rmse = best_fit(fit)
    fitted_k_list = sorted(int(k) for k in fit["K"].unique() if int(k) in analytic_k)
    position = fitted_k_list.index(best_k)
    neighbours = fitted_k_list[max(position - 1, 0) : position] + fitted_k_list[position + 1 : position + 2]
    return best_k, best_rmse, neighbours


def _analytic_curve(analytic: pd.DataFrame, k: int) -> pd.DataFrame:
    return analytic[analytic["K"] == k].sort_values("gamma")


def _draw_analytic_panel(fig, ax, analytic: pd.DataFrame, analytic_k: list[int], norm) -> None:
    """Panel (b): the analytic accuracy for every K, coloured along K, with a colour bar over K (log scale)."""
    for k in analytic_k:
        curve = _analytic_curve(analytic, k)
        ax.plot(curve["gamma"], curve["accuracy"], color=k_colour(k, norm), linewidth=1.4, label=f"K = {k}")
    mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=k_colour_map())
    colourbar = fig.colorbar(mappable, ax=ax, fraction=0.05, pad=0.02)
    colourbar.set_label("K (neighbours)")
    colourbar.minorticks_off()
    colourbar.set_ticks(k_ticks(analytic_k))
    colourbar.set_ticklabels([str(k) for k in k_ticks(analytic_k)])


def _draw_comparison_panel(ax, analytic, best_k, best_rmse, neighbours, summary, colour, experiment_label, knn_rows):
    """Panel (c): the experiment with the analytic curve at the fitted K and its neighbours; returns the legend handles.

    The analytic curves are black/grey here: any K colour could be mistaken for
    the experiment's noise colour when the two curves lie on top of each other.
    """
    curve = _analytic_curve(analytic, best_k)
    (fitted_line,) = ax.plot(
        curve["gamma"], curve["accuracy"], color="black", linewidth=2.0,
        label=f"analytic, fitted K = {best_k} (RMSE {best_rmse:.3f})", gid="analytic_fitted", zorder=2.5,
    )
    neighbour_lines = []
    for k in neighbours:
        curve = _analytic_curve(analytic, k)
        (line,) = ax.plot(
            curve["gamma"], curve["accuracy"], color="0.45", linewidth=1.2,
            linestyle="--" if k < best_k else ":", label=f"analytic, K = {k}", zorder=2,
        )
        neighbour_lines.append(line)
    experiment = draw_mean_std(ax, summary, "nominal_gamma", colour, experiment_label)
    handles = [experiment, fitted_line, *neighbour_lines]
    if knn_rows is not None:
        handles.append(draw_knn(ax, knn_rows, "nominal_gamma"))
    return handles


def plot_fig5_6_7_analytic_comparison(
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
    noise = str(empirical["noise"].iloc[0])
    matrix = np.asarray(confusion, dtype=float) if confusion is not None else None
    knn_rows = knn_seed_means(knn, [noise]) if knn is not None else None

    analytic_k = sorted(int(k) for k in analytic["K"].unique())
    best_k, best_rmse, neighbours = _fitted_k_and_neighbours(fit, analytic_k)

    summary = aggregate_over_seeds(empirical)
    colour = noise_colour(noise)
    experiment_label = f"experiment (mean ± std, {seed_count_text(summary)})"
    norm = k_colour_norm(analytic_k)

    n_panels = 3 if matrix is None else 4
    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(1, n_panels, figsize=(4.0 * n_panels, 3.9), squeeze=False, layout="constrained")
        axes = list(axes[0])
        letters = iter("abcd")
        if matrix is not None:
            ax_confusion = axes.pop(0)
            _draw_confusion(ax_confusion, matrix, fig)
            ax_confusion.set_title(f"({next(letters)}) Re-draw matrix")  # the law of a re-drawn label, not P(noisy | clean)
        ax_experiment, ax_analytic, ax_comparison = axes

        # (a) Experimental
        draw_mean_std(ax_experiment, summary, "nominal_gamma", colour, experiment_label)
        ax_experiment.set_title(f"({next(letters)}) Experimental")

        _draw_analytic_panel(fig, ax_analytic, analytic, analytic_k, norm)
        ax_analytic.set_title(f"({next(letters)}) Analytical (K-NN plurality)")

        legend_handles = _draw_comparison_panel(
            ax_comparison, analytic, best_k, best_rmse, neighbours, summary, colour, experiment_label,
            knn_rows[knn_rows["noise"] == noise] if knn_rows is not None else None,
        )
        ax_comparison.set_title(f"({next(letters)}) Comparison")
        # One legend for panels (a) and (c), below the figure, where it cannot hide curves.
        fig.legend(
            handles=legend_handles, loc="outside lower center",
            ncol=len(legend_handles) if len(legend_handles) <= 4 else 3, frameon=False, columnspacing=1.5,
        )

        for ax in (ax_experiment, ax_analytic, ax_comparison):
            ax.set_xlim(*NOISE_LEVEL_LIMITS)
            ax.set_xlabel(GAMMA_LABEL)
            format_accuracy_axis(ax)  # each panel labelled: the K colour bar sits beside the next one
        fig.suptitle(noise_label)
        fig.get_layout_engine().set(wspace=0.08)  # room between a colour bar's label and the next panel's axis label
    return fig
