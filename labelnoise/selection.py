"""Model selection: which state of a training trajectory is reported, with and without clean labels.

The paper (Section 5) keeps the state with the best accuracy on a clean
validation half, evaluated during training; its authors did the same. A
practitioner whose labels are noisy has no clean validation set, so the
resistance the paper measures may partly be the selection's. Four protocols,
each a rule applied to the recorded history of one trajectory, so that one
trajectory per seed (same seeds, same minibatches, the whole budget of
``max_epochs``) serves all of them:

``clean_val``
    the paper's: the best clean-validation accuracy (the first on ties) among
    the evaluations before ``patience`` evaluations pass without a strict
    improvement (:func:`best_with_patience`).
``noisy_val``
    the same rule on a validation half whose labels carry the training noise
    (same type and level, drawn independently of the training labels): Toner &
    Storkey, "Noisy Early Stopping for Noisy Labels" (arXiv 2409.06830, 2024).
``label_wave``
    no validation data: the end of the epoch at the first local minimum of the
    prediction changes, the number of training samples whose predicted label
    differs from the previous epoch's, smoothed by a trailing moving average
    (:func:`label_wave_epoch`); Yuan, Feng & Liu, "Early Stopping Against Label
    Noise Without Validation Data" (ICLR 2025). The predictions are those of
    the training forward passes, as in the authors' code: no extra compute.
``final``
    no selection: the state after the whole budget.

The trackers here apply these rules online, during training, and keep the
state each rule picks; their choices equal the rules applied afterwards to the
recorded history (tests/test_selection.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the rules and names here serve the table and figure jobs, which need not import torch
    import torch

    from labelnoise.seed_stack import SeedStack

#: A seed's weights at this point of training, read only when a protocol keeps them.
StateFn = Callable[[], "dict[str, Any]"]

#: What the training tables record of each protocol's state (columns ``{protocol}_{measure}``).
SELECTION_MEASURES: tuple[str, ...] = ("step", "val_acc", "test_acc")


def best_with_patience(scores: Sequence[float], patience: int) -> tuple[int, bool]:
    """(index of the selected evaluation, whether the rule has stopped) for the scores so far.

    The best score, the first on ties, among the evaluations up to the one at
    which ``patience`` evaluations in a row brought no strict improvement
    (early stopping on the validation half, Section 5).
    """
    best, since = 0, 0
    for index in range(1, len(scores)):
        if scores[index] > scores[best]:
            best, since = index, 0
            continue
        since += 1
        if since >= patience:
            return best, True
    return best, False


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over the last ``window`` values (fewer at the start)."""
    return [sum(values[max(0, i - window + 1): i + 1]) / (i + 1 - max(0, i - window + 1)) for i in range(len(values))]


def label_wave_epoch(changes: Sequence[float], window: int) -> int | None:
    """Index into ``changes`` of the first local minimum of its moving average; None while it still falls.

    ``changes[i]`` counts the training samples whose prediction differs
    between epochs i + 1 and i + 2 (1-based), so index i selects the state at
    the end of epoch i + 2. The minimum is found once the smoothed curve rises
    strictly for the first time.
    """
    smooth = moving_average(changes, window)
    return next((i for i in range(len(smooth) - 1) if smooth[i + 1] > smooth[i]), None)


