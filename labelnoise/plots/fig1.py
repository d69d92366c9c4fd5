"""Fig. 1: the clean and noisy training labels in a 2-D embedding of the clean features."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from labelnoise.plots.common import class_label_texts, label_palette, paper_rc


def embed_2d(features: np.ndarray, seed: int, method: str = "tsne") -> np.ndarray:
    """2-D embedding of deep features for Fig. 1, deterministic given ``seed``.

    ``method="tsne"``: PCA to at most 50 dimensions (speed, noise removal), then
    t-SNE with PCA initialisation.  ``method="pca"``: the first two principal
    components.  Returns an (n, 2) float array.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    features = np.asarray(features, dtype=float)
    n_samples, n_dims = features.shape
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


def plot_fig1_embedding(
    panels: list[dict], label_names: Sequence[str] | None = None, draw_seed: int = 0
) -> Figure:
    """Fig. 1: side-by-side 2-D embeddings of deep features coloured by the *noisy* label.

    Each panel dict has ``xy`` (n, 2), ``labels`` (n,) noisy integer labels and
    ``title``.  Spread noise shows as scattered off-colour points inside each
    cluster, concentrated noise as whole off-colour sub-clusters.  Points are
    drawn in a fixed random order (``draw_seed``) so that no class hides the others.
    """
    all_labels = [np.asarray(panel["labels"]).astype(int) for panel in panels]
    n_labels = int(max(labels.max() for labels in all_labels)) + 1
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
        names = class_label_texts(label_names, n_labels)
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
