"""Fig. 13 (beyond the paper): the resistance under four model-selection protocols, and inside the flip curve."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from labelnoise.plots.common import (
    GAMMA_LABEL, NOISE_NAMES, draw_mean_std, format_accuracy_axis, level_limits, paper_rc, seed_count_text,
)
from labelnoise.selection import PROTOCOLS


def _marker(protocol: str, marker: str) -> str:
    """The protocol's own marker for its accuracy points (the final state's squares, wide under the others)."""
    return PROTOCOLS[protocol].marker if marker == "o" else marker


def _style(protocol: str) -> tuple[str, str, dict]:
    """Colour, legend name and line style of a registered protocol (labelnoise.selection)."""
    drawn = PROTOCOLS[protocol]
    return drawn.colour, drawn.legend or drawn.title, dict(drawn.line)


def _draw_protocols(ax, rows: pd.DataFrame) -> None:
    """Each protocol's accuracy against gamma (mean +- std) and, dashed, the analytic K-NN at its fitted K."""
    for protocol in (p for p in PROTOCOLS if p in set(rows["protocol"])):
        colour, name, style = _style(protocol)
        mine = rows[rows["protocol"] == protocol].sort_values("nominal_gamma")
        fitted = mine["fitted_K"].dropna()
        label = name + (f": fitted K = {int(fitted.iloc[0])}, RMSE {mine['rmse'].iloc[0]:.3f}" if len(fitted) else "")
        draw_mean_std(ax, mine, "nominal_gamma", colour, label, marker=_marker(protocol, "o"), **style)
        if len(fitted):
            ax.plot(mine["nominal_gamma"], mine["analytic_acc"], linestyle="--", color=colour,
                    linewidth=min(style["linewidth"], 3.0) * 0.7, zorder=style["zorder"] - 0.5, gid=f"analytic_{protocol}")
    ax.set_xlim(*level_limits(rows["nominal_gamma"]))
    ax.set_xlabel(GAMMA_LABEL)


def _draw_flip_decisions(ax, decisions: pd.DataFrame) -> None:
    """Share of test predictions that are the true label (solid) or its flip counterpart (dotted), per protocol."""
    for protocol in (p for p in PROTOCOLS if p in set(decisions["protocol"])):
        colour, name, style = _style(protocol)
        mine = decisions[decisions["protocol"] == protocol].sort_values("nominal_gamma")
        ax.plot(mine["nominal_gamma"], mine["true_label"], color=colour, marker=_marker(protocol, "o"), label=name,
                gid=f"true_{protocol}", **style)
        ax.plot(mine["nominal_gamma"], mine["counterpart"], color=colour, marker=_marker(protocol, "x"), linestyle=":",
                gid=f"counterpart_{protocol}", **dict(style, markersize=style["markersize"] + 1))
    ax.axvline(0.5, color="0.6", linewidth=0.8)
    ax.set_xlim(*level_limits(decisions["nominal_gamma"]))
    ax.set_xlabel(r"flip noise level $\gamma$")
    ax.set_ylabel("share of test predictions")
    ax.set_ylim(0, 1.02)


def plot_fig13_selection(curves: pd.DataFrame, decisions: pd.DataFrame | None, dataset: str) -> Figure:
    """Fig. 13: test accuracy against the noise level under each selection protocol, per noise type of ``curves``
    (:func:`labelnoise.selection_study.protocol_curves`), with the analytic K-NN at each protocol's fitted K; and,
    given ``decisions`` (rows of :func:`~labelnoise.selection_study.flip_decisions` per flip level and protocol),
    what the selected nets predict under flip noise."""
    noises = [noise for noise in ("random", "flip") if noise in set(curves["noise"])]
    panels = len(noises) + (decisions is not None and len(decisions) > 0)
    with plt.rc_context(paper_rc()):
        fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 5.0), squeeze=False, layout="constrained")
        axes = axes[0]
        for index, (ax, noise) in enumerate(zip(axes, noises)):
            rows = curves[curves["noise"] == noise]
            _draw_protocols(ax, rows)
            format_accuracy_axis(ax, show_label=index == 0)
            ax.set_title(f"({chr(ord('a') + index)}) {dataset}: {NOISE_NAMES.get(noise, noise)}")
            ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
        if panels > len(noises):
            _draw_flip_decisions(axes[-1], decisions)
            axes[-1].set_title(f"({chr(ord('a') + len(noises))}) {dataset}: what the nets predict under flip noise")
            axes[-1].legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1,
                            title="solid: the true label; dotted: its flip counterpart", title_fontsize=8)
        fig.suptitle("Model selection: the paper's clean validation against selection without clean labels "
                     f"(test accuracy, mean ± std over {seed_count_text(curves)}; dashed: analytic K-NN)")
    return fig