class SelectionProtocol:
    """A rule that keeps one state of each seed's training trajectory: the loop's one interface to the protocols.

    The training loop (:func:`labelnoise.training.train_seeds`) builds one per
    registered protocol and calls its hooks as the trajectory unfolds:
    :meth:`after_step` with the predictions of each training minibatch,
    :meth:`after_evaluation` with each seed's validation scores (``val_acc``,
    and ``noisy_val_acc`` where noisy validation labels were given),
    :meth:`after_epoch` at the end of each epoch. A hook that keeps a state
    calls ``state()`` for the seed's weights. :meth:`chosen` gives each seed's
    pick at the end of the budget (``epoch``, ``step``, ``state``; None where
    the protocol was not measured), and :meth:`state` / :meth:`restore` carry
    the protocol through a resume checkpoint. ``title`` is its name in the
    tables, ``legend`` (default: the title), ``colour``, ``marker`` and
    ``line`` (line width, marker size, drawing order) how Fig. 13 draws it;
    ``reportable``: measured for every noise type, so it may be
    ``train.selection``.
    """

    title = ""
    legend = None
    colour = "#555555"
    marker = "o"
    line = {"linewidth": 1.8, "markersize": 5.0, "zorder": 3.2}
    reportable = True

    def __init__(self, n_seeds: int, config, n_train: int, device: torch.device):
        self.n_seeds = n_seeds

    def after_step(self, seeds: list[int], indices: torch.Tensor, predictions: torch.Tensor) -> None:
        """The predicted labels ``predictions`` (S' x B) of the training samples ``indices`` (S' x B) of ``seeds``."""

    def after_evaluation(self, s: int, scores: dict[str, float], epoch: int, step: int, state: StateFn) -> None:
        """Seed ``s``'s validation scores at optimiser step ``step``."""

    def after_epoch(self, s: int, epoch: int, step: int, state: StateFn) -> None:
        """Seed ``s`` has finished epoch ``epoch`` at optimiser step ``step``."""

    def chosen(self, s: int, epoch: int, step: int, state: StateFn) -> dict | None:
        """Seed ``s``'s kept state once training ends after ``epoch`` / ``step``: ``epoch``, ``step``, ``state``."""
        raise NotImplementedError

    def progress(self, s: int) -> str:
        """What the rule has picked so far, for the training log ('' when it has nothing to say yet)."""
        return ""

    def state(self) -> dict:
        return {}

    def restore(self, saved: dict) -> None:
        pass


#: The registered selection protocols by name, in the order of the tables' columns and of Fig. 13.
PROTOCOLS: dict[str, type[SelectionProtocol]] = {}


def register_protocol(name: str) -> Callable[[type[SelectionProtocol]], type[SelectionProtocol]]:
    """Class decorator: add a :class:`SelectionProtocol` under ``name`` (docs/extending.md)."""

    def decorate(protocol: type[SelectionProtocol]) -> type[SelectionProtocol]:
        if name in PROTOCOLS:
            raise ValueError(f"selection protocol {name!r} is already registered")
        PROTOCOLS[name] = protocol
        return protocol

    return decorate


def check_reported(name: str) -> str:
    """``name`` if it is a registered protocol measured for every noise type (one that may be reported)."""
    reportable = [protocol for protocol, rule in PROTOCOLS.items() if rule.reportable]
    if name not in reportable:
        raise ValueError(f"{name!r} is not a selection protocol measured for every noise type; one of {reportable}")
    return name


class ScoreSelection(SelectionProtocol):
    """:func:`best_with_patience` online on one validation score for each seed (``score``), and the state it picks."""

    score = "val_acc"

    def __init__(self, n_seeds: int, config, n_train: int = 0, device=None):
        super().__init__(n_seeds, config, n_train, device)
        self.patience = config.patience
        self.scores: list[list[float]] = [[] for _ in range(n_seeds)]
        self.picks: list[dict] = [{} for _ in range(n_seeds)]  # epoch, step, score of the selected evaluation
        self.states: list[dict[str, torch.Tensor]] = [{} for _ in range(n_seeds)]
        self.stopped = [False] * n_seeds

    def after_evaluation(self, s: int, scores: dict[str, float], epoch: int, step: int, state: StateFn) -> None:
        if self.stopped[s] or self.score not in scores:
            return
        self.scores[s].append(scores[self.score])
        best, self.stopped[s] = best_with_patience(self.scores[s], self.patience)
        if best == len(self.scores[s]) - 1:
            self.picks[s] = {"epoch": epoch, "step": step, "score": scores[self.score]}
            self.states[s] = state()

    def chosen(self, s: int, epoch: int, step: int, state: StateFn) -> dict | None:
        return dict(self.picks[s], state=self.states[s]) if self.states[s] else None

    def progress(self, s: int) -> str:
        return f"{self.picks[s]['score']:.4f}@{self.picks[s]['step']}" if self.picks[s] else ""

    def state(self) -> dict:
        return {"scores": self.scores, "chosen": self.picks, "states": self.states, "stopped": self.stopped}

    def restore(self, saved: dict) -> None:
        self.scores, self.picks, self.states, self.stopped = saved["scores"], saved["chosen"], saved["states"], saved["stopped"]


