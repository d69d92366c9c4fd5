"""Training with early stopping on the clean validation half (Section 5).

The paper trains every net on (possibly noisy) training labels and uses a clean
validation half of the official test set for early stopping; the accuracy it
reports is that of the best-validation state on the other (test) half. This
module does exactly that, fast enough for a 2-core CPU: each data set becomes
one device tensor once, minibatches are slices of a seeded permutation (no
DataLoader), and evaluation runs in large no-grad batches.

There is one training loop, :func:`train_seeds`: it trains the seeds of one
noise level as one :class:`~labelnoise.models.SeedStack` (wide layout on GPU,
seed-major on CPU), each seed with its own initial weights, minibatch order,
labels, optimiser state and early stopping; :func:`train_classifier` is a
stack of one. The clean validation half is evaluated every
``TrainConfig.eval_every`` steps or once per epoch. Training runs under
bfloat16 autocast on a GPU and on a CPU with native bfloat16 arithmetic
(``TrainConfig.precision``), with the channels_last layout; evaluation is
always float32.

Preprocessing, used by every function here (:func:`preprocess`): uint8 images
are divided by 255. The model then standardises each channel with the mean and
standard deviation of the *training* images (after /255), which
:func:`train_classifier` computes and stores in the model's
:class:`~labelnoise.models.InputStandardiser` buffers, so prediction and
feature extraction on a trained or reloaded model use the same statistics.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from contextlib import nullcontext

from labelnoise.models import STACK_LAYOUTS, SeedStack, input_standardiser_of, preferred_stack_layout
from labelnoise.seeding import derive_seed, seed_everything

#: Pixel value that maps to 1.0 after :func:`preprocess`.
PIXEL_MAX: float = 255.0
#: Default number of images per forward pass when only evaluating.
DEFAULT_EVAL_BATCH_SIZE: int = 1024
#: cuBLAS workspace setting that makes its matrix products deterministic (CUDA docs).
CUBLAS_DETERMINISTIC_WORKSPACE: str = ":4096:8"
#: Optimisers :class:`TrainConfig` accepts.
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
#: Training precisions: auto = bf16 autocast on CUDA and on CPUs with native bf16, fp32 elsewhere.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
#: Values of ``TrainConfig.batched_seeds``: auto = batched on CUDA, one model at a time on CPU.
BATCHED_SEEDS_CHOICES: tuple[object, ...] = ("auto", True, False)
#: Values of ``TrainConfig.stack_layout``: auto = the device's preferred layout, or one of STACK_LAYOUTS.
STACK_LAYOUT_CHOICES: tuple[str, ...] = ("auto", *STACK_LAYOUTS)


class TrainingDiverged(RuntimeError):
    """A network's training loss became NaN or infinite: no result of it may be saved."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (defaults: fast CPU training).

    ``eval_every``: evaluate the clean validation half every this many
    optimiser steps (None: at the end of every epoch). ``patience``: stop
    after this many consecutive evaluations without a strictly better
    validation accuracy. ``momentum`` is used by ``"sgd"`` only.
    ``device``: ``"auto"`` (CUDA if available, else CPU) or any torch device
    string such as ``"cpu"`` or ``"cuda:1"``. ``channels_last``: train with
    the NHWC memory layout, about 1.3x faster for these small convolutions
    on CPU (oneDNN) and what tensor cores want on GPU; it changes no result
    beyond float rounding. ``precision``: ``"auto"`` (bfloat16 autocast on
    CUDA and on CPUs with native bfloat16, float32 elsewhere), ``"fp32"`` or ``"bf16"`` (autocast on any
    device); evaluation is float32 either way. ``batched_seeds``: train the
    seeds of one noise level as one stacked model (``True``), one at a time
    (``False``), or ``"auto"``: stacked on CUDA only. On CPU the stack is
    seed-major and gives the loop's numbers bit for bit at the loop's speed
    (bench/train.py: 1.00-1.01x), so there it is a choice of form only.
    ``stack_layout``: how a stack computes (``"wide"``, ``"seed_major"``,
    see :mod:`labelnoise.models`); ``"auto"``: wide on CUDA, seed-major on
    CPU. Wide on CPU pays off only for small nets with several threads per
    job (bench/train.py --threads 2: 1.5x the loop at width 0.25, 0.6-1.0x
    otherwise), and its numbers differ from the loop's by float rounding.
    """

    max_epochs: int = 30
    patience: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    momentum: float = 0.9
    device: str = "auto"
    eval_batch_size: int = DEFAULT_EVAL_BATCH_SIZE
    channels_last: bool = True
    precision: str = "auto"
    batched_seeds: str | bool = "auto"
    stack_layout: str = "auto"
    eval_every: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_epochs", "patience", "batch_size", "eval_batch_size", "eval_every"):
            value = getattr(self, name)
            if name == "eval_every" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be an integer >= 1, got {value!r}")
        for name, lower_ok in (("lr", False), ("weight_decay", True)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"TrainConfig.{name} must be a finite number, got {value!r}")
            if value < 0 or (value == 0 and not lower_ok):
                bound = ">= 0" if lower_ok else "> 0"
                raise ValueError(f"TrainConfig.{name} must be {bound}, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float)) or not (
            0 <= self.momentum < 1
        ):
            raise ValueError(f"TrainConfig.momentum must be in [0, 1), got {self.momentum!r}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"TrainConfig.channels_last must be a bool, got {self.channels_last!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not (isinstance(self.batched_seeds, bool) or self.batched_seeds == "auto"):
            raise ValueError(f"TrainConfig.batched_seeds must be one of {BATCHED_SEEDS_CHOICES}, got {self.batched_seeds!r}")
        if self.stack_layout not in STACK_LAYOUT_CHOICES:
            raise ValueError(f"TrainConfig.stack_layout must be one of {STACK_LAYOUT_CHOICES}, got {self.stack_layout!r}")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"TrainConfig.device must be 'auto' or a torch device string, got {self.device!r}")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, ValueError) as exc:
                raise ValueError(f"TrainConfig.device {self.device!r} is not a torch device: {exc}") from None


@dataclass
class TrainResult:
    """Outcome of :func:`train_classifier`; accuracies are fractions in [0, 1].

    ``history`` holds one dict per evaluation of the clean validation half:
    ``epoch`` (1-based, the epoch it fell in), ``step`` (optimiser steps so
    far), ``train_loss`` and ``train_acc`` (mean over the minibatches since
    the previous evaluation, against the labels trained on, i.e. the noisy
    ones), ``val_acc``. ``best_epoch`` / ``best_step``: where the
    best-validation state was taken; ``epochs_run`` / ``steps_run``: where
    training stopped.
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


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; otherwise the named device, checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a torch device: {exc}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
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
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
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


