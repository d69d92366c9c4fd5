"""Training with model selection (Section 5): the settings, and the one training loop, read top to bottom.

The paper trains every net on (possibly noisy) training labels and keeps the
state with the best accuracy on a clean validation half of the official test
set; the accuracy it reports is that state's on the other (test) half. Here
every seed trains for the whole budget (``max_epochs``) and each selection
protocol of :mod:`labelnoise.selection` (the paper's clean validation, a
noisy validation half, Label Wave, the final state) keeps the state its rule
picks from that one trajectory; ``TrainConfig.selection``'s is reported.

Fast enough for a 2-core CPU: each data set becomes one device tensor once,
minibatches are slices of a seeded permutation (no DataLoader), evaluation runs
in large no-grad batches. All seeds of a level train as one
:class:`~labelnoise.seed_stack.SeedStack` (wide layout on a GPU, seed-major on a
CPU, where it equals training them one by one bit for bit) or one after another
(``TrainConfig.batched_seeds``). Training runs under bfloat16 autocast on a GPU
and on a CPU with native bfloat16 arithmetic (``TrainConfig.precision``), in
the channels_last layout; evaluation is float32. A killed training resumes from
its last evaluation (:mod:`labelnoise.resume`).

    settings      TrainConfig, make_optimizer, scheduled_lr
    entry points  train_seeds (S seeds of one level), train_classifier (one model)
    the loop      _train_stack -> _Loop: run_epoch (steps, protocols' hooks), evaluate, results
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from labelnoise.augment import flip_and_translate
from labelnoise.checks import check_labels
from labelnoise.device import request_deterministic_cuda, resolve_device, resolve_precision
from labelnoise.inference import DEFAULT_EVAL_BATCH_SIZE, channel_statistics, preprocess
from labelnoise.resume import ResumeCheckpoint, rng_states, set_rng_states, training_fingerprint
from labelnoise.schema import ConfigError, check_section, section_defaults
from labelnoise.seed_stack import SeedStack, preferred_stack_layout, stack_of_seeded_models
from labelnoise.seeding import derive_seed, seed_everything
from labelnoise.selection import PROTOCOLS, TrainResult, check_reported, score_selected_states

# --------------------------------------------------------------------------
# Settings: the config's train section, and the optimiser it makes
# --------------------------------------------------------------------------


class TrainingDiverged(RuntimeError):
    """A network's training loss became NaN or infinite: no result of it may be saved."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run: the ``train`` section of the config schema
    (``labelnoise/config.schema.yaml``), where each field's meaning and default are written, once.

    Build one with :meth:`defaults` (a library user: the schema's defaults and
    checks) or :meth:`from_settings` (the workflow: settings it validated when
    it started); the constructor itself checks nothing.
    """

    max_epochs: int
    patience: int
    batch_size: int
    lr: float
    weight_decay: float
    optimizer: str
    momentum: float
    device: str
    channels_last: bool
    precision: str
    batched_seeds: str | bool
    stack_layout: str
    eval_every: int | None
    lr_schedule: str
    warmup_fraction: float
    hflip: bool
    translate: int
    selection: str
    label_wave_window: int
    eval_batch_size: int = DEFAULT_EVAL_BATCH_SIZE  # not a setting of the study: memory only

    @classmethod
    def from_settings(cls, view: dict, section: str = "train") -> "TrainConfig":
        """The training settings of a validated dataset view (the workflow's rules pass them as params): ``train`` for
        the grid's nets, ``clean_train`` (``train`` with the clean net's overrides) for the clean net."""
        return cls(**{key: value for key, value in view[section].items() if key != "threads"})

    @classmethod
    def defaults(cls, **overrides) -> "TrainConfig":
        """The schema's ``train`` defaults with ``overrides``, checked by the schema's rules (ConfigError naming the key)."""
        eval_batch_size = overrides.pop("eval_batch_size", DEFAULT_EVAL_BATCH_SIZE)
        settings = {**section_defaults("train"), **overrides}
        check_section("train", settings)
        try:
            check_reported(settings["selection"])
        except ValueError as err:
            raise ConfigError(f"train.selection: {err}") from None
        if isinstance(eval_batch_size, bool) or not isinstance(eval_batch_size, int) or eval_batch_size < 1:
            raise ConfigError(f"eval_batch_size must be an integer >= 1, got {eval_batch_size!r}")
        return dataclasses.replace(cls.from_settings({"train": settings}), eval_batch_size=eval_batch_size)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``model``'s parameters at ``config.lr`` (the schedule then sets each step's rate)."""
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def scheduled_lr(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate of optimiser step ``step`` (1-based) of a training of ``total_steps`` steps.

    ``constant``: ``config.lr``. ``onecycle``: rises linearly from 0 to
    ``config.lr`` over the first ``warmup_fraction`` of the steps, then falls
    linearly towards 0 at ``total_steps`` (the linear 1cycle of Smith and
    Topin 2019, as KellerJordan/cifar10-airbench schedules its short runs).
    """
    if config.lr_schedule == "constant":
        return config.lr
    warmup = max(1, round(config.warmup_fraction * total_steps))
    if step <= warmup:
        return config.lr * step / warmup
    return config.lr * (total_steps - step + 1) / (total_steps - warmup + 1)


def use_batched_seeds(config: TrainConfig) -> bool:
    """Whether ``config`` asks for the stacked-seeds path on its device ('auto': on CUDA only)."""
    if config.batched_seeds == "auto":
        return resolve_device(config.device).type == "cuda"
    return bool(config.batched_seeds)


# --------------------------------------------------------------------------
# Entry points: the seeds of one level, or one model
# --------------------------------------------------------------------------


def train_seeds(
    model_factory: Callable[[], nn.Module],
    seeds: list[int],
    images_train: np.ndarray,
    labels_train_per_seed: np.ndarray,
    images_val: np.ndarray,
    labels_val: np.ndarray,
    images_test: np.ndarray,
    labels_test: np.ndarray,
    config: TrainConfig,
    log: Callable[[str], None] = print,
    resume_dir: str | os.PathLike | None = None,
    labels_val_noisy_per_seed: np.ndarray | None = None,
) -> list[TrainResult]:
    """Train S networks, one per seed, on uint8 N x C x H x W images: the training loop; one
    :class:`~labelnoise.selection.TrainResult` per seed.

    Seed s (``seeds[s]``) trains a fresh ``model_factory()`` on
    ``labels_train_per_seed[s]``, deterministically given its seed: the initial
    weights are re-drawn from it (on the CPU, the same on every device), its
    minibatch order comes from a generator seeded with ``derive_seed(seed,
    "shuffle")``, and it has its own minibatches, BatchNorm statistics, loss,
    element-wise optimiser state (S independent optimisers) and selections.
    The validation half is evaluated every ``config.eval_every`` optimiser steps
    (default: at the end of every epoch; the paper's authors evaluated every 10
    steps) against its clean labels and, given ``labels_val_noisy_per_seed``
    (S x N_val), noisy ones. Every protocol's state is scored on the validation
    and test halves (``TrainResult.selections``); ``config.selection``'s is
    reported. ``wall_s`` is each seed's share of its stack's time.

    A stack computes in ``config.stack_layout`` (:mod:`labelnoise.seed_stack`):
    seed-major gives each seed the numbers it gets alone bit for bit, except
    where dropout draws masks (a stack draws them for all its seeds together);
    wide equals that up to float rounding.

    With ``resume_dir`` each stack's whole training state is written there
    atomically at every evaluation and once more when training ends, and a run
    that finds a checkpoint of the same training (same data, labels, seeds,
    settings and initial weights) goes on from it: on the CPU the result equals
    an uninterrupted run bit for bit. The caller removes the folder once its
    results are saved.
    """
    seeds = list(seeds)
    labels_train_per_seed = np.asarray(labels_train_per_seed)
    n_classes = _check_training_labels(model_factory, seeds, images_train, labels_train_per_seed, labels_val, labels_test,
                                       images_val, images_test, labels_val_noisy_per_seed)
    device = resolve_device(config.device)
    if device.type == "cuda":
        request_deterministic_cuda()
    images_on_device = {f"x_{part}": preprocess(images, device, f"images_{part}")
                        for part, images in (("train", images_train), ("val", images_val), ("test", images_test))}
    arrays = _Arrays(images_train, labels_train_per_seed, labels_val, labels_test, labels_val_noisy_per_seed,
                     images_on_device, channel_statistics(images_train))
    evaluation = f"every {config.eval_every} steps" if config.eval_every else "every epoch"
    resume = (lambda name: Path(resume_dir) / name) if resume_dir is not None else (lambda name: None)
    if use_batched_seeds(config) and len(seeds) > 1:
        log(f"training {len(seeds)} seeds as one stacked model on {len(images_train)} labels each ({n_classes} classes); "
            f"validation {evaluation}")
        return _train_stack(model_factory, seeds, arrays, config, log, resume("seeds.pt"))
    results = []
    for s, seed in enumerate(seeds):
        log(f"seed {s + 1}/{len(seeds)} (seed {seed}): training on {len(images_train)} labels; validation {evaluation}")
        results += _train_stack(model_factory, [seed], arrays.of_seed(s), config, log, resume(f"seed{s}.pt"))
    return results


def train_classifier(
    model: nn.Module,
    images_train: np.ndarray,
    labels_train: np.ndarray,
    images_val: np.ndarray,
    labels_val: np.ndarray,
    images_test: np.ndarray,
    labels_test: np.ndarray,
    config: TrainConfig,
    seed: int,
    log: Callable[[str], None] = print,
    resume_dir: str | os.PathLike | None = None,
    labels_val_noisy: np.ndarray | None = None,
) -> TrainResult:
    """Train ``model`` on (noisy) training labels; the state of ``config.selection`` is kept (default: clean validation).

    One seed is a stack of one: this is :func:`train_seeds` with ``[seed]``
    (seed-major, a lone model's kernels; ``resume_dir`` and the noisy
    validation labels as there), and ``model`` is left holding the reported
    state on the training device.
    """
    labels = np.asarray(labels_train)
    result = train_seeds(
        lambda: model, [seed], images_train, labels[None], images_val, labels_val, images_test, labels_test,
        dataclasses.replace(config, stack_layout="seed_major"), log=log, resume_dir=resume_dir,
        labels_val_noisy_per_seed=None if labels_val_noisy is None else np.asarray(labels_val_noisy)[None],
    )[0]
    model.load_state_dict(result.state_dict)
    model.to(resolve_device(config.device))
    return result


def _check_training_labels(model_factory, seeds, images_train, labels_train_per_seed, labels_val, labels_test,
                           images_val, images_test, labels_val_noisy_per_seed) -> int:
    """Every label set against its images and the classes of one ``model_factory()``; returns the class count."""
    model = model_factory()
    n_classes = getattr(model, "n_classes", None)
    if n_classes is None:  # a model that does not say: count its outputs
        with torch.no_grad():
            n_classes = int(model.eval()(preprocess(images_train[:1])).shape[1])
    for s, seed_labels in enumerate(np.reshape(labels_train_per_seed, (len(seeds), -1))):
        check_labels(seed_labels, n_classes, f"labels_train_per_seed[{s}]", len(images_train))
    check_labels(labels_val, n_classes, "labels_val", len(images_val))
    check_labels(labels_test, n_classes, "labels_test", len(images_test))
    for s, seed_labels in enumerate(labels_val_noisy_per_seed if labels_val_noisy_per_seed is not None else []):
        check_labels(seed_labels, n_classes, f"labels_val_noisy_per_seed[{s}]", len(images_val))
    return n_classes


@dataclass(frozen=True)
class _Arrays:
    """What a stack trains on: the clean labels shared by all seeds, the images as tensors on the training device and
    the training images' channel statistics, made once per :func:`train_seeds` call; and its seeds' own labels."""

    images_train: np.ndarray
    labels_train_per_seed: np.ndarray
    labels_val: np.ndarray
    labels_test: np.ndarray
    labels_val_noisy_per_seed: np.ndarray | None
    images_on_device: dict[str, torch.Tensor]  # x_train, x_val, x_test (labelnoise.inference.preprocess)
    input_statistics: tuple[np.ndarray, np.ndarray]  # every seed's input standardiser (channel mean and std)

    def of_seed(self, s: int) -> "_Arrays":
        """The arrays of seed ``s`` alone (a stack of one)."""
        noisy = self.labels_val_noisy_per_seed
        return dataclasses.replace(self, labels_train_per_seed=self.labels_train_per_seed[s : s + 1],
                                   labels_val_noisy_per_seed=None if noisy is None else noisy[s : s + 1])


# --------------------------------------------------------------------------
# The training loop: a stack of seeds (all of a level's, or one)
# --------------------------------------------------------------------------


def _train_stack(model_factory: Callable[[], nn.Module], seeds: list[int], arrays: _Arrays, config: TrainConfig,
                 log: Callable[[str], None], resume_file: Path | None) -> list[TrainResult]:
    """:func:`train_seeds` of one stack of seeds (arguments checked there); its resume checkpoint in ``resume_file``."""
    device = arrays.images_on_device["x_train"].device
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    autocast_dtype = resolve_precision(config.precision, device)
    layout = preferred_stack_layout(device) if config.stack_layout == "auto" else config.stack_layout
    stack = stack_of_seeded_models(model_factory, seeds, arrays.input_statistics, layout, device, memory_format)
    # Dropout masks (the only randomness left) from all the seeds of the stack together.
    seed_everything(derive_seed(seeds[0], *seeds[1:], "batched"))
    data = dict(arrays.images_on_device)
    labels = {"y_train": arrays.labels_train_per_seed, "y_val": arrays.labels_val,
              "y_val_noisy": arrays.labels_val_noisy_per_seed}
    for key, values in labels.items():
        if values is not None:
            data[key] = torch.from_numpy(np.asarray(values).astype(np.int64)).to(device)
    loop = _Loop(stack, config, seeds, arrays.images_train.shape[0], device)
    fingerprint = lambda: training_fingerprint(stack, config, seeds, arrays.labels_train_per_seed,  # noqa: E731
                                               arrays.images_train, arrays.labels_val_noisy_per_seed)
    progress = ResumeCheckpoint(resume_file, fingerprint)
    saved = progress.load(log)
    if saved:
        loop.restore(saved)
    for epoch in loop.epochs():
        loop.run_epoch(epoch, data, seeds, autocast_dtype, memory_format, progress)
        loop.log_progress(log, epoch)
    progress.save(loop, finished=True)
    return loop.results(data, arrays.labels_val, arrays.labels_test, memory_format)


def _minibatches(order: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, ...]:
    """An epoch's seeded permutation of 0..n-1 cut into ceil(n / batch_size) near-equal slices.

    Equal slices (sizes differ by at most one, none above ``batch_size``)
    avoid a tiny last batch, which would make BatchNorm statistics noisy (or
    fail outright for a batch of one).
    """
    return torch.tensor_split(order, math.ceil(len(order) / batch_size))


class _Loop:
    """Everything a training of stacked seeds carries from step to step (and a resume checkpoint saves).

    Every seed trains for the whole budget (``max_epochs``); each registered
    selection protocol (:data:`labelnoise.selection.PROTOCOLS`) follows the
    trajectory through its hooks and keeps the state its rule picks.
    """

    def __init__(self, stack: SeedStack, config: TrainConfig, seeds: list[int], n_train: int, device: torch.device):
        self.stack, self.config, self.device = stack, config, device
        self.optimizer = make_optimizer(stack, config)
        self.generators = [torch.Generator().manual_seed(derive_seed(seed, "shuffle")) for seed in seeds]
        self.augment_generators = [torch.Generator().manual_seed(derive_seed(seed, "augment")) for seed in seeds]
        self.steps_per_epoch = math.ceil(n_train / config.batch_size)
        self.eval_every = config.eval_every or self.steps_per_epoch
        self.last_step = config.max_epochs * self.steps_per_epoch
        self.histories: list[list[dict[str, float]]] = [[] for _ in seeds]
        self.protocols = {name: protocol(len(seeds), config, n_train, device) for name, protocol in PROTOCOLS.items()}
        self.loss_sum = torch.zeros(len(seeds), dtype=torch.float64, device=device)  # since the last evaluation
        self.correct = torch.zeros(len(seeds), dtype=torch.int64, device=device)
        self.n_seen = 0
        self.step = self.epoch = 0
        self.orders: list[torch.Tensor] | None = None
        self.resumed = self.finished = False
        self.started = time.perf_counter()

    def seed_state(self, s: int) -> Callable[[], dict[str, torch.Tensor]]:
        """Seed ``s``'s weights now, read when a protocol keeps them."""
        return lambda: self.stack.seed_state_dict(s)

    def state(self) -> dict:
        return {
            "epoch": self.epoch, "step": self.step, "orders": self.orders,
            "generators": [generator.get_state() for generator in self.generators + self.augment_generators],
            "rng": rng_states(), "stack": self.stack.state_dict(), "optimizer": self.optimizer.state_dict(),
            "histories": self.histories, "protocols": {name: p.state() for name, p in self.protocols.items()},
            "elapsed_s": time.perf_counter() - self.started,
        }

    def restore(self, saved: dict) -> None:
        self.epoch, self.step, self.orders, self.finished = saved["epoch"], saved["step"], saved["orders"], saved["finished"]
        self.stack.load_state_dict(saved["stack"])
        self.optimizer.load_state_dict(saved["optimizer"])
        for generator, state in zip(self.generators + self.augment_generators, saved["generators"], strict=True):
            generator.set_state(state)
        set_rng_states(saved["rng"])
        self.histories = saved["histories"]
        for name, protocol in self.protocols.items():
            protocol.restore(saved["protocols"][name])
        self.started -= saved["elapsed_s"]
        self.resumed = True

    def epochs(self) -> range:
        """The epochs still to run (none when a resumed training had finished)."""
        return range(0) if self.finished else range(max(self.epoch, 1), self.config.max_epochs + 1)

    def run_epoch(self, epoch: int, data: dict, seeds: list[int], autocast_dtype, memory_format, progress: ResumeCheckpoint) -> None:
        """One epoch of every seed, evaluating every ``eval_every`` steps; a resumed epoch goes on where it was."""
        self.epoch, stack, config = epoch, self.stack, self.config
        stack.train()
        n_train, every = data["x_train"].shape[0], list(range(len(seeds)))
        if not self.resumed:  # a resumed epoch goes on with its own orders, past the batches already done
            self.orders = [torch.randperm(n_train, generator=generator) for generator in self.generators]
        done_in_epoch = self.step - (epoch - 1) * self.steps_per_epoch if self.resumed else 0
        self.resumed = False
        schedules = [_minibatches(order, config.batch_size) for order in self.orders]
        for per_seed_indices in itertools.islice(zip(*schedules), done_in_epoch, None):
            indices = torch.stack(per_seed_indices).to(self.device)  # S x B
            xb, yb = self.augmented(data["x_train"][indices]), torch.gather(data["y_train"], 1, indices)
            for group in self.optimizer.param_groups:
                group["lr"] = scheduled_lr(config, self.step + 1, self.last_step)
            losses, logits = stack.training_step(xb, yb, every, self.optimizer, autocast_dtype, memory_format)
            predictions = logits.argmax(dim=2)
            for protocol in self.protocols.values():  # e.g. Label Wave's prediction changes: no extra forward pass
                protocol.after_step(every, indices, predictions)
            self.loss_sum += losses.double() * yb.shape[1]
            self.correct += (predictions == yb).sum(dim=1)
            self.n_seen += yb.shape[1]
            self.step += 1
            if self.step % self.eval_every and self.step != self.last_step:
                continue
            self.evaluate(data, seeds, memory_format)
            progress.save(self)
        for s in every:
            for protocol in self.protocols.values():
                protocol.after_epoch(s, epoch, self.step, self.seed_state(s))

    def augmented(self, xb: torch.Tensor) -> torch.Tensor:
        """The minibatches ``xb`` (S x B x C x H x W), each seed's augmented by its own generator."""
        hflip, translate = self.config.hflip, self.config.translate
        if not (hflip or translate):
            return xb
        return torch.stack([flip_and_translate(batch, generator, hflip, translate)
                            for batch, generator in zip(xb, self.augment_generators)])

    def evaluate(self, data: dict, seeds: list[int], memory_format) -> None:
        """Score the validation half against its clean (and noisy) labels, log the history, tell the protocols."""
        config, stack = self.config, self.stack
        predictions = stack.eval_logits(data["x_val"], config.eval_batch_size, memory_format).argmax(dim=2)
        scores = {"val_acc": (predictions == data["y_val"]).double().mean(dim=1).tolist()}
        if "y_val_noisy" in data:
            scores["noisy_val_acc"] = (predictions == data["y_val_noisy"]).double().mean(dim=1).tolist()
        train_losses, train_accs = (self.loss_sum / self.n_seen).tolist(), (self.correct.double() / self.n_seen).tolist()
        diverged = [s for s, loss in enumerate(train_losses) if not math.isfinite(loss)]
        if diverged:
            raise TrainingDiverged(
                f"seed {diverged[0] + 1} of {len(seeds)} (seed {seeds[diverged[0]]}) diverged: training loss "
                f"{train_losses[diverged[0]]} by step {self.step} (epoch {self.epoch}; {config.optimizer}, lr {config.lr}); "
                "lower train.lr"
            )
        for s in range(len(seeds)):
            seed_scores = {name: values[s] for name, values in scores.items()}
            self.histories[s].append({"epoch": self.epoch, "step": self.step, "train_loss": train_losses[s],
                                      "train_acc": train_accs[s], **seed_scores})
            for protocol in self.protocols.values():
                protocol.after_evaluation(s, seed_scores, self.epoch, self.step, self.seed_state(s))
        self.loss_sum.zero_()
        self.correct.zero_()
        self.n_seen = 0
        stack.train()

    def results(self, data: dict, labels_val: np.ndarray, labels_test: np.ndarray, memory_format) -> list[TrainResult]:
        """Each protocol's state of every seed, scored on the validation and test halves
        (:func:`~labelnoise.selection.score_selected_states`); the configured one reported. A protocol that was not
        measured (the noisy validation half without noisy labels) is left out."""
        n_seeds = len(self.histories)
        chosen = {name: [protocol.chosen(s, self.epoch, self.step, self.seed_state(s)) for s in range(n_seeds)]
                  for name, protocol in self.protocols.items()}
        chosen = {name: picks for name, picks in chosen.items() if all(pick and pick["state"] for pick in picks)}
        outcomes = score_selected_states(self.stack, chosen, self.histories, data, labels_val, labels_test,
                                         self.config.eval_batch_size, memory_format)
        wall_share = (time.perf_counter() - self.started) / n_seeds
        reported = self.config.selection
        return [
            TrainResult(
                val_acc=outcome[reported]["val_acc"], test_acc=outcome[reported]["test_acc"],
                best_epoch=outcome[reported]["epoch"], epochs_run=self.epoch, best_step=outcome[reported]["step"],
                steps_run=self.step, wall_s=wall_share, history=self.histories[s],
                test_softmax=outcome[reported]["test_softmax"], state_dict=outcome[reported]["state"],
                selections={protocol: {key: value for key, value in result.items() if key != "state"}
                            for protocol, result in outcome.items()},
            )
            for s, outcome in enumerate(outcomes)
        ]

    def log_progress(self, log, epoch: int) -> None:
        """One line per epoch: each seed's latest evaluation, the reported protocol's pick so far, time so far and to go."""
        elapsed, config = time.perf_counter() - self.started, self.config
        latest = [history[-1] for history in self.histories if history]

        def column(key: str) -> str:
            return " ".join(format(entry[key], ".4f") for entry in latest)

        noisy = f"noisy_val_acc {column('noisy_val_acc')}  " if latest and "noisy_val_acc" in latest[0] else ""
        picked = " ".join(filter(None, (self.protocols[config.selection].progress(s) for s in range(len(self.histories)))))
        log(
            f"epoch {epoch}/{config.max_epochs}  step {self.step}  train_loss {column('train_loss')}  "
            f"val_acc {column('val_acc')}  {noisy}best {picked}  "
            f"{elapsed:.1f}s (about {elapsed / epoch * (config.max_epochs - epoch):.0f}s more)"
        )
