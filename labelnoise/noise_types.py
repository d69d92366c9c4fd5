"""The noise types of the study, declared once: the rules, tables, plots and summary all read this registry.

Adding a noise type: an entry here, its generator in :mod:`labelnoise.noise`
(or a rule that reads it, as for human labels), its level list in the config
schema, and a caption under ``report/`` if it gets a figure of its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoiseType:
    """One noise type.

    ``theory``: how the paper's analysis predicts it: ``"class_conditional"``
    (Eq. 6 holds: the analytic K-NN curves and the fitted K of Figs. 5-7),
    ``"concentrated"`` (Section 5: accuracy a0 (1 - gamma)) or ``"realised"``
    (not class-conditional: Eq. 6 with the realised transition matrix, Fig. 12).
    ``synthetic``: drawn by rule make_noise (else read from a user's file). ``in_paper``: studied by the paper.
    ``fig4_panel``: its panel of Fig. 4, ``fig2_row``: its row of Figs. 2 and 3 (None: not drawn there).
    """

    name: str
    title: str
    colour: str  # colour-blind safe (Okabe-Ito), the same in every figure
    theory: str
    synthetic: bool
    in_paper: bool
    fig4_panel: int | None
    fig2_row: int | None
    paper_claim: str
    short: str  # its name in the README's tables


NOISE_TYPES: tuple[NoiseType, ...] = (  # in the order of Section 3 of the paper, then past it
    NoiseType("random", "random noise", "#0072B2", "class_conditional", True, True, 1, 0,
              "resisted up to ~90% noise (Figs. 4, 5); analytic K-NN matches", "random"),
    NoiseType("flip", "flip noise", "#D55E00", "class_conditional", True, True, 2, 1,
              "resisted almost up to 50%, collapses near 50% (Figs. 4, 6)", "flip"),
    NoiseType("confusion", "confusion-matrix noise", "#009E73", "class_conditional", True, True, None, None,
              "resisted while the true label keeps the plurality; analytic K-NN matches (Fig. 7)", "confusion matrix"),
    NoiseType("concentrated", "locally concentrated noise", "#CC79A7", "concentrated", True, True, 0, 2,
              "no resistance: accuracy ~ 1 - gamma (Fig. 4)", "concentrated (k clusters)"),
    NoiseType("instance", "instance-dependent noise", "#56B4E9", "realised", True, False, 3, None,
              "not in the paper; its class-conditional theory (Eq. 6) is an approximation here (Fig. 12)", "instance"),
    NoiseType("human", "human labels", "#7F3C8D", "realised", False, False, None, None,
              "not in the paper; its class-conditional theory (Eq. 6) is an approximation here (Fig. 12)", "human"),
)
BY_NAME: dict[str, NoiseType] = {noise.name: noise for noise in NOISE_TYPES}

#: Every noise type, in display order.
ALL: tuple[str, ...] = tuple(noise.name for noise in NOISE_TYPES)
#: Drawn by rule make_noise.
SYNTHETIC: tuple[str, ...] = tuple(noise.name for noise in NOISE_TYPES if noise.synthetic)
#: Class-conditional (Eq. 6 holds): analytic curves, fitted K, a noisy validation half.
CLASS_CONDITIONAL: tuple[str, ...] = tuple(noise.name for noise in NOISE_TYPES if noise.theory == "class_conditional")
#: Not class-conditional, set against Eq. 6 with their realised transition matrix (Fig. 12).
REALISED: tuple[str, ...] = tuple(noise.name for noise in NOISE_TYPES if noise.theory == "realised")


def _drawn_in(place: str) -> tuple[str, ...]:
    """The noise types with a ``place`` (``fig2_row``, ``fig4_panel``), in its order."""
    drawn = [noise for noise in NOISE_TYPES if getattr(noise, place) is not None]
    return tuple(noise.name for noise in sorted(drawn, key=lambda noise: getattr(noise, place)))


#: The rows of Figs. 2 and 3 (the softmax of a noisy-label net), in order.
FIG2: tuple[str, ...] = _drawn_in("fig2_row")
#: The panels of Fig. 4, in order; those of the paper's Fig. 4.
FIG4: tuple[str, ...] = _drawn_in("fig4_panel")
PAPER_FIG4: tuple[str, ...] = tuple(name for name in FIG4 if BY_NAME[name].in_paper)
