"""The checks of the training loop's arguments (:func:`labelnoise.training.train_seeds`), made once at its entry."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from labelnoise.inference import check_images
from labelnoise.train_config import TrainConfig


def check_labels(labels: np.ndarray, n_images: int, n_classes: int, what: str) -> None:
    if not isinstance(labels, np.ndarray) or not np.issubdtype(labels.dtype, np.integer):
        kind = labels.dtype if isinstance(labels, np.ndarray) else type(labels).__name__
        raise ValueError(f"{what} must be an integer numpy array, got {kind}")
    if labels.shape != (n_images,):
        raise ValueError(f"{what} must have shape ({n_images},) to match the images, got {labels.shape}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        raise ValueError(f"{what} must lie in 0..{n_classes - 1} (the model's classes), got range {low}..{high}")


def model_n_classes(model: nn.Module, image_shape: tuple[int, ...]) -> int:
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


def check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def check_image_sets(images_train: np.ndarray, images_val: np.ndarray, images_test: np.ndarray) -> tuple[int, ...]:
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


def check_training_inputs(config, seeds, images_train, labels_train_per_seed, images_val, images_test) -> list[int]:
    """The checks of :func:`train_seeds`' arguments that need no model; returns the seeds as a list."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for seed in seeds:
        check_seed(seed)
    check_image_sets(images_train, images_val, images_test)
    expected = (len(seeds), images_train.shape[0])
    if np.shape(labels_train_per_seed) != expected:
        raise ValueError(
            f"labels_train_per_seed must have shape {expected} (seeds x images), got {np.shape(labels_train_per_seed)}"
        )
    return seeds


def check_training_labels(labels: dict, n_classes: int, n_seeds: int, n_train: int, n_val: int, n_test: int) -> None:
    """Every label set of :func:`~labelnoise.training.train_seeds` (by its argument name) against its images and the
    model's classes; the noisy validation labels (seeds x validation images) may be None."""
    for s, seed_labels in enumerate(labels["labels_train_per_seed"]):
        check_labels(seed_labels, n_train, n_classes, f"labels_train_per_seed[{s}]")
    check_labels(labels["labels_val"], n_val, n_classes, "labels_val")
    check_labels(labels["labels_test"], n_test, n_classes, "labels_test")
    noisy = labels["labels_val_noisy_per_seed"]
    if noisy is None:
        return
    if np.shape(noisy) != (n_seeds, n_val):
        raise ValueError(f"labels_val_noisy_per_seed must have shape {(n_seeds, n_val)} (seeds x validation images), "
                         f"got {np.shape(noisy)}")
    for s, seed_labels in enumerate(noisy):
        check_labels(seed_labels, n_val, n_classes, f"labels_val_noisy_per_seed[{s}]")
