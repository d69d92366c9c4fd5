"""Small files in the official MNIST and CIFAR-10 formats, for tests.

gzip IDX (MNIST) and a tar.gz of pickled CIFAR batches, written exactly as
the official files are laid out, plus the :class:`OfficialFile` spec (name,
MD5, size) a test patches in place of the published one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from labelnoise import download
from labelnoise.readers import CIFAR10_CLASS_NAMES


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


def add_member(archive: tarfile.TarFile, name: str, data: bytes, folder: str = "cifar-10-batches-py") -> None:
    info = tarfile.TarInfo(f"{folder}/{name}")
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_cifar_tarball(path: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> None:
    """cifar-10-python.tar.gz at ``path``: ``train`` (N x 3 x 32 x 32 uint8, labels) in 5 batches, ``test`` in one."""
    images, labels = train
    bounds = np.linspace(0, len(labels), 6).astype(int)
    names = [name.encode() for name in CIFAR10_CLASS_NAMES]
    with tarfile.open(path, "w:gz") as archive:
        for i in range(5):
            part = slice(bounds[i], bounds[i + 1])
            add_member(archive, f"data_batch_{i + 1}", cifar_batch_pickle(images[part], labels[part]))
        add_member(archive, "test_batch", cifar_batch_pickle(*test))
        add_member(archive, "batches.meta", pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))


def cifar_binary_members(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> dict[str, bytes]:
    """The six files of CIFAR-10's binary version, name -> bytes: records of a label byte and 3,072 image bytes.

    The training images are cut into five batches exactly as :func:`write_cifar_tarball` cuts them.
    """
    def records(images: np.ndarray, labels: np.ndarray) -> bytes:
        return np.concatenate([labels.astype(np.uint8)[:, None], images.reshape(len(images), -1)], axis=1).tobytes()

    images, labels = train
    bounds = np.linspace(0, len(labels), 6).astype(int)
    members = {f"data_batch_{i + 1}.bin": records(images[bounds[i]:bounds[i + 1]], labels[bounds[i]:bounds[i + 1]])
               for i in range(5)}
    members["test_batch.bin"] = records(*test)
    return members


def write_cifar_binary(directory: Path, members: dict[str, bytes], archive: bool) -> None:
    """The binary version in ``directory``: ``cifar-10-binary.tar.gz`` (``archive``) or the extracted folder."""
    meta = "\n".join(CIFAR10_CLASS_NAMES).encode() + b"\n"
    if archive:
        with tarfile.open(directory / "cifar-10-binary.tar.gz", "w:gz") as tar:
            for name, data in {**members, "batches.meta.txt": meta}.items():
                add_member(tar, name, data, folder="cifar-10-batches-bin")
        return
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in {**members, "batches.meta.txt": meta}.items():
        (directory / name).write_bytes(data)


def patch_binary_checksums(monkeypatch, members: dict[str, bytes], archive: Path | None = None) -> None:
    """Expect these tiny members' (and archive's) MD5s in place of the published ones."""
    specs = tuple(download.OfficialFile(name, hashlib.md5(data).hexdigest(), len(data)) for name, data in members.items())
    monkeypatch.setattr(download, "CIFAR10_BINARY_MEMBERS", specs)
    if archive is not None:
        monkeypatch.setattr(download, "CIFAR10_BINARY_ARCHIVE", spec_of(archive))


#: The four official MNIST file names, in the order of ``download.MNIST_FILES``.
MNIST_NAMES = tuple(spec.name for spec in download.MNIST_FILES)


def write_mnist_files(directory: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> None:
    """The four gzip IDX files of MNIST in ``directory``: N x 28 x 28 uint8 images and their labels."""
    for part, (images, labels) in (("train", train), ("t10k", test)):
        (directory / f"{part}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (directory / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))


def digits_as_mnist(rng: np.random.Generator, n_train: int, n_test: int):
    """scikit-learn's 8x8 digits scaled to MNIST's 28x28 uint8 (3x upsampled, 2-pixel border): (train, test)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.repeat(np.repeat(bunch.images * (255.0 / 16.0), 3, axis=1), 3, axis=2)
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).round().astype(np.uint8)
    order = rng.permutation(len(images))
    train, test = order[:n_train], order[n_train : n_train + n_test]
    labels = bunch.target.astype(np.uint8)
    return (images[train], labels[train]), (images[test], labels[test])


def synthetic_cifar(n_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """N x 3 x 32 x 32 uint8 images: a colour and a stripe orientation per class, plus pixel noise."""
    labels = np.repeat(np.arange(10), n_per_class)[rng.permutation(10 * n_per_class)]
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    palette = np.random.default_rng(123).uniform(60, 200, size=(10, 3))
    angles = np.linspace(0, np.pi, 10, endpoint=False)
    stripes = np.stack([np.sin(2 * np.pi * 3 * (np.cos(a) * xx + np.sin(a) * yy)) for a in angles])  # 10 x 32 x 32
    images = palette[labels][:, :, None, None] + 40 * stripes[labels][:, None] + rng.normal(0, 25, (len(labels), 3, 32, 32))
    return np.clip(np.round(images), 0, 255).astype(np.uint8), labels.astype(np.int64)


def checksum_patch_env(directory: Path, files: dict[str, list[Path]], cifar_binary: list[Path] = ()) -> dict[str, str]:
    """Environment whose Python processes expect these files' MD5s for the official ones.

    Writes ``directory/sitecustomize.py``, which sets
    ``download.OFFICIAL_FILES[source]`` to the given files' specs at start-up
    (and ``download.CIFAR10_BINARY_MEMBERS`` to ``cifar_binary``'s: the six
    files of CIFAR-10's binary version), and returns ``os.environ`` with
    ``directory`` first on PYTHONPATH: every Python process of a workflow run
    with it (Snakemake's and each job's) then accepts the tiny files, and no
    other process is touched.
    """
    def specs(paths) -> str:
        return ", ".join(f"download.OfficialFile({spec.name!r}, {spec.md5!r}, {spec.size})" for spec in map(spec_of, paths))

    directory.mkdir(parents=True, exist_ok=True)
    lines = ["from labelnoise import download"]
    for source, paths in files.items():
        lines.append(f"download.OFFICIAL_FILES[{source!r}] = ({specs(paths)},)")
    if cifar_binary:
        lines.append(f"download.CIFAR10_BINARY_MEMBERS = ({specs(cifar_binary)},)")
    (directory / "sitecustomize.py").write_text("\n".join(lines) + "\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")])))
