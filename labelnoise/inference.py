"""Images to tensors, and a trained model's softmax and features (the inputs of Eqs. 3, 6 and Appendix A).

Preprocessing, used by training and evaluation alike (:func:`preprocess`):
uint8 images are divided by 255. The model then standardises each channel
with the mean and standard deviation of the *training* images (after /255),
which the training loop computes (:func:`channel_statistics`) and stores in
the model's :class:`~labelnoise.models.InputStandardiser` buffers, so
prediction and feature extraction on a trained or reloaded model use the same
statistics.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from labelnoise.device import resolve_device

#: Pixel value that maps to 1.0 after :func:`preprocess`.
PIXEL_MAX: float = 255.0
#: Default number of images per forward pass when only evaluating (memory only: no result depends on it).
DEFAULT_EVAL_BATCH_SIZE: int = 1024


def check_images(images: np.ndarray, what: str) -> None:
    """The one check of images: a non-empty uint8 numpy array N x C x H x W (pixels 0..255), else a ValueError."""
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4 and len(images)):
        raise ValueError(f"{what} must be a uint8 numpy array of N x C x H x W pixels 0..255, N > 0, got "
                         f"{getattr(images, 'dtype', type(images).__name__)} of shape {np.shape(images)}")


def preprocess(images: np.ndarray, device: torch.device | str = "cpu", what: str = "images") -> torch.Tensor:
    """uint8 N x C x H x W images (the argument ``what``) -> float32 tensor in [0, 1] on ``device``.

    Per-channel standardisation is applied afterwards by the model itself
    (see the module docstring), with training-set statistics.
    """
    check_images(images, what)
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).float().div_(PIXEL_MAX)


def channel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) std of ``images / 255``, computed in float64."""
    n, c = images.shape[:2]
    flat = images.transpose(1, 0, 2, 3).reshape(c, -1)
    mean = np.empty(c)
    std = np.empty(c)
    for ch in range(c):  # per channel keeps the float64 copy small for big data sets
        values = flat[ch].astype(np.float64) / PIXEL_MAX
        mean[ch] = values.mean()
        std[ch] = values.std()
    return mean, std


def _model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


def batched_eval(
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


def _softmax_of_tensor(model: nn.Module, x: torch.Tensor, batch_size: int) -> np.ndarray:
    probs = batched_eval(model, x, batch_size, lambda b: torch.softmax(model(b).float(), dim=1))
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
    dev = _resolve_eval_device(model, device)
    x = preprocess(images, dev)
    feats = batched_eval(model, x, batch_size, lambda b: model.features(b).float())
    return feats.cpu().numpy().astype(np.float32, copy=False)