def _loss_precision(logits: torch.Tensor) -> torch.Tensor:
    """Logits for the loss: bf16 autocast outputs raised to float32, float64 kept."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


# --------------------------------------------------------------------------
# Preprocessing and input checks
# --------------------------------------------------------------------------


def _check_images(images: np.ndarray, what: str) -> None:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        kind = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"{what} must be a uint8 numpy array (pixels 0..255), got {kind}")
    if images.ndim != 4:
        raise ValueError(f"{what} must have shape N x C x H x W, got shape {images.shape}")
    if images.shape[0] == 0:
        raise ValueError(f"{what} is empty")


def _check_labels(labels: np.ndarray, n_images: int, n_classes: int, what: str) -> None:
    if not isinstance(labels, np.ndarray) or not np.issubdtype(labels.dtype, np.integer):
        kind = labels.dtype if isinstance(labels, np.ndarray) else type(labels).__name__
        raise ValueError(f"{what} must be an integer numpy array, got {kind}")
    if labels.shape != (n_images,):
        raise ValueError(f"{what} must have shape ({n_images},) to match the images, got {labels.shape}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        raise ValueError(f"{what} must lie in 0..{n_classes - 1} (the model's classes), got range {low}..{high}")


def preprocess(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 N x C x H x W images -> float32 tensor in [0, 1] on ``device``.

    Per-channel standardisation is applied afterwards by the model itself
    (see the module docstring), with training-set statistics.
    """
    _check_images(images, "images")
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).float().div_(PIXEL_MAX)


def channel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) std of ``images / 255``, computed in float64."""
    _check_images(images, "images")
    n, c = images.shape[:2]
    flat = images.transpose(1, 0, 2, 3).reshape(c, -1)
    mean = np.empty(c)
    std = np.empty(c)
    for ch in range(c):  # per channel keeps the float64 copy small for big data sets
        values = flat[ch].astype(np.float64) / PIXEL_MAX
        mean[ch] = values.mean()
        std[ch] = values.std()
    return mean, std


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


def _model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


def _batched_eval(
    model: nn.Module, x: torch.Tensor, batch_size: int, fn: Callable[[torch.Tensor], torch.Tensor], dim: int = 0
) -> torch.Tensor:
    """Concatenate ``fn(batch)`` over ``x`` along ``dim`` in eval mode, restoring the model's mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return torch.cat([fn(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)], dim=dim)
    finally:
        model.train(was_training)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    predictions = _batched_eval(model, x, batch_size, lambda b: model(b).argmax(dim=1))
    return float((predictions == y).double().mean().item())


