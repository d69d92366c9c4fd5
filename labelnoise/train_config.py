"""Settings and outcome of a training (:class:`TrainConfig`, :class:`TrainResult`) and the device they resolve to."""

from __future__ import annotations

import dataclasses
import os
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from labelnoise.schema import ConfigError, check_section, section_defaults

#: cuBLAS workspace setting that makes its matrix products deterministic (CUDA docs).
CUBLAS_DETERMINISTIC_WORKSPACE: str = ":4096:8"
#: Default number of images per forward pass when only evaluating.
DEFAULT_EVAL_BATCH_SIZE: int = 1024


class DeviceUnavailable(RuntimeError):
    """The configured ``train.device`` does not exist on this machine."""


class TrainingDiverged(RuntimeError):
    """A network's training loss became NaN or infinite: no result of it may be saved."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run: the ``train`` section of the config schema, whose defaults
    :meth:`defaults` fills in (the schema is the one place they are written).

    ``eval_every``: evaluate the clean validation half every this many
    optimiser steps (None: at the end of every epoch). ``patience``: stop
    after this many consecutive evaluations without a strictly better
    validation accuracy. ``momentum`` is used by ``"sgd"`` only.
    ``device``: ``"auto"`` (CUDA if available, else CPU) or any torch device
    string such as ``"cpu"`` or ``"cuda:1"``. ``channels_last``: train with
    the NHWC memory layout, faster for these small convolutions on CPU
    (oneDNN) and what tensor cores want on GPU; it changes no result beyond
    float rounding. ``precision``: ``"auto"`` (bfloat16 autocast on
    CUDA and on CPUs with native bfloat16, float32 elsewhere), ``"fp32"`` or ``"bf16"`` (autocast on any
    device); evaluation is float32 either way. ``batched_seeds``: train the
    seeds of one noise level as one stacked model (``True``), one at a time
    (``False``), or ``"auto"``: stacked on CUDA only. On CPU the stack is
    seed-major and gives the loop's numbers bit for bit, so there it is a
    choice of form only.
    ``stack_layout``: how a stack computes (``"wide"``, ``"seed_major"``,
    see :mod:`labelnoise.seed_stack`); ``"auto"``: wide on CUDA, seed-major on
    CPU (``bench/train.py`` measures both); wide numbers differ from the
    loop's by float rounding. ``lr_schedule``, ``warmup_fraction``: see
    :func:`scheduled_lr`. ``hflip``, ``translate``: augmentation of the
    training minibatches (:mod:`labelnoise.augment`). ``selection``: the
    protocol whose state is reported (:mod:`labelnoise.selection`; all are
    measured; ``noisy_val`` only where noisy validation labels are given); ``label_wave_window``: epochs in Label Wave's moving average.

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
    def from_settings(cls, view: dict) -> "TrainConfig":
        """The training settings of a validated dataset view (the workflow's rules pass them as params)."""
        return cls(**{key: value for key, value in view["train"].items() if key != "threads"})

    @classmethod
    def defaults(cls, **overrides) -> "TrainConfig":
        """The schema's ``train`` defaults with ``overrides``, checked by the schema's rules (ConfigError naming the key)."""
        eval_batch_size = overrides.pop("eval_batch_size", DEFAULT_EVAL_BATCH_SIZE)
        settings = {**section_defaults("train"), **overrides}
        check_section("train", settings)
        if isinstance(eval_batch_size, bool) or not isinstance(eval_batch_size, int) or eval_batch_size < 1:
            raise ConfigError(f"eval_batch_size must be an integer >= 1, got {eval_batch_size!r}")
        return dataclasses.replace(cls.from_settings({"train": settings}), eval_batch_size=eval_batch_size)


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


@dataclass
class TrainResult:
    """Outcome of :func:`train_classifier`; accuracies are fractions in [0, 1].

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


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; otherwise the named device, checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:  # a device string from a caller of predict_softmax / extract_features
        raise ValueError(f"{name!r} is not a torch device: {exc}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f"train.device {name!r}, but this machine has no CUDA device; use 'cpu' or 'auto'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"train.device {name!r}, but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), where oneDNN's bf16 kernels pay."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's capability checks
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for training: bfloat16, or None for plain float32.

    ``auto``: bfloat16 on CUDA and on a CPU with native bfloat16 (bench/train.py
    measures the speed-up; docs/reference/ the accuracy parity on real MNIST),
    float32 elsewhere.
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto" and (device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())):
        return torch.bfloat16
    return None


def use_batched_seeds(config: TrainConfig) -> bool:
    """Whether ``config`` asks for the stacked-seeds path on its device ('auto': on CUDA only)."""
    if config.batched_seeds == "auto":
        return resolve_device(config.device).type == "cuda"
    return bool(config.batched_seeds)


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast to ``dtype`` on ``device`` (from :func:`resolve_precision`); no-op for None (float32)."""
    return torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None else nullcontext()


def request_deterministic_cuda() -> None:
    """Best effort at bit-reproducible CUDA runs (cuBLAS workspace, no cuDNN autotuning).

    ``CUBLAS_WORKSPACE_CONFIG`` only takes effect if set before cuBLAS first
    starts in this process; it is left alone if the user already set it.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC_WORKSPACE)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