@register_protocol("clean_val")
class CleanValidation(ScoreSelection):
    """The paper's: the best clean-validation accuracy before ``patience`` evaluations without improvement."""

    title, colour, score = "clean validation (the paper's)", "#000000", "val_acc"
    line = {"linewidth": 2.8, "markersize": 5.5, "zorder": 3.0}  # wide: the noisy half's curve may lie on it


@register_protocol("noisy_val")
class NoisyValidation(ScoreSelection):
    """The same rule on a validation half whose labels carry the training noise (Toner & Storkey 2024); measured
    where noisy validation labels are given (class-conditional noise)."""

    title, colour, score, reportable = "noisy validation", "#D55E00", "noisy_val_acc", False
    line = {"linewidth": 1.5, "markersize": 4.0, "zorder": 3.1}


@register_protocol("label_wave")
class LabelWave(SelectionProtocol):
    """:func:`label_wave_epoch` online for each seed, from the predictions of the training forward passes."""

    title, colour = "Label Wave", "#0072B2"
    legend = "Label Wave (no validation data;\nthe final state where it finds no minimum)"
    line = {"linewidth": 1.2, "markersize": 3.5, "zorder": 3.4}  # thin, over the final state's curve it may equal

    def __init__(self, n_seeds: int, config, n_train: int, device: torch.device):
        import torch  # only the training loop makes one

        super().__init__(n_seeds, config, n_train, device)
        self.window = config.label_wave_window
        self.current = torch.full((n_seeds, n_train), -1, dtype=torch.int64, device=device)  # this epoch's predictions
        self.previous = torch.full_like(self.current, -1)
        self.changes: list[list[int]] = [[] for _ in range(n_seeds)]
        self.picks: list[dict] = [{} for _ in range(n_seeds)]  # epoch and step of the selected state, once decided
        self.candidate: list[dict] = [{} for _ in range(n_seeds)]  # the last epoch's end: epoch, step, state
        self.states: list[dict[str, torch.Tensor]] = [{} for _ in range(n_seeds)]

    def after_step(self, seeds: list[int], indices: torch.Tensor, predictions: torch.Tensor) -> None:
        rows = indices.new_tensor(seeds)[:, None].expand_as(indices)
        self.current[rows, indices] = predictions

    def after_epoch(self, s: int, epoch: int, step: int, state: StateFn) -> None:
        """Count seed ``s``'s prediction changes; select the previous epoch's state at the first local minimum."""
        if self.picks[s]:
            return
        if epoch > 1:
            self.changes[s].append(int((self.current[s] != self.previous[s]).sum()))
        self.previous[s] = self.current[s]
        if label_wave_epoch(self.changes[s], self.window) is not None:
            self.picks[s] = {"epoch": self.candidate[s]["epoch"], "step": self.candidate[s]["step"], "decided": True}
            self.states[s] = self.candidate[s]["state"]
            return
        self.candidate[s] = {"epoch": epoch, "step": step, "state": state()}

    def chosen(self, s: int, epoch: int, step: int, state: StateFn) -> dict | None:
        """The selected state; at the end of the budget, still falling, the rule selects the last epoch."""
        if not self.picks[s]:
            self.picks[s] = {"epoch": self.candidate[s]["epoch"], "step": self.candidate[s]["step"], "decided": False}
            self.states[s] = self.candidate[s]["state"]
        return dict(self.picks[s], state=self.states[s])

    def state(self) -> dict:
        return {"current": self.current, "previous": self.previous, "changes": self.changes, "chosen": self.picks,
                "candidate": self.candidate, "states": self.states}

    def restore(self, saved: dict) -> None:
        self.current.copy_(saved["current"])
        self.previous.copy_(saved["previous"])
        self.changes, self.picks, self.candidate, self.states = saved["changes"], saved["chosen"], saved["candidate"], saved["states"]


@register_protocol("final")
class FinalState(SelectionProtocol):
    """No selection: the state after the whole budget."""

    title, legend, colour, marker = "no selection", "no selection (final state)", "#999999", "s"
    line = {"linewidth": 4.5, "markersize": 7.5, "zorder": 2.4}  # widest, under the others

    def chosen(self, s: int, epoch: int, step: int, state: StateFn) -> dict | None:
        return {"epoch": epoch, "step": step, "state": state()}


