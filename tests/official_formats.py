"""Small files in the official MNIST and CIFAR-10 formats, for tests.

gzip IDX (MNIST) and a tar.gz of pickled CIFAR batches, written exactly as
the official files are laid out, plus the :class:`OfficialFile` spec (name,
MD5, size) a test patches in place of the published one.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from labelnoise import download


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def spec_of(path: Path) -> download.OfficialFile:
    data = path.read_bytes()
    return download.OfficialFile(path.name, hashlib.md5(data).hexdigest(), len(data))


def cifar_batch_pickle(images: np.ndarray, labels: np.ndarray) -> bytes:
    # Like the official batches: bytes keys, uint8 N x 3072 data, a list of int labels.
    batch = {b"batch_label": b"tiny", b"labels": [int(v) for v in labels], b"data": images.reshape(len(images), -1),
             b"filenames": [b"x.png"] * len(labels)}
    return pickle.dumps(batch, protocol=2)


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_cifar_tarball(path: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> None:
    """cifar-10-python.tar.gz at ``path``: ``train`` (N x 3 x 32 x 32 uint8, labels) in 5 batches, ``test`` in one."""
    images, labels = train
    bounds = np.linspace(0, len(labels), 6).astype(int)
    names = [f"class{i}".encode() for i in range(10)]
    with tarfile.open(path, "w:gz") as archive:
        for i in range(5):
            part = slice(bounds[i], bounds[i + 1])
            add_member(archive, f"data_batch_{i + 1}", cifar_batch_pickle(images[part], labels[part]))
        add_member(archive, "test_batch", cifar_batch_pickle(*test))
        add_member(archive, "batches.meta", pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))
