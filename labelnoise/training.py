"""Training with early stopping on the clean validation half (Section 5).

The paper trains every net on (possibly noisy) training labels and uses a clean
validation half of the official test set for early stopping; the accuracy it
reports is that of the best-validation state on the other (test) half. This
module does exactly that, fast enough for a 2-core CPU: each data set becomes
one device tensor once, minibatches are slices of a seeded permutation (no
DataLoader), and evaluation runs in large no-grad batches.

There is one training loop, :func:`train_seeds`: it trains the seeds of one
noise level as one :class:`~labelnoise.seed_stack.SeedStack` (wide layout on GPU,
seed-major on CPU), each seed with its own initial weights, minibatch order,
labels, optimiser state and early stopping; :func:`train_classifier` is a
stack of one. The clean validation half is evaluated every
``TrainConfig.eval_every`` steps or once per epoch. Training runs under
bfloat16 autocast on a GPU and on a CPU with native bfloat16 arithmetic
(``TrainConfig.precision``), with the channels_last layout; evaluation is
always float32.

Images are preprocessed as in :mod:`labelnoise.inference`; the settings are a
:class:`~labelnoise.train_config.TrainConfig`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labelnoise.augment import flip_and_translate
from labelnoise.early_stopping import EarlyStopping
from labelnoise.inference import batched_eval, channel_statistics, check_images, preprocess
from labelnoise.models import input_standardiser_of
from labelnoise.resume import ResumeCheckpoint, rng_states, set_rng_states, training_fingerprint
from labelnoise.seed_stack import SeedStack, preferred_stack_layout
from labelnoise.seeding import derive_seed, seed_everything
from labelnoise.train_config import (
    TrainConfig, TrainingDiverged, TrainResult, autocast, request_deterministic_cuda, resolve_device, resolve_precision,
    scheduled_lr,
)

def _loss_precision(logits: torch.Tensor) -> torch.Tensor:
    """Logits for the loss: bf16 autocast outputs raised to float32, float64 kept."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def _check_labels(labels: np.ndarray, n_images: int, n_classes: int, what: str) -> None:
    if not isinstance(labels, np.ndarray) or not np.issubdtype(labels.dtype, np.integer):
        kind = labels.dtype if isinstance(labels, np.ndarray) else type(labels).__name__
        raise ValueError(f"{what} must be an integer numpy array, got {kind}")
    if labels.shape != (n_images,):
        raise ValueError(f"{what} must have shape ({n_images},) to match the images, got {labels.shape}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        raise ValueError(f"{what} must lie in 0..{n_classes - 1} (the model's classes), got range {low}..{high}")


def _model_n_classes(model: nn.Module, image_shape: tuple[int, ...]) -> int:
    n_classes = getattr(model, "n_classes", None)
    if n_classes is not None:
        return int(n_classes)
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros((1, *image_shape), device=device))
    model.train(was_training)
    return int(out.shape[1])


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def reinitialise(model: nn.Module) -> None:
    """Reset every submodule that has ``reset_parameters`` (weights and BN running stats).

    Called after seeding, it makes the initial weights a function of the seed
    alone, whatever the RNG state was when the model was built.
    """
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def _minibatches(order: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, ...]:
    """An epoch's seeded permutation of 0..n-1 cut into ceil(n / batch_size) near-equal slices.

    Equal slices (sizes differ by at most one, none above ``batch_size``)
    avoid a tiny last batch, which would make BatchNorm statistics noisy (or
    fail outright for a batch of one).
    """
    return torch.tensor_split(order, math.ceil(len(order) / batch_size))


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _check_image_sets(images_train: np.ndarray, images_val: np.ndarray, images_test: np.ndarray) -> tuple[int, ...]:
    """Check the three image sets; return their common C x H x W shape."""
    for images, what in ((images_train, "images_train"), (images_val, "images_val"), (images_test, "images_test")):
        check_images(images, what)
    image_shape = tuple(images_train.shape[1:])
    for images, what in ((images_val, "images_val"), (images_test, "images_test")):
        if tuple(images.shape[1:]) != image_shape:
            raise ValueError(f"{what} has image shape {images.shape[1:]}, but images_train has {image_shape}")
    if images_train.shape[0] < 2:
        raise ValueError("training needs at least 2 images (BatchNorm needs a batch of 2 or more)")
    return image_shape


def _initialise_from_seed(model: nn.Module, seed: int, images_train: np.ndarray) -> None:
    """Seeded re-initialisation on the CPU and training-set input statistics.

    Done on the CPU in the standard layout, so the initial weights are the
    same function of the seed on every device and layout.
    """
    model.to(device="cpu", memory_format=torch.contiguous_format)
    seed_everything(seed)
    reinitialise(model)
    input_standardiser_of(model).set_statistics(*channel_statistics(images_train))


def _memory_format(config: TrainConfig) -> torch.memory_format:
    return torch.channels_last if config.channels_last else torch.contiguous_format


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
    resume_path: str | os.PathLike | None = None,
) -> TrainResult:
    """Train ``model`` on (noisy) training labels with early stopping on clean validation.

    One seed is a stack of one: this is :func:`train_seeds` with ``[seed]``
    (seed-major, a lone model's kernels; ``resume_path`` as there), and
    ``model`` is left holding the best-validation state on the training device.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    labels = np.asarray(labels_train)
    result = train_seeds(
        lambda: model, [seed], images_train, labels[None], images_val, labels_val, images_test, labels_test,
        dataclasses.replace(config, stack_layout="seed_major"), log=log, resume_path=resume_path,
    )[0]
    model.load_state_dict(result.state_dict)
    model.to(resolve_device(config.device))
    return result


# --------------------------------------------------------------------------
# The training loop: all seeds of a level as one stacked model
# --------------------------------------------------------------------------


def _stack_logits(
    stack: SeedStack, x: torch.Tensor, batch_size: int, memory_format: torch.memory_format, seeds: list[int] | None = None
) -> torch.Tensor:
    """Float32 eval-mode logits (len(seeds) x N x L; default all seeds) on one shared image set."""
    return batched_eval(stack, x, batch_size, lambda b: stack(b, memory_format, seeds).float(), dim=1)


def stack_training_step(
    stack: SeedStack,
    xb: torch.Tensor,
    yb: torch.Tensor,
    seeds: list[int],
    optimizer: torch.optim.Optimizer,
    autocast_dtype: torch.dtype | None,
    memory_format: torch.memory_format,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step of the seeds ``seeds`` on their minibatches ``xb`` (S' x B x ...), labels ``yb`` (S' x B).

    Returns each seed's mean loss (S') and its logits (S' x B x L), detached.
    Wide layout: one forward and one backward pass over all seeds (one kernel
    per layer, the GPU's way). Seed-major: forward and backward seed after
    seed, then the one optimiser step; each seed's activations are freed
    before the next seed's exist, so the working set is a lone model's, and
    each seed's loss is the very op a lone model's training runs, so results
    are bit-identical to training the seeds one by one.
    """
    device = xb.device
    optimizer.zero_grad(set_to_none=True)
    if stack.layout == "wide":
        with autocast(device, autocast_dtype):
            logits = stack(xb, memory_format, seeds)
        losses = F.cross_entropy(_loss_precision(logits).flatten(0, 1), yb.flatten(), reduction="none").view_as(yb).mean(dim=1)
        losses.sum().backward()
    else:
        per_seed_losses, per_seed_logits = [], []
        for position, seed_index in enumerate(seeds):
            with autocast(device, autocast_dtype):
                seed_logits = stack(xb[position : position + 1], memory_format, [seed_index])[0]
            loss = F.cross_entropy(_loss_precision(seed_logits), yb[position])
            loss.backward()
            per_seed_losses.append(loss.detach())
            per_seed_logits.append(seed_logits.detach())
        losses, logits = torch.stack(per_seed_losses), torch.stack(per_seed_logits)
    optimizer.step()
    return losses.detach(), logits.detach()