def _softmax_of_tensor(model: nn.Module, x: torch.Tensor, batch_size: int) -> np.ndarray:
    probs = _batched_eval(model, x, batch_size, lambda b: torch.softmax(model(b).float(), dim=1))
    return probs.cpu().numpy().astype(np.float32, copy=False)


def _resolve_eval_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is None:
        return _model_device(model)
    resolved = resolve_device(device) if isinstance(device, str) else device
    model.to(resolved)
    return resolved


def predict_softmax(
    model: nn.Module,
    images: np.ndarray,
    batch_size: int = DEFAULT_EVAL_BATCH_SIZE,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Softmax outputs (N x L float32) in eval mode; C(l) of Eq. 6 on the test set.

    ``device=None`` uses the device the model already lives on; otherwise the
    model is moved there.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = _resolve_eval_device(model, device)
    return _softmax_of_tensor(model, preprocess(images, dev), batch_size)


def extract_features(
    model: nn.Module,
    images: np.ndarray,
    batch_size: int = DEFAULT_EVAL_BATCH_SIZE,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """``model.features`` (N x fc_dim float32) in eval mode: the Appendix A embedding.

    For :class:`~labelnoise.models.PaperCNN` these are the raw penultimate fc
    outputs before BatchNorm/ReLU, used for per-class k-means (Section 5) and
    K-NN (Appendix A).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not callable(getattr(model, "features", None)):
        raise ValueError(f"model {type(model).__name__} has no features() method to embed with")
    dev = _resolve_eval_device(model, device)
    x = preprocess(images, dev)
    feats = _batched_eval(model, x, batch_size, lambda b: model.features(b).float())
    return feats.cpu().numpy().astype(np.float32, copy=False)


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


def request_deterministic_cuda() -> None:
    """Best effort at bit-reproducible CUDA runs (cuBLAS workspace, no cuDNN autotuning).

    ``CUBLAS_WORKSPACE_CONFIG`` only takes effect if set before cuBLAS first
    starts in this process; it is left alone if the user already set it.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC_WORKSPACE)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


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
        _check_images(images, what)
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
    return _batched_eval(stack, x, batch_size, lambda b: stack(b, memory_format, seeds).float(), dim=1)


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


def _training_fingerprint(stack: SeedStack, config: TrainConfig, seeds, labels: np.ndarray, images: np.ndarray) -> str:
    """What makes two trainings the same: settings, seeds, labels, images and the initial weights."""
    from labelnoise.data import array_checksum

    weights = (tensor.detach().cpu().numpy() for tensor in stack.state_dict().values())
    return f"{dataclasses.asdict(config)!r} {list(seeds)!r} {array_checksum(labels, images, *weights)}"


def _rng_states() -> dict:
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"]:
        torch.cuda.set_rng_state_all(states["cuda"])


class _Progress:
    """The resume checkpoint of one training (``train_seeds``' ``resume_path``); does nothing without a path."""

    def __init__(self, path: str | os.PathLike | None, fingerprint: Callable[[], str]):
        self.path = path
        self.fingerprint = fingerprint() if path is not None else None  # hashing the data only when it is needed

    def load(self, log: Callable[[str], None]) -> dict | None:
        """The saved state of this training, or None (no file, or one of another training: it is ignored)."""
        if self.path is None or not os.path.exists(self.path):
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # a checkpoint cut short by the kill that made it necessary: start afresh
            log(f"resume checkpoint {self.path} is unreadable; training from the start")
            return None
        if saved.get("fingerprint") != self.fingerprint:
            log(f"resume checkpoint {self.path} is of another training (settings, labels or seeds); training from the start")
            return None
        log(f"resuming from {self.path}: epoch {saved['epoch']}, step {saved['step']}"
            f"{' (training had finished)' if saved['finished'] else ''}")
        return saved

    def save(self, epoch, step, orders, generators, stack, optimizer, histories, stopping, started, finished=False) -> None:
        if self.path is None:
            return
        from labelnoise.io import atomic_path

        state = {
            "fingerprint": self.fingerprint, "finished": finished, "epoch": epoch, "step": step, "orders": orders,
            "generators": [generator.get_state() for generator in generators], "rng": _rng_states(),
            "stack": stack.state_dict(), "optimizer": optimizer.state_dict(), "histories": histories,
            "stopping": dict(stopping.__dict__), "elapsed_s": time.perf_counter() - started,
        }
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)


