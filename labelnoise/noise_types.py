"""The noise types of the study, declared once: how each is made, named, drawn and predicted. The rules, tables,
plots and summary all read this registry.

Adding a noise type (docs/extending.md): its generator (here or in :mod:`labelnoise.noise`) and a
``register(NoiseType(...))`` call at the end of this file; then give it levels in a config
(``noise.levels.<name>``). Rule make_noise draws it, with the files its ``needs`` name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labelnoise import noise as generators
from labelnoise.checks import renormalised_rows


@dataclass(frozen=True)
class NoiseType:
    """One noise type.

    ``theory``: how the paper's analysis predicts it: ``"class_conditional"``
    (Eq. 6 holds: the analytic K-NN curves and the fitted K of Figs. 5-7; its
    ``matrix`` gives P(noisy | clean)), ``"concentrated"`` (Section 5: accuracy
    a0 (1 - gamma)) or ``"realised"`` (not class-conditional: Eq. 6 with the
    realised transition matrix, Fig. 12). ``level``: what a level is, ``"gamma"``
    (the share of labels re-drawn, written 0.50), ``"k"`` (clusters per class,
    written 5) or ``"name"`` (a label set of a file). ``generate(clean, level,
    n_classes, rng, permutation=, **needs)`` returns :class:`~labelnoise.noise.NoisyLabels`
    (None: read from a user's file by rule human_noise); ``needs`` names the files it
    takes besides the data (rules/inputs.smk: ``confusion``, ``clusters``,
    ``train_softmax``). ``in_paper``: studied by the paper; ``fig4_panel``, ``fig2_row``:
    its panel of Fig. 4 and row of Figs. 2 and 3 (None: not drawn there).
    """

    name: str
    title: str
    colour: str  # colour-blind safe (Okabe-Ito), the same in every figure
    theory: str
    level: str
    in_paper: bool
    fig4_panel: int | None
    fig2_row: int | None
    paper_claim: str
    short: str  # its name in the README's tables
    generate: Callable[..., generators.NoisyLabels] | None = None
    needs: tuple[str, ...] = ()
    matrix: Callable[..., np.ndarray] | None = None  # (n_classes, permutation, confusion) -> P(noisy | clean)

    @property
    def synthetic(self) -> bool:
        """Drawn by rule make_noise (else read from a user's file)."""
        return self.generate is not None


#: The registry, in display order (Section 3 of the paper, then past it).
NOISE_TYPES: list[NoiseType] = []
BY_NAME: dict[str, NoiseType] = {}


def register(noise: NoiseType) -> NoiseType:
    """Add ``noise`` to the registry (after the others in every figure and table)."""
    if noise.name in BY_NAME:
        raise ValueError(f"noise type {noise.name!r} is already registered")
    NOISE_TYPES.append(noise)
    BY_NAME[noise.name] = noise
    return noise


def get(name: str) -> NoiseType:
    """The registered noise type ``name``."""
    return BY_NAME[name]


def names(**where) -> list[str]:
    """The registered noise types whose attributes equal ``where`` (e.g. ``theory="realised"``), in display order."""
    return [noise.name for noise in NOISE_TYPES if all(getattr(noise, key) == value for key, value in where.items())]


def drawn_in(place: str, paper_only: bool = False) -> list[str]:
    """The noise types with a ``place`` (``fig2_row``, ``fig4_panel``), in its order; the paper's only if asked."""
    drawn = [noise for noise in NOISE_TYPES if getattr(noise, place) is not None and (noise.in_paper or not paper_only)]
    return [noise.name for noise in sorted(drawn, key=lambda noise: getattr(noise, place))]


def make_noisy_labels(noise: str, level, clean: np.ndarray, n_classes: int, rng: np.random.Generator,
                      permutation: np.ndarray, **needs) -> generators.NoisyLabels:
    """One realisation of ``noise`` at ``level`` (gamma, or k) from its generator; ``needs``: the inputs it names
    (``confusion``, ``clusters``, ``train_softmax``)."""
    return get(noise).generate(clean, level, n_classes, rng, permutation=permutation, **needs)


def nominal_gamma(noise: str, level) -> float:
    """The configured noise level as a fraction: gamma itself, or 1/k where the level is k clusters (one flipped)."""
    return 1.0 / level if get(noise).level == "k" else float(level)


register(NoiseType(
    "random", "random noise", "#0072B2", "class_conditional", "gamma", True, 1, 0,
    "resisted up to ~90% noise (Figs. 4, 5); analytic K-NN matches", "random",
    generate=lambda clean, level, n_classes, rng, **_: generators.random_noise(clean, level, n_classes, rng),
    matrix=lambda n_classes, permutation, confusion: generators.uniform_matrix(n_classes)))
register(NoiseType(
    "flip", "flip noise", "#D55E00", "class_conditional", "gamma", True, 2, 1,
    "resisted almost up to 50%, collapses near 50% (Figs. 4, 6)", "flip",
    generate=lambda clean, level, n_classes, rng, permutation, **_: generators.flip_noise(clean, level, permutation, rng),
    matrix=lambda n_classes, permutation, confusion: generators.permutation_matrix(permutation)))
register(NoiseType(
    "confusion", "confusion-matrix noise", "#009E73", "class_conditional", "gamma", True, None, None,
    "resisted while the true label keeps the plurality; analytic K-NN matches (Fig. 7)", "confusion matrix",
    generate=lambda clean, level, n_classes, rng, confusion, **_: generators.confusion_noise(clean, level, confusion, rng),
    needs=("confusion",), matrix=lambda n_classes, permutation, confusion: renormalised_rows(confusion)))
register(NoiseType(
    "concentrated", "locally concentrated noise", "#CC79A7", "concentrated", "k", True, 0, 2,
    "no resistance: accuracy ~ 1 - gamma (Fig. 4)", "concentrated (k clusters)",
    generate=lambda clean, level, n_classes, rng, permutation, clusters, **_: generators.concentrated_noise(
        clean, clusters, generators.choose_flipped_clusters(int(level), n_classes, rng), permutation),
    needs=("clusters",)))
register(NoiseType(
    "instance", "instance-dependent noise", "#56B4E9", "realised", "gamma", False, 3, None,
    "not in the paper; its class-conditional theory (Eq. 6) is an approximation here (Fig. 12)", "instance",
    generate=lambda clean, level, n_classes, rng, train_softmax, **_: generators.instance_noise(clean, level, train_softmax),
    needs=("train_softmax",)))
register(NoiseType(
    "human", "human labels", "#7F3C8D", "realised", "name", False, None, None,
    "not in the paper; its class-conditional theory (Eq. 6) is an approximation here (Fig. 12)", "human"))