class _Loop:
    """Everything a training of stacked seeds carries from step to step (and a resume checkpoint saves)."""

    def __init__(self, stack: SeedStack, config: TrainConfig, seeds: list[int], n_train: int, device: torch.device):
        self.stack, self.config, self.device = stack, config, device
        self.optimizer = _make_optimizer(stack, config)
        self.generators = [torch.Generator().manual_seed(derive_seed(seed, "shuffle")) for seed in seeds]
        self.augment_generators = [torch.Generator().manual_seed(derive_seed(seed, "augment")) for seed in seeds]
        self.steps_per_epoch = math.ceil(n_train / config.batch_size)
        self.eval_every = config.eval_every or self.steps_per_epoch
        self.last_step = config.max_epochs * self.steps_per_epoch
        self.histories: list[list[dict[str, float]]] = [[] for _ in seeds]
        self.stopping = EarlyStopping(len(seeds), config.patience)
        self.loss_sum = torch.zeros(len(seeds), dtype=torch.float64, device=device)  # since the last evaluation
        self.correct = torch.zeros(len(seeds), dtype=torch.int64, device=device)
        self.n_seen = 0
        self.step = self.epoch = 0
        self.orders: list[torch.Tensor] | None = None
        self.resumed = self.finished = False
        self.started = time.perf_counter()

    def state(self) -> dict:
        return {
            "epoch": self.epoch, "step": self.step, "orders": self.orders,
            "generators": [generator.get_state() for generator in self.generators + self.augment_generators],
            "rng": rng_states(),
            "stack": self.stack.state_dict(), "optimizer": self.optimizer.state_dict(), "histories": self.histories,
            "stopping": dict(self.stopping.__dict__), "elapsed_s": time.perf_counter() - self.started,
        }

    def restore(self, saved: dict) -> None:
        self.epoch, self.step, self.orders, self.finished = saved["epoch"], saved["step"], saved["orders"], saved["finished"]
        self.stack.load_state_dict(saved["stack"]), self.optimizer.load_state_dict(saved["optimizer"])
        for generator, state in zip(self.generators + self.augment_generators, saved["generators"], strict=True):
            generator.set_state(state)
        set_rng_states(saved["rng"])
        self.histories, self.stopping.__dict__ = saved["histories"], saved["stopping"]
        self.started -= saved["elapsed_s"]
        self.resumed = True

    def epochs(self) -> range:
        """The epochs still to run (none when a resumed training had finished)."""
        return range(0) if self.finished else range(max(self.epoch, 1), self.config.max_epochs + 1)

    def run_epoch(self, epoch: int, data: dict, seeds: list[int], autocast_dtype, memory_format, progress: ResumeCheckpoint) -> None:
        """One epoch of every running seed, evaluating every ``eval_every`` steps; a resumed epoch goes on where it was."""
        self.epoch, stack, config = epoch, self.stack, self.config
        stack.train()
        n_train = data["x_train"].shape[0]
        if not self.resumed:  # a resumed epoch goes on with its own orders, past the batches already done
            self.orders = [torch.randperm(n_train, generator=generator) for generator in self.generators]
        done_in_epoch = self.step - (epoch - 1) * self.steps_per_epoch if self.resumed else 0
        self.resumed = False
        schedules = [_minibatches(order, config.batch_size) for order in self.orders]
        for per_seed_indices in itertools.islice(zip(*schedules), done_in_epoch, None):
            # The seed-major layout computes the running seeds only; the wide one computes all.
            running = self.stopping.running()
            computed = running if stack.layout == "seed_major" else list(range(len(seeds)))
            indices = torch.stack([per_seed_indices[s] for s in computed]).to(self.device)  # S' x B
            xb, yb = self.augmented(data["x_train"][indices], computed), torch.gather(data["y_train"][computed], 1, indices)
            for group in self.optimizer.param_groups:
                group["lr"] = scheduled_lr(config, self.step + 1, self.last_step)
            losses, logits = stack_training_step(stack, xb, yb, computed, self.optimizer, autocast_dtype, memory_format)
            where = torch.tensor(computed, device=self.device)
            self.loss_sum[where] += losses.double() * yb.shape[1]
            self.correct[where] += (logits.argmax(dim=2) == yb).sum(dim=1)
            self.n_seen += yb.shape[1]
            self.step += 1
            if self.step % self.eval_every and self.step != self.last_step:
                continue
            self.evaluate(data, seeds, running, computed, memory_format)
            progress.save(self)
            if not self.stopping.running():
                break

    def augmented(self, xb: torch.Tensor, computed: list[int]) -> torch.Tensor:
        """The minibatches ``xb`` (S' x B x C x H x W) of the seeds ``computed``, each augmented by its own generator."""
        hflip, translate = self.config.hflip, self.config.translate
        if not (hflip or translate):
            return xb
        return torch.stack([flip_and_translate(xb[position], self.augment_generators[s], hflip, translate)
                            for position, s in enumerate(computed)])

    def evaluate(self, data: dict, seeds: list[int], running: list[int], computed: list[int], memory_format) -> None:
        """Score the clean validation half, log each running seed's history and update its early stopping."""
        config, stack = self.config, self.stack
        val_logits = _stack_logits(stack, data["x_val"], config.eval_batch_size, memory_format, computed)
        val_accs = dict(zip(computed, (val_logits.argmax(dim=2) == data["y_val"]).double().mean(dim=1).tolist()))
        train_losses, train_accs = (self.loss_sum / self.n_seen).tolist(), (self.correct.double() / self.n_seen).tolist()
        diverged = [s for s in running if not math.isfinite(train_losses[s])]
        if diverged:
            raise TrainingDiverged(
                f"seed {diverged[0] + 1} of {len(seeds)} (seed {seeds[diverged[0]]}) diverged: training loss "
                f"{train_losses[diverged[0]]} by step {self.step} (epoch {self.epoch}; {config.optimizer}, lr {config.lr}); "
                "lower train.lr"
            )
        for s in running:
            self.histories[s].append({"epoch": self.epoch, "step": self.step, "train_loss": train_losses[s],
                                      "train_acc": train_accs[s], "val_acc": val_accs[s]})
            self.stopping.update(s, val_accs[s], self.epoch, self.step, lambda: stack.seed_state_dict(s))
        self.loss_sum.zero_(), self.correct.zero_()
        self.n_seen = 0
        stack.train()

    def results(self, x_test: torch.Tensor, labels_test: np.ndarray, memory_format) -> list[TrainResult]:
        """Each seed's best-validation state, scored on the test half."""
        stack, stopping, n_seeds = self.stack, self.stopping, len(self.histories)
        for s in range(n_seeds):
            stack.load_seed_state_dict(s, stopping.best_state[s])
        test_softmax = torch.softmax(_stack_logits(stack, x_test, self.config.eval_batch_size, memory_format), dim=2)
        test_softmax = test_softmax.cpu().numpy().astype(np.float32, copy=False)
        wall_share = (time.perf_counter() - self.started) / n_seeds
        return [
            TrainResult(
                val_acc=stopping.best_val_acc[s],
                test_acc=float((test_softmax[s].argmax(axis=1) == labels_test).mean()),
                best_epoch=stopping.best_epoch[s],
                epochs_run=stopping.stopped_at[s][0] if stopping.stopped_at[s] else self.epoch,
                best_step=stopping.best_step[s],
                steps_run=stopping.stopped_at[s][1] if stopping.stopped_at[s] else self.step,
                wall_s=wall_share,
                history=self.histories[s],
                test_softmax=test_softmax[s],
                state_dict=stopping.best_state[s],
            )
            for s in range(n_seeds)
        ]


