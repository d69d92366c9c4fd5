"""Readers of the official dataset files: MNIST's IDX files and CIFAR-10's python and binary versions.

Each returns plain uint8 images (N x C x H x W) and int64 labels and raises a
one-line :class:`~labelnoise.download.DataError` naming the file for anything
malformed. Archives are read in memory (nothing is extracted to disk) and the
CIFAR-10 python batches are unpickled by :func:`safe_unpickle`, which admits
containers and numpy arrays only, so no file runs code.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import math
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from labelnoise import download as official_files
from labelnoise.checks import check_labels
from labelnoise.download import DataError

DIGIT_NAMES = [str(d) for d in range(10)]


IDX_UBYTE = 0x08  # the IDX type code of unsigned bytes, the only one MNIST uses
#: What the messages about an official file advise.
REPLACE = "replace it with the official file"
REPLACE_TARBALL = "replace the tarball with the official file"


def file_labels(values, path, what: str, n_classes: int, n_samples: int | None = None, advice: str = "") -> np.ndarray:
    """``values``, read from the file ``path``, through :func:`~labelnoise.checks.check_labels`: its ValueError (or
    numpy's, for a ragged list) becomes a DataError naming the file, followed by ``advice``."""
    try:
        return check_labels(values, n_classes, what, n_samples)
    except ValueError as err:
        raise DataError(f"{path}: {err}{'; ' + advice if advice else ''}") from None


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """The uint8 array of an (uncompressed) IDX file; DataError on a malformed header or size."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{name} is not an IDX file (bad magic number); {REPLACE}")
    if raw[2] != IDX_UBYTE:
        raise DataError(f"{name}: IDX type code 0x{raw[2]:02x}, expected 0x08 (unsigned bytes); {REPLACE}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{name}: truncated IDX header ({ndim} dimensions); {REPLACE}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(dims)
    if len(raw) != expected:
        raise DataError(f"{name}: IDX header says {dims} ({expected} bytes), file has {len(raw)} bytes; {REPLACE}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an IDX file, gzip-compressed (the published form) or not (told apart by the gzip magic)."""
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == GZIP_MAGIC
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path} is not a readable IDX file ({err}); {REPLACE}") from None
    return parse_idx(raw, str(path))


def _mnist_part(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: images of shape {images.shape}, expected N x 28 x 28; {REPLACE}")
    return images[:, None, :, :], file_labels(read_idx(labels_path), labels_path, "labels", 10, len(images), REPLACE)


def read_mnist(paths: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) from the four official IDX files.

    ``paths`` maps the published (.gz) names to the files to read, compressed or not.
    """
    train = _mnist_part(paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"])
    test = _mnist_part(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"])
    return train + test


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes; latin-1 only."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"refused codec {encoding!r} in a pickle")
    return text.encode("latin1")


_NDARRAY_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's own array rebuild helper
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _NDARRAY_RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _NDARRAY_RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other global is refused, so no code runs."""

    def find_class(self, module: str, name: str):
        try:
            return _PICKLE_ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None


def safe_unpickle(raw: bytes, name: str = "pickle"):
    """Load a CIFAR batch pickle; DataError if it needs anything but containers and arrays."""
    try:
        return _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:  # UnpicklingError, EOFError, ValueError, ... from hostile or broken data
        raise DataError(f"{name} is not a plain CIFAR pickle ({err}); {REPLACE}") from None


CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


def _cifar_batch(batch, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{name} lacks b'data' / b'labels'; {REPLACE_TARBALL}")
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{name}: b'data' must be uint8 N x 3072, got {getattr(data, 'dtype', type(data))} "
                        f"{getattr(data, 'shape', '')}")
    labels = file_labels(batch[b"labels"], name, "b'labels'", 10, len(data), REPLACE_TARBALL)
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10(tarball: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(train images, train labels, test images, test labels, class names) from the python tarball.

    Members are read in memory (nothing is extracted to disk) and unpickled by
    :func:`safe_unpickle`.
    """
    found = _archive_members(tarball, CIFAR10_DIR, CIFAR10_TRAIN_BATCHES + ("test_batch", "batches.meta"))
    parts = [_cifar_batch(safe_unpickle(found[name], name), name) for name in CIFAR10_TRAIN_BATCHES]
    test_images, test_labels = _cifar_batch(safe_unpickle(found["test_batch"], "test_batch"), "test_batch")
    meta = safe_unpickle(found["batches.meta"], "batches.meta")
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10 or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(f"batches.meta lacks 10 b'label_names'; {REPLACE_TARBALL}")
    class_names = [n.decode() if isinstance(n, bytes) else n for n in names]
    train_images = np.concatenate([images for images, _ in parts])
    train_labels = np.concatenate([labels for _, labels in parts])
    return train_images, train_labels, test_images, test_labels, class_names


#: CIFAR-10's class names, in label order (the official batches.meta / batches.meta.txt).
CIFAR10_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32  # binary version: a label byte, then the R, G and B planes, row-major


def parse_cifar10_binary(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 3 x 32 x 32, labels) of one file of CIFAR-10's binary version; DataError if malformed."""
    if len(raw) == 0 or len(raw) % CIFAR10_RECORD_BYTES:
        raise DataError(f"{name}: {len(raw)} bytes is not a whole number of {CIFAR10_RECORD_BYTES}-byte CIFAR-10 "
                        f"records; {REPLACE}")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR10_RECORD_BYTES)
    return records[:, 1:].reshape(-1, 3, 32, 32), file_labels(records[:, 0], name, "labels", 10, advice=REPLACE)


def read_cifar10_binary(paths: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """As :func:`read_cifar10`, from the binary version: its archive or the six extracted ``.bin`` files.

    ``paths`` holds ``cifar-10-binary.tar.gz`` or the six member names. The
    archive is read in memory and each member's MD5 is checked against the
    official member's; extracted files were checked where they were found.
    """
    members = official_files.CIFAR10_BINARY_MEMBERS
    if official_files.CIFAR10_BINARY_ARCHIVE.name in paths:
        archive = paths[official_files.CIFAR10_BINARY_ARCHIVE.name]
        raw = _archive_members(archive, official_files.CIFAR10_BINARY_FOLDER, [spec.name for spec in members])
        for spec in members:
            if hashlib.md5(raw[spec.name]).hexdigest() != spec.md5:
                raise DataError(f"{archive}: member {spec.name} fails its MD5 ({spec.md5}); {REPLACE}")
    else:
        raw = {spec.name: Path(paths[spec.name]).read_bytes() for spec in members}
    parts = [parse_cifar10_binary(raw[spec.name], spec.name) for spec in members]
    train_images = np.concatenate([images for images, _ in parts[:-1]])
    train_labels = np.concatenate([labels for _, labels in parts[:-1]])
    return train_images, train_labels, *parts[-1], list(CIFAR10_CLASS_NAMES)


def _archive_members(tarball: str | Path, folder: str, wanted) -> dict[str, bytes]:
    """The bytes of the members ``folder/<name>`` of a tar.gz, read in memory (nothing extracted); DataError if any lacks."""
    found = {}
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                parent, _, base = member.name.rpartition("/")
                if member.isfile() and parent.endswith(folder) and base in wanted:
                    found[base] = archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DataError(f"{tarball} is not a readable tar.gz ({err}); {REPLACE}") from None
    absent = [name for name in wanted if name not in found]
    if absent:
        raise DataError(f"{tarball} lacks {folder}/{absent}; {REPLACE}")
    return found