def score_selected_states(stack: SeedStack, chosen_by_protocol: dict[str, list[dict]], histories: list[list[dict]],
                          data: dict, labels_val: np.ndarray, labels_test: np.ndarray, batch_size: int,
                          memory_format: torch.memory_format) -> list[dict[str, dict]]:
    """Per seed, per protocol: its chosen state (``epoch``, ``step``, ``state``, from ``chosen_by_protocol``) with
    ``val_acc``, ``test_acc`` and ``test_softmax`` (float32) measured on ``data``'s validation and test images.

    A state is scored once, however many protocols select it (the same step of
    the same trajectory), and its validation accuracy is the one recorded in
    ``histories`` when it was evaluated during training, where it was.
    """
    n_seeds = len(histories)
    outcomes: list[dict[str, dict]] = [{} for _ in range(n_seeds)]
    scored: dict[tuple[int, int], dict] = {}  # (seed, step) -> val_acc, test_acc, test_softmax
    for protocol, chosen in chosen_by_protocol.items():
        new = [s for s in range(n_seeds) if (s, chosen[s]["step"]) not in scored]
        if new:
            for s in new:
                stack.load_seed_state_dict(s, chosen[s]["state"])
            # the seed-major layout computes the new seeds only; the wide one computes every seed
            computed, rows = (new, slice(None)) if stack.layout == "seed_major" else (None, new)
            softmax = stack.eval_logits(data["x_test"], batch_size, memory_format, computed).softmax(dim=2)
            softmax = softmax[rows].cpu().numpy().astype(np.float32, copy=False)
            recorded = [{entry["step"]: entry["val_acc"] for entry in histories[s]} for s in new]
            if not all(chosen[s]["step"] in steps for s, steps in zip(new, recorded)):
                logits = stack.eval_logits(data["x_val"], batch_size, memory_format, computed)[rows]
                predictions = logits.argmax(dim=2).cpu().numpy()
                recorded = [{chosen[s]["step"]: float((p == labels_val).mean())} for s, p in zip(new, predictions)]
            for position, s in enumerate(new):
                scored[(s, chosen[s]["step"])] = dict(
                    val_acc=recorded[position][chosen[s]["step"]], test_softmax=softmax[position],
                    test_acc=float((softmax[position].argmax(axis=1) == labels_test).mean()))
        for s in range(n_seeds):
            outcomes[s][protocol] = dict(chosen[s], **scored[(s, chosen[s]["step"])])
    return outcomes


def selected_test_softmax(results: list[TrainResult]) -> dict[str, np.ndarray]:
    """The test softmax of every seed's selected state (seeds x M x L, float32): ``softmax`` the reported protocol's,
    ``softmax_{protocol}`` each measured protocol's (the arrays Fig. 13 and the agreement jobs read)."""
    softmax = {"softmax": np.stack([result.test_softmax for result in results]).astype(np.float32)}
    for protocol in results[0].selections:
        chosen = [result.selections[protocol]["test_softmax"] for result in results]
        softmax[f"softmax_{protocol}"] = np.stack(chosen).astype(np.float32)
    return softmax


@dataclass
class TrainResult:
    """Outcome of a training (:func:`labelnoise.training.train_seeds`): the reported protocol's state and every
    protocol's choice; accuracies are fractions in [0, 1].

    ``history`` holds one dict per evaluation of the validation half:
    ``epoch`` (1-based, the epoch it fell in), ``step`` (optimiser steps so
    far), ``train_loss`` and ``train_acc`` (mean over the minibatches since
    the previous evaluation, against the labels trained on, i.e. the noisy
    ones), ``val_acc`` (clean labels), ``noisy_val_acc`` (noisy validation
    labels, where given). ``best_epoch`` / ``best_step``: where the
    reported protocol's state was taken; ``epochs_run`` / ``steps_run``: the
    whole trajectory. ``selections``: per protocol of
    :data:`labelnoise.selection.PROTOCOLS` measured, its ``epoch``, ``step``,
    ``val_acc``, ``test_acc`` and ``test_softmax`` (Label Wave also
    ``decided``: False where its curve still fell at the end).
    """

    val_acc: float
    test_acc: float
    best_epoch: int
    epochs_run: int
    best_step: int
    steps_run: int
    wall_s: float
    history: list[dict[str, float]]
    test_softmax: np.ndarray
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    selections: dict[str, dict] = field(default_factory=dict, repr=False)