def _check_training_inputs(config, seeds, images_train, labels_train_per_seed, images_val, images_test) -> list[int]:
    """The checks of :func:`train_seeds`' arguments that need no model; returns the seeds as a list."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for seed in seeds:
        _check_seed(seed)
    _check_image_sets(images_train, images_val, images_test)
    expected = (len(seeds), images_train.shape[0])
    if np.shape(labels_train_per_seed) != expected:
        raise ValueError(
            f"labels_train_per_seed must have shape {expected} (seeds x images), got {np.shape(labels_train_per_seed)}"
        )
    return seeds


def _seed_stack(model_factory, seeds, images_train, config, device, memory_format) -> tuple[SeedStack, int]:
    """A fresh model per seed, initialised from its seed, stacked in the configured layout; and its class count."""
    models = []
    for seed in seeds:
        model = model_factory()
        _initialise_from_seed(model, seed, images_train)
        models.append(model)
    n_classes = _model_n_classes(models[0], tuple(images_train.shape[1:]))
    layout = preferred_stack_layout(device) if config.stack_layout == "auto" else config.stack_layout
    return SeedStack(models, layout=layout).to(device=device, memory_format=memory_format), n_classes


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
    resume_path: str | os.PathLike | None = None,
) -> list[TrainResult]:
    """Train S networks, one per seed, as one :class:`~labelnoise.seed_stack.SeedStack`: the training loop.

    Seed s (``seeds[s]``) trains a fresh ``model_factory()`` on
    ``labels_train_per_seed[s]``, deterministically given its seed: the
    initial weights are re-drawn from it (on the CPU, the same on every
    device), its minibatch order comes from a generator seeded with
    ``derive_seed(seed, "shuffle")``, and it has its own minibatch (and
    BatchNorm statistics), loss, element-wise optimiser state (Adam and SGD
    act per element, so this is S independent optimisers) and early stopping.

    Early stopping (Section 5): the clean validation half is evaluated every
    ``config.eval_every`` optimiser steps (default: at the end of every
    epoch; the paper's authors evaluated every 10 steps); each seed keeps
    its best-validation state and stops after ``config.patience``
    evaluations without a strict improvement, while the others train on,
    until every seed has stopped or ``max_epochs``. The test accuracy and
    softmax reported are those of the best state.

    Layout ``config.stack_layout`` ("auto": the device's preferred one).
    Seed-major: results equal training the seeds one at a time bit for bit
    (same kernels on the same shapes), except where dropout draws masks, and
    stopped seeds cost nothing. Wide: equal up to float rounding (grouped
    kernels sum in another order); stopped seeds ride along. ``wall_s`` is
    each seed's share of the total. Returns one :class:`TrainResult` per seed.

    With ``resume_path`` the whole training state (weights, optimiser,
    minibatch orders and generators, RNG streams, histories, best states and
    patience counters) is written there atomically at every evaluation and
    once more when training ends, and a run that finds a checkpoint of the
    same training (same data, labels, seeds, settings and initial weights)
    goes on from it: on the CPU the result equals an uninterrupted run bit for
    bit. The caller removes the file once its results are saved.
    """
    seeds = _check_training_inputs(config, seeds, images_train, labels_train_per_seed, images_val, images_test)
    labels_train_per_seed = np.asarray(labels_train_per_seed)
    device = resolve_device(config.device)
    memory_format = _memory_format(config)
    autocast_dtype = resolve_precision(config.precision, device)
    if device.type == "cuda":
        request_deterministic_cuda()
    stack, n_classes = _seed_stack(model_factory, seeds, images_train, config, device, memory_format)
    for s, labels in enumerate(labels_train_per_seed):
        _check_labels(labels, images_train.shape[0], n_classes, f"labels_train_per_seed[{s}]")
    _check_labels(labels_val, images_val.shape[0], n_classes, "labels_val")
    _check_labels(labels_test, images_test.shape[0], n_classes, "labels_test")
    # Dropout masks (the only randomness left) from all the seeds together.
    seed_everything(derive_seed(seeds[0], *seeds[1:], "batched"))
    data = {
        "x_train": preprocess(images_train, device),
        "y_train": torch.from_numpy(labels_train_per_seed.astype(np.int64)).to(device),
        "x_val": preprocess(images_val, device),
        "y_val": torch.from_numpy(labels_val.astype(np.int64)).to(device),
        "x_test": preprocess(images_test, device),
    }
    loop = _Loop(stack, config, seeds, images_train.shape[0], device)
    progress = ResumeCheckpoint(resume_path, lambda: training_fingerprint(stack, config, seeds, labels_train_per_seed, images_train))
    saved = progress.load(log)
    if saved:
        loop.restore(saved)
    for epoch in loop.epochs():
        loop.run_epoch(epoch, data, seeds, autocast_dtype, memory_format, progress)
        _log_progress(log, epoch, loop.step, config, loop.histories, loop.stopping, loop.started)
        if not loop.stopping.running():
            break
    progress.save(loop, finished=True)
    return loop.results(data["x_test"], labels_test, memory_format)


def _log_progress(log, epoch: int, step: int, config: TrainConfig, histories, stopping: EarlyStopping, started: float) -> None:
    """One line per epoch: each seed's latest evaluation and best so far, time so far and at most to go; a line per seed that stopped."""
    elapsed = time.perf_counter() - started
    shown = [s for s in range(len(histories)) if histories[s] and histories[s][-1]["epoch"] == epoch]
    latest = [histories[s][-1] for s in shown]
    log(
        f"epoch {epoch}/{config.max_epochs}  step {step}  seeds {' '.join(str(s + 1) for s in shown)}  "
        f"train_loss {' '.join(format(entry['train_loss'], '.4f') for entry in latest)}  "
        f"val_acc {' '.join(format(entry['val_acc'], '.4f') for entry in latest)}  "
        f"best {' '.join(f'{stopping.best_val_acc[s]:.4f}@{stopping.best_step[s]}' for s in shown)}  "
        f"{elapsed:.1f}s (at most {elapsed / epoch * (config.max_epochs - epoch):.0f}s more)"
    )
    newly_stopped = [s + 1 for s in shown if stopping.stopped_at[s] and stopping.stopped_at[s][0] == epoch]
    if newly_stopped:
        log(f"early stop of seed(s) {newly_stopped}: no validation improvement in {config.patience} evaluations")
