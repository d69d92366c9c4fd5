"""Training with early stopping on the clean validation half (Section 5).

The paper trains every net on (possibly noisy) training labels and uses a clean
validation half of the official test set for early stopping; the accuracy it
reports is that of the best-validation state on the other (test) half. This
module does exactly that, fast enough for a 2-core CPU: each data set becomes
one device tensor once, minibatches are slices of a seeded permutation (no
DataLoader), and evaluation runs in large no-grad batches.

All seeds of one noise level can also train as one batched model
(:func:`train_classifiers_batched`, built on :class:`~labelnoise.models.SeedStack`):
same initial weights, minibatch orders, labels, optimiser arithmetic and
early stopping per seed as separate :func:`train_classifier` runs, with one
loss, backward pass and optimiser step per minibatch (wide layout on GPU,
seed-major on CPU). On a GPU training runs under bfloat16
autocast with the channels_last layout (``TrainConfig.precision``,
``channels_last``); evaluation is always float32.

Preprocessing, used by every function here (:func:`preprocess`): uint8 images
are divided by 255. The model then standardises each channel with the mean and
standard deviation of the *training* images (after /255), which
:func:`train_classifier` computes and stores in the model's
:class:`~labelnoise.models.InputStandardiser` buffers, so prediction and
feature extraction on a trained or reloaded model use the same statistics.
"""

