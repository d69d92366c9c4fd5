"""What every figure shares: one style (``paper_rc``), one colour per noise type, and the drawing of a
mean +- std curve and of the K-NN baseline.

The style: seaborn's white grid, font sizes readable when a figure is shrunk to a
column, and colour-blind safe colours (Okabe-Ito) with one fixed colour per noise
type, so that, e.g., flip noise is the same vermillion in Fig. 4 and Fig. 6.
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

from labelnoise.noise_types import NOISE_TYPES

#: One fixed, colour-blind safe colour per noise type, used by every figure (labelnoise.noise_types).
NOISE_COLOURS: dict[str, str] = {noise.name: noise.colour for noise in NOISE_TYPES}
#: Colour for a noise type not in NOISE_COLOURS.
OTHER_NOISE_COLOUR = "#555555"

#: Human-readable names of the noise types (Section 3 of the paper).
NOISE_NAMES: dict[str, str] = {noise.name: noise.title for noise in NOISE_TYPES}

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
GAMMA_LABEL = r"nominal $\gamma$ (share of labels re-drawn)"
REALISED_LABEL = "realised noise (share of labels changed)"


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


#: Ten distinct colour-blind safe colours, one per class label (Fig. 1): Paul Tol's "muted" scheme (nine colours)
#: and black. Seaborn's "colorblind" has ten entries but two blues (labels 0, 9) and two pinks (4, 6) that read
#: as one colour in a scatter plot; here every pair stays apart in CIELAB under protan-, deuteran- and tritanopia
#: (Machado et al. 2009: delta E >= 15) as with normal vision (>= 22).
LABEL_COLOURS: tuple[str, ...] = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                                  "#882255", "#AA4499", "#000000")


def label_palette(n_labels: int) -> list:
    """Qualitative colour-blind palette with one distinct colour per class label (Fig. 1); husl past ten labels."""
    if n_labels <= len(LABEL_COLOURS):
        return [mcolors.to_rgb(colour) for colour in LABEL_COLOURS[:n_labels]]
    return sns.color_palette("husl", n_labels)


def k_colour_norm(k_values: Sequence[int]) -> mcolors.Normalize:
    """Log-scale normalisation of K for the sequential K colour map (Figs. 5-7)."""
    k_values = np.asarray(k_values, dtype=float)
    low, high = float(k_values.min()), float(k_values.max())
    if high <= low:
        high = low + 1.0
    return mcolors.LogNorm(vmin=low, vmax=high)


def k_colour_map() -> mcolors.Colormap:
    """viridis without its palest top (yellow on white is hard to see as a thin line)."""
    return mcolors.ListedColormap(matplotlib.colormaps[K_COLOUR_MAP](np.linspace(0.0, 0.88, 256)), name="viridis_dark")


def k_colour(k: int, norm: mcolors.Normalize):
    """Colour of the analytic curve with K neighbours in the Analytical panel of Figs. 5-7."""
    return k_colour_map()(float(norm(k)))


def class_label_texts(names: Sequence[str] | None, n_labels: int) -> list[str]:
    """The given label names, or '0', '1', ... for ``n_labels`` labels."""
    return list(names) if names is not None else [str(label) for label in range(n_labels)]


def draw_mean_std(ax, summary: pd.DataFrame, x_column: str, colour: str, label: str, **style):
    """Mean test accuracy with +-1 std error bars and a faint band; returns the ErrorbarContainer.

    ``style`` overrides the errorbar's keywords (marker, markersize, linewidth, zorder, ...)."""
    summary = summary.sort_values(x_column)
    x = summary[x_column].to_numpy(dtype=float)
    mean = summary["test_acc_mean"].to_numpy(dtype=float)
    std = summary["test_acc_std"].to_numpy(dtype=float)
    ax.fill_between(x, mean - std, np.minimum(mean + std, ACCURACY_LIMITS[1]), color=colour, alpha=0.15, linewidth=0)
    style = dict(dict(marker="o", markersize=4.5, capsize=2.5, elinewidth=1.1, zorder=3), **style)
    container = ax.errorbar(x, mean, yerr=std, color=colour, label=label, **style)
    container.lines[0].set_gid("experimental_mean")
    return container


def seed_count_text(summary: pd.DataFrame) -> str:
    """'1 seed', '3 seeds' or '2-3 seeds': how many seeds each plotted mean is over."""
    low, high = int(summary["n_seeds"].min()), int(summary["n_seeds"].max())
    if low != high:
        return f"{low}-{high} seeds"
    return f"{low} seed" + ("s" if low != 1 else "")


#: Share of the span of the levels drawn left on either side of the first and last (at least LEVEL_MARGIN_MIN).
LEVEL_MARGIN = 0.06
LEVEL_MARGIN_MIN = 0.02


def level_limits(levels) -> tuple[float, float]:
    """x limits that fit the noise levels drawn, with a small margin either side (Figs. 10, 12, 13)."""
    low, high = float(np.min(levels)), float(np.max(levels))
    margin = max(LEVEL_MARGIN * (high - low), LEVEL_MARGIN_MIN)
    return low - margin, high + margin


def format_accuracy_axis(ax, show_label: bool = True) -> None:
    ax.set_ylim(*ACCURACY_LIMITS)
    ax.set_yticks(np.linspace(0, 1, 6))
    if show_label:
        ax.set_ylabel(ACCURACY_LABEL)


def k_ticks(k_values: Sequence[int], max_ticks: int = 10) -> list[int]:
    """A readable subset of the K values for a colour bar: both ends kept, the rest spread through the list."""
    k_values = sorted(k_values)
    if len(k_values) <= max_ticks:
        return list(k_values)
    picks = np.unique(np.round(np.linspace(0, len(k_values) - 1, max_ticks)).astype(int))
    return [k_values[i] for i in picks]


def knn_seed_means(knn: pd.DataFrame, noises: Sequence[str]) -> pd.DataFrame:
    """Seed means of the K-NN baseline table (the workflow's: every noise type drawn is in it)."""
    from labelnoise.knn import knn_summary

    return knn_summary(knn)


def draw_knn(ax, rows: pd.DataFrame, x_column: str):
    """The measured K-NN accuracy (mean over seeds) as an orange dash-dot line with open squares."""
    rows = rows.sort_values(x_column)
    k = int(rows["K"].iloc[0])
    seeds = seed_count_text(rows)
    (line,) = ax.plot(
        rows[x_column].to_numpy(float), rows["accuracy_mean"].to_numpy(float),
        label=f"K-NN classifier on clean features, K = {k} (mean, {seeds})", gid="knn_baseline", **KNN_STYLE,
    )
    return line
