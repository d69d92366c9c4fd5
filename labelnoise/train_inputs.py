"""The checks of the training loop's arguments (:func:`labelnoise.training.train_seeds`), made once at its entry."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from labelnoise.inference import check_images
from labelnoise.noise import check_labels


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


def check_training_arguments(model_factory: Callable[[], nn.Module], seeds, images_train, labels_train_per_seed,
                             images_val, labels_val, images_test, labels_test, labels_val_noisy_per_seed) -> list[int]:
    """The checks of :func:`~labelnoise.training.train_seeds`' arguments, by their names, made once at its entry:
    seeds, the three image sets, and every label set against its images and the classes of a ``model_factory()``
    (one model built for the check). Returns the seeds."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for seed in seeds:
        check_seed(seed)
    check_image_sets(images_train, images_val, images_test)
    n_seeds, n_train, n_val = len(seeds), len(images_train), len(images_val)
    if np.shape(labels_train_per_seed) != (n_seeds, n_train):
        raise ValueError(f"labels_train_per_seed must have shape {(n_seeds, n_train)} (seeds x images), "
                         f"got {np.shape(labels_train_per_seed)}")
    n_classes = model_n_classes(model_factory(), tuple(images_train.shape[1:]))
    for s, seed_labels in enumerate(labels_train_per_seed):
        check_labels(seed_labels, n_classes, f"labels_train_per_seed[{s}]", n_train)
    check_labels(labels_val, n_classes, "labels_val", n_val)
    check_labels(labels_test, n_classes, "labels_test", len(images_test))
    if labels_val_noisy_per_seed is not None:
        if np.shape(labels_val_noisy_per_seed) != (n_seeds, n_val):
            raise ValueError(f"labels_val_noisy_per_seed must have shape {(n_seeds, n_val)} (seeds x validation images), "
                             f"got {np.shape(labels_val_noisy_per_seed)}")
        for s, seed_labels in enumerate(labels_val_noisy_per_seed):
            check_labels(seed_labels, n_classes, f"labels_val_noisy_per_seed[{s}]", n_val)
    return seeds