from __future__ import annotations

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
#: Training precisions: auto = bf16 autocast on CUDA, fp32 elsewhere.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
#: Values of ``TrainConfig.batched_seeds``: auto = batched on CUDA, one model at a time on CPU.
BATCHED_SEEDS_CHOICES: tuple[object, ...] = ("auto", True, False)
#: Values of ``TrainConfig.stack_layout``: auto = the device's preferred layout, or one of STACK_LAYOUTS.
STACK_LAYOUT_CHOICES: tuple[str, ...] = ("auto", *STACK_LAYOUTS)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (defaults: fast CPU training).

    ``patience``: stop after this many consecutive epochs without a strictly
    better validation accuracy. ``momentum`` is used by ``"sgd"`` only.
    ``device``: ``"auto"`` (CUDA if available, else CPU) or any torch device
    string such as ``"cpu"`` or ``"cuda:1"``. ``channels_last``: train with
    the NHWC memory layout, about 1.3x faster for these small convolutions
    on CPU (oneDNN) and what tensor cores want on GPU; it changes no result
    beyond float rounding. ``precision``: ``"auto"`` (bfloat16 autocast on
    CUDA, float32 elsewhere), ``"fp32"`` or ``"bf16"`` (autocast on any
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

    def __post_init__(self) -> None:
        for name in ("max_epochs", "patience", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
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

    ``history`` holds one dict per epoch run: ``epoch`` (1-based),
    ``train_loss`` and ``train_acc`` (mean over the epoch's minibatches, against
    the labels trained on, i.e. the noisy ones), ``val_acc``.
    """

    val_acc: float
    test_acc: float
    best_epoch: int
    epochs_run: int
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


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for training: bfloat16, or None for plain float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def use_batched_seeds(config: TrainConfig) -> bool:
    """Whether ``config`` asks for the stacked-seeds path on its device ('auto': on CUDA only)."""
    if config.batched_seeds == "auto":
        return resolve_device(config.device).type == "cuda"
    return bool(config.batched_seeds)


def _autocast(device: torch.device, dtype: torch.dtype | None):
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


def _request_deterministic_cuda() -> None:
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


def _minibatches(n: int, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """A seeded permutation of 0..n-1 cut into ceil(n / batch_size) near-equal slices.

    Equal slices (sizes differ by at most one, none above ``batch_size``)
    avoid a tiny last batch, which would make BatchNorm statistics noisy (or
    fail outright for a batch of one).
    """
    order = torch.randperm(n, generator=generator)
    return torch.tensor_split(order, math.ceil(n / batch_size))


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
) -> TrainResult:
    """Train ``model`` on (noisy) training labels with early stopping on clean validation.

    Deterministic given ``seed`` (on a given device and thread count): torch
    is seeded, the model is re-initialised from the seed, and the minibatch
    order comes from a generator seeded with ``derive_seed(seed, "shuffle")``.
    After every epoch the validation accuracy is measured; the state with the
    best one (first epoch on ties) is kept, and training stops after
    ``config.patience`` epochs without a strict improvement (Section 5,
    "early stopping"). The model is left holding the best state, and the
    test accuracy and softmax reported are that state's. ``log`` receives one
    line per epoch.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    _check_seed(seed)
    image_shape = _check_image_sets(images_train, images_val, images_test)

    device = resolve_device(config.device)
    memory_format = _memory_format(config)
    autocast_dtype = resolve_precision(config.precision, device)
    model.to(device="cpu", memory_format=torch.contiguous_format)
    n_classes = _model_n_classes(model, image_shape)
    _check_labels(labels_train, images_train.shape[0], n_classes, "labels_train")
    _check_labels(labels_val, images_val.shape[0], n_classes, "labels_val")
    _check_labels(labels_test, images_test.shape[0], n_classes, "labels_test")
    input_standardiser_of(model)

    started = time.perf_counter()
    if device.type == "cuda":
        _request_deterministic_cuda()
    _initialise_from_seed(model, seed, images_train)
    model.to(device=device, memory_format=memory_format)

    x_train = preprocess(images_train, device).contiguous(memory_format=memory_format)
    y_train = torch.from_numpy(labels_train.astype(np.int64)).to(device)
    x_val = preprocess(images_val, device).contiguous(memory_format=memory_format)
    y_val = torch.from_numpy(labels_val.astype(np.int64)).to(device)
    x_test = preprocess(images_test, device).contiguous(memory_format=memory_format)

    optimizer = _make_optimizer(model, config)
    shuffle_generator = torch.Generator().manual_seed(derive_seed(seed, "shuffle"))
    n_train = x_train.shape[0]

    history: list[dict[str, float]] = []
    best_val_acc = -1.0
    best_epoch = 0
    best_state: dict[str, torch.Tensor] = {}
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for batch_indices in _minibatches(n_train, config.batch_size, shuffle_generator):
            batch_indices = batch_indices.to(device)
            xb, yb = x_train[batch_indices], y_train[batch_indices]
            with _autocast(device, autocast_dtype):
                logits = model(xb)
            loss = F.cross_entropy(_loss_precision(logits), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach().double() * yb.shape[0]
            correct += (logits.detach().argmax(dim=1) == yb).sum()
        train_loss = float(loss_sum.item()) / n_train
        train_acc = float(correct.item()) / n_train
        val_acc = _accuracy(model, x_val, y_val, config.eval_batch_size)
        history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_acc": val_acc})
        if val_acc > best_val_acc:
            best_val_acc, best_epoch = val_acc, epoch
            # Contiguous CPU copies: a portable state whatever the training layout.
            best_state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
        log(
            f"epoch {epoch}/{config.max_epochs}  train_loss {train_loss:.4f}  train_acc {train_acc:.4f}  "
            f"val_acc {val_acc:.4f}  best {best_val_acc:.4f}@{best_epoch}  {time.perf_counter() - started:.1f}s"
        )
        if epoch - best_epoch >= config.patience:
            log(f"early stop: no validation improvement for {config.patience} epochs")
            break

    model.load_state_dict(best_state)
    test_softmax = _softmax_of_tensor(model, x_test, config.eval_batch_size)
    test_acc = float((test_softmax.argmax(axis=1) == labels_test).mean())
    model.to(memory_format=torch.contiguous_format)
    return TrainResult(
        val_acc=best_val_acc,
        test_acc=test_acc,
        best_epoch=best_epoch,
        epochs_run=epoch,
        wall_s=time.perf_counter() - started,
        history=history,
        test_softmax=test_softmax,
        state_dict=best_state,
    )


# --------------------------------------------------------------------------
# All seeds of a level as one stacked model
# --------------------------------------------------------------------------


def _stack_logits(
    stack: SeedStack, x: torch.Tensor, batch_size: int, memory_format: torch.memory_format, seeds: list[int] | None = None
) -> torch.Tensor:
    """Float32 eval-mode logits (len(seeds) x N x L; default all seeds) on one shared image set."""
    return _batched_eval(stack, x, batch_size, lambda b: stack(b, memory_format, seeds).float(), dim=1)


def _stack_training_step(
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
    before the next seed's exist, so the working set is a lone model's (all
    seeds' activations alive at once cost ~8% on CPU), and each seed's loss
    is the very op :func:`train_classifier` runs, so results are bit-identical.
    """
    device = xb.device
    optimizer.zero_grad(set_to_none=True)
    if stack.layout == "wide":
        with _autocast(device, autocast_dtype):
            logits = stack(xb, memory_format, seeds)
        losses = F.cross_entropy(_loss_precision(logits).flatten(0, 1), yb.flatten(), reduction="none").view_as(yb).mean(dim=1)
        losses.sum().backward()
    else:
        per_seed_losses, per_seed_logits = [], []
        for position, seed_index in enumerate(seeds):
            with _autocast(device, autocast_dtype):
                seed_logits = stack(xb[position : position + 1], memory_format, [seed_index])[0]
            loss = F.cross_entropy(_loss_precision(seed_logits), yb[position])
            loss.backward()
            per_seed_losses.append(loss.detach())
            per_seed_logits.append(seed_logits.detach())
        losses, logits = torch.stack(per_seed_losses), torch.stack(per_seed_logits)
    optimizer.step()
    return losses.detach(), logits.detach()


def train_classifiers_batched(
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
) -> list[TrainResult]:
    """:func:`train_classifier` for S seeds at once, as one :class:`~labelnoise.models.SeedStack`.

    Seed s (``seeds[s]``) trains on ``labels_train_per_seed[s]`` exactly as
    ``train_classifier(model_factory(), ..., seed=seeds[s])`` would: the same
    seeded initial weights, the same shuffling generator, its own minibatch
    (and BatchNorm statistics) at every step, its own loss (the summed loss
    gives each seed's weights its own gradient), an element-wise optimiser
    over the stacked tensors (Adam and SGD with momentum or weight decay act
    per element, so this is S independent optimisers), and its own early
    stopping: a seed that has stopped keeps its best-validation state and
    history while the others train on, until every seed has stopped or
    ``max_epochs``. The stack's layout is ``config.stack_layout`` ("auto":
    :func:`~labelnoise.models.preferred_stack_layout` of the device). Seed-major:
    results equal separate runs bit for bit (same kernels on the same
    shapes), except where dropout draws masks, and stopped seeds cost
    nothing. Wide: results agree with separate runs up to float
    rounding (grouped kernels sum in another order), and stopped seeds ride
    along until the last stops. ``wall_s`` is each seed's share (the total
    over S). Returns one :class:`TrainResult` per seed, in order.
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
        _request_deterministic_cuda()
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
    histories: list[list[dict[str, float]]] = [[] for _ in seeds]
    best_val_acc = [-1.0] * n_seeds
    best_epoch = [0] * n_seeds
    best_state: list[dict[str, torch.Tensor]] = [{} for _ in seeds]
    stopped_at: list[int | None] = [None] * n_seeds
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        stack.train()
        # The seed-major layout computes the running seeds only; the wide one computes all.
        running = [s for s in range(n_seeds) if stopped_at[s] is None]
        computed = running if stack.layout == "seed_major" else list(range(n_seeds))
        y_computed = y_train[computed]
        loss_sum = torch.zeros(len(computed), dtype=torch.float64, device=device)
        correct = torch.zeros(len(computed), dtype=torch.int64, device=device)
        schedules = [_minibatches(n_train, config.batch_size, generator) for generator in generators]
        for per_seed_indices in zip(*schedules):
            indices = torch.stack([per_seed_indices[s] for s in computed]).to(device)  # S' x B
            xb, yb = x_train[indices], torch.gather(y_computed, 1, indices)
            losses, logits = _stack_training_step(stack, xb, yb, computed, optimizer, autocast_dtype, memory_format)
            loss_sum += losses.double() * yb.shape[1]
            correct += (logits.argmax(dim=2) == yb).sum(dim=1)
        val_logits = _stack_logits(stack, x_val, config.eval_batch_size, memory_format, computed)
        per_seed = zip(
            computed, (loss_sum / n_train).tolist(), (correct.double() / n_train).tolist(),
            (val_logits.argmax(dim=2) == y_val).double().mean(dim=1).tolist(),
        )
        for s, train_loss, train_acc, val_acc in per_seed:
            if stopped_at[s] is not None:  # the wide layout computed a seed that has stopped
                continue
            histories[s].append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_acc": val_acc})
            if val_acc > best_val_acc[s]:
                best_val_acc[s], best_epoch[s] = val_acc, epoch
                best_state[s] = stack.seed_state_dict(s)
            if epoch - best_epoch[s] >= config.patience:
                stopped_at[s] = epoch
        latest = [histories[s][-1] for s in running]
        log(
            f"epoch {epoch}/{config.max_epochs}  seeds {' '.join(str(s + 1) for s in running)}  "
            f"train_loss {' '.join(format(entry['train_loss'], '.4f') for entry in latest)}  "
            f"val_acc {' '.join(format(entry['val_acc'], '.4f') for entry in latest)}  "
            f"best {' '.join(f'{best_val_acc[s]:.4f}@{best_epoch[s]}' for s in running)}  "
            f"{time.perf_counter() - started:.1f}s"
        )
        newly_stopped = [s + 1 for s in running if stopped_at[s] == epoch]
        if newly_stopped:
            log(f"early stop of seed(s) {newly_stopped}: no validation improvement for {config.patience} epochs")
        if all(stop is not None for stop in stopped_at):
            break

    for s in range(n_seeds):
        stack.load_seed_state_dict(s, best_state[s])
    test_softmax = torch.softmax(_stack_logits(stack, x_test, config.eval_batch_size, memory_format), dim=2)
    test_softmax = test_softmax.cpu().numpy().astype(np.float32, copy=False)
    wall_share = (time.perf_counter() - started) / n_seeds
    return [
        TrainResult(
            val_acc=best_val_acc[s],
            test_acc=float((test_softmax[s].argmax(axis=1) == labels_test).mean()),
            best_epoch=best_epoch[s],
            epochs_run=stopped_at[s] if stopped_at[s] is not None else epoch,
            wall_s=wall_share,
            history=histories[s],
            test_softmax=test_softmax[s],
            state_dict=best_state[s],
        )
        for s in range(n_seeds)
    ]