class _EarlyStopping:
    """Best-validation state and patience of each seed (Section 5: early stopping on clean validation).

    The state with the best validation accuracy is kept (the first on ties);
    a seed stops after ``patience`` evaluations without a strict improvement.
    """

    def __init__(self, n_seeds: int, patience: int):
        self.patience = patience
        self.best_val_acc = [-1.0] * n_seeds
        self.best_epoch = [0] * n_seeds
        self.best_step = [0] * n_seeds
        self.best_state: list[dict[str, torch.Tensor]] = [{} for _ in range(n_seeds)]
        self.evaluations_since_best = [0] * n_seeds
        self.stopped_at: list[tuple[int, int] | None] = [None] * n_seeds  # (epoch, step)

    def running(self) -> list[int]:
        return [s for s, stop in enumerate(self.stopped_at) if stop is None]

    def update(self, s: int, val_acc: float, epoch: int, step: int, state: Callable[[], dict[str, torch.Tensor]]) -> None:
        if val_acc > self.best_val_acc[s]:
            self.best_val_acc[s], self.best_epoch[s], self.best_step[s] = val_acc, epoch, step
            self.best_state[s] = state()
            self.evaluations_since_best[s] = 0
            return
        self.evaluations_since_best[s] += 1
        if self.evaluations_since_best[s] >= self.patience:
            self.stopped_at[s] = (epoch, step)


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
    """Train S networks, one per seed, as one :class:`~labelnoise.models.SeedStack`: the training loop.

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
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for seed in seeds:
        _check_seed(seed)
    image_shape = _check_image_sets(images_train, images_val, images_test)
    n_seeds, n_train = len(seeds), images_train.shape[0]
    labels_train_per_seed = np.asarray(labels_train_per_seed)
    if labels_train_per_seed.shape != (n_seeds, n_train):
        raise ValueError(
            f"labels_train_per_seed must have shape ({n_seeds}, {n_train}) (seeds x images), got {labels_train_per_seed.shape}"
        )

    device = resolve_device(config.device)
    memory_format = _memory_format(config)
    autocast_dtype = resolve_precision(config.precision, device)
    started = time.perf_counter()
    if device.type == "cuda":
        request_deterministic_cuda()
    models = []
    for seed in seeds:
        model = model_factory()
        _initialise_from_seed(model, seed, images_train)
        models.append(model)
    n_classes = _model_n_classes(models[0], image_shape)
    for s, labels in enumerate(labels_train_per_seed):
        _check_labels(labels, n_train, n_classes, f"labels_train_per_seed[{s}]")
    _check_labels(labels_val, images_val.shape[0], n_classes, "labels_val")
    _check_labels(labels_test, images_test.shape[0], n_classes, "labels_test")
    layout = preferred_stack_layout(device) if config.stack_layout == "auto" else config.stack_layout
    stack = SeedStack(models, layout=layout).to(device=device, memory_format=memory_format)
    del models
    # Dropout masks (the only randomness left) from all the seeds together.
    seed_everything(derive_seed(seeds[0], *seeds[1:], "batched"))

    x_train = preprocess(images_train, device)
    y_train = torch.from_numpy(labels_train_per_seed.astype(np.int64)).to(device)
    x_val = preprocess(images_val, device)
    y_val = torch.from_numpy(labels_val.astype(np.int64)).to(device)
    x_test = preprocess(images_test, device)

    optimizer = _make_optimizer(stack, config)
    generators = [torch.Generator().manual_seed(derive_seed(seed, "shuffle")) for seed in seeds]
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    eval_every = config.eval_every or steps_per_epoch
    last_step = config.max_epochs * steps_per_epoch
    histories: list[list[dict[str, float]]] = [[] for _ in seeds]
    stopping = _EarlyStopping(n_seeds, config.patience)
    loss_sum = torch.zeros(n_seeds, dtype=torch.float64, device=device)  # since the last evaluation
    correct = torch.zeros(n_seeds, dtype=torch.int64, device=device)
    n_seen = 0
    step = epoch = 0
    progress = _Progress(resume_path, lambda: _training_fingerprint(stack, config, seeds, labels_train_per_seed, images_train))
    saved = progress.load(log)
    if saved:
        epoch, step, orders, finished = saved["epoch"], saved["step"], saved["orders"], saved["finished"]
        stack.load_state_dict(saved["stack"]), optimizer.load_state_dict(saved["optimizer"])
        for generator, state in zip(generators, saved["generators"]):
            generator.set_state(state)
        _set_rng_states(saved["rng"])
        histories, stopping.__dict__ = saved["histories"], saved["stopping"]
        started -= saved["elapsed_s"]
    for epoch in range(max(epoch, 1), config.max_epochs + 1) if not (saved and finished) else ():
        stack.train()
        if not saved:  # a resumed epoch goes on with its own orders, past the batches already done
            orders = [torch.randperm(n_train, generator=generator) for generator in generators]
        done_in_epoch = step - (epoch - 1) * steps_per_epoch if saved else 0
        saved = None
        schedules = [_minibatches(order, config.batch_size) for order in orders]
        for per_seed_indices in itertools.islice(zip(*schedules), done_in_epoch, None):
            # The seed-major layout computes the running seeds only; the wide one computes all.
            running = stopping.running()
            computed = running if stack.layout == "seed_major" else list(range(n_seeds))
            indices = torch.stack([per_seed_indices[s] for s in computed]).to(device)  # S' x B
            xb, yb = x_train[indices], torch.gather(y_train[computed], 1, indices)
            losses, logits = stack_training_step(stack, xb, yb, computed, optimizer, autocast_dtype, memory_format)
            where = torch.tensor(computed, device=device)
            loss_sum[where] += losses.double() * yb.shape[1]
            correct[where] += (logits.argmax(dim=2) == yb).sum(dim=1)
            n_seen += yb.shape[1]
            step += 1
            if step % eval_every and step != last_step:
                continue
            val_logits = _stack_logits(stack, x_val, config.eval_batch_size, memory_format, computed)
            val_accs = dict(zip(computed, (val_logits.argmax(dim=2) == y_val).double().mean(dim=1).tolist()))
            train_losses, train_accs = (loss_sum / n_seen).tolist(), (correct.double() / n_seen).tolist()
            diverged = [s for s in running if not math.isfinite(train_losses[s])]
            if diverged:
                raise TrainingDiverged(
                    f"seed {diverged[0] + 1} of {n_seeds} (seed {seeds[diverged[0]]}) diverged: training loss "
                    f"{train_losses[diverged[0]]} by step {step} (epoch {epoch}; {config.optimizer}, lr {config.lr}); lower train.lr"
                )
            for s in running:
                val_acc = val_accs[s]
                histories[s].append({"epoch": epoch, "step": step, "train_loss": train_losses[s],
                                     "train_acc": train_accs[s], "val_acc": val_acc})
                stopping.update(s, val_acc, epoch, step, lambda: stack.seed_state_dict(s))
            loss_sum.zero_(), correct.zero_()
            n_seen = 0
            stack.train()
            progress.save(epoch, step, orders, generators, stack, optimizer, histories, stopping, started)
            if not stopping.running():
                break
        _log_progress(log, epoch, step, config, histories, stopping, started)
        if not stopping.running():
            break
    progress.save(epoch, step, None, generators, stack, optimizer, histories, stopping, started, finished=True)

    for s in range(n_seeds):
        stack.load_seed_state_dict(s, stopping.best_state[s])
    test_softmax = torch.softmax(_stack_logits(stack, x_test, config.eval_batch_size, memory_format), dim=2)
    test_softmax = test_softmax.cpu().numpy().astype(np.float32, copy=False)
    wall_share = (time.perf_counter() - started) / n_seeds
    return [
        TrainResult(
            val_acc=stopping.best_val_acc[s],
            test_acc=float((test_softmax[s].argmax(axis=1) == labels_test).mean()),
            best_epoch=stopping.best_epoch[s],
            epochs_run=stopping.stopped_at[s][0] if stopping.stopped_at[s] else epoch,
            best_step=stopping.best_step[s],
            steps_run=stopping.stopped_at[s][1] if stopping.stopped_at[s] else step,
            wall_s=wall_share,
            history=histories[s],
            test_softmax=test_softmax[s],
            state_dict=stopping.best_state[s],
        )
        for s in range(n_seeds)
    ]


def _log_progress(log, epoch: int, step: int, config: TrainConfig, histories, stopping: _EarlyStopping, started: float) -> None:
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
