"""The official dataset files: found in a local directory or downloaded, MD5-checked.

A file in ``data_dir`` is used when its MD5 matches the published one; a file
there with another MD5 is an error (it is the user's file: never overwritten).
A missing file is streamed from the mirrors in turn into a temporary file beside
its target and renamed into place only after its size and MD5 match, so
``data_dir`` never holds a partial or wrong download. Without network and
without files, one :class:`DataError` lists the files to put where.

A source may also be published in other forms (:func:`alternative_forms`:
CIFAR-10's binary version, as its archive or as the extracted
``cifar-10-batches-bin/`` folder). Such a form is used when ``data_dir`` (or
its subfolder of the form's name) holds it whole and none of the default
form's files are there; it is never downloaded.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from labelnoise.io import atomic_path

log = logging.getLogger(__name__)


class DataError(RuntimeError):
    """A dataset is missing, corrupt or malformed; the message says what to do."""


@dataclass(frozen=True)
class OfficialFile:
    """One published file: its name, MD5 and size in bytes (None: not checked).

    ``uncompressed``: the same file gunzipped, with its own published MD5;
    found in ``data_dir`` it is used as it is (torchvision's ``MNIST/raw/``
    holds both forms). Downloads always fetch ``name``.
    """

    name: str
    md5: str
    size: int | None = None
    uncompressed: "OfficialFile | None" = None

    def forms(self) -> tuple["OfficialFile", ...]:
        """The accepted forms in order of preference: the published file, then its uncompressed form."""
        return (self,) if self.uncompressed is None else (self, self.uncompressed)


# MNIST (LeCun, Cortes, Burges). The MNIST page publishes no checksum; these are
# the MD5s (and sizes) recorded by torchvision (torchvision/datasets/mnist.py,
# MNIST.resources) and tensorflow-datasets (image_classification/mnist), which
# agree with each other. The uncompressed files' MD5s are the widely published
# ones of the gunzipped files (checked here against the official .gz files).
MNIST_FILES = (
    OfficialFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422,
                 OfficialFile("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", 47040016)),
    OfficialFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881,
                 OfficialFile("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", 60008)),
    OfficialFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877,
                 OfficialFile("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", 7840016)),
    OfficialFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542,
                 OfficialFile("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", 10008)),
)
# CIFAR-10 "python version": MD5 published on https://www.cs.toronto.edu/~kriz/cifar.html
# (also torchvision/datasets/cifar.py, CIFAR10.tgz_md5).
CIFAR10_FILES = (OfficialFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071),)
# CIFAR-10 "binary version": the archive's MD5 is published on the same page; the members' MD5s are those
# of the files in the official archive (each record: a label byte, then 3,072 bytes of R, G, B planes).
CIFAR10_BINARY_ARCHIVE = OfficialFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
CIFAR10_BINARY_FOLDER = "cifar-10-batches-bin"
CIFAR10_BINARY_MEMBERS = tuple(
    OfficialFile(name, md5, 30730000)
    for name, md5 in (
        ("data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25"),
        ("data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692"),
        ("data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421"),
        ("data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb"),
        ("data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d"),
        ("test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d"),
    )
)

# Base URLs tried in order; the file name is appended. Overridden per dataset by
# the config key datasets.<name>.mirrors.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)

OFFICIAL_FILES = {"mnist": MNIST_FILES, "cifar10": CIFAR10_FILES}


@dataclass(frozen=True)
class FileSet:
    """Another published form of a source: its files, looked for in ``data_dir`` and in ``data_dir/folder``."""

    files: tuple[OfficialFile, ...]
    folder: str | None = None


def alternative_forms(source: str) -> tuple[FileSet, ...]:
    """The forms of ``source`` used when found whole in ``data_dir`` (never downloaded), in order of preference.

    Read from the module's constants at call time, so a test can swap the published MD5s for its tiny files'.
    """
    if source == "cifar10":
        return FileSet((CIFAR10_BINARY_ARCHIVE,), CIFAR10_BINARY_FOLDER), FileSet(CIFAR10_BINARY_MEMBERS, CIFAR10_BINARY_FOLDER)
    return ()

MIRRORS = {"mnist": MNIST_MIRRORS, "cifar10": CIFAR10_MIRRORS}

TIMEOUT_S = 30.0  # per connection attempt and per read, not for the whole file
PROGRESS_EVERY_S = 10  # seconds between progress lines of a download
CHUNK_BYTES = 1 << 20
# What a mirror that cannot be reached raises (URLError covers HTTP errors too).
# A local disk error is none of these and propagates as itself.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


def file_md5(path: str | Path) -> str:
    """MD5 of a file, read in chunks (the dataset hosts publish MD5s)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(files: Iterable[OfficialFile]) -> str:
    return ", ".join(" or ".join(f"{form.name} (MD5 {form.md5})" for form in f.forms()) for f in files)


def _check_local(path: Path, spec: OfficialFile, dataset: str) -> None:
    actual = file_md5(path)
    if actual != spec.md5:
        raise DataError(f"{path} has MD5 {actual}, expected {spec.md5} (the official {spec.name}); replace it with the "
                        f"official file or delete it to download it again (or point datasets.{dataset}.data_dir elsewhere)")


class _Unreachable(Exception):
    """No mirror could be reached for a file."""


class _Mismatch(Exception):
    """A mirror served a file of the wrong size or MD5."""


def _stream(url: str, target: Path, spec: OfficialFile) -> tuple[str, int]:
    """Copy ``url`` into ``target``; (MD5, bytes). Stops early once past the expected size."""
    digest, size = hashlib.md5(), 0
    request = urllib.request.Request(url, headers={"User-Agent": "labelnoise"})
    log.info("downloading %s from %s%s", spec.name, url, f" ({spec.size / 1e6:.1f} MB)" if spec.size else "")
    started = last_report = time.monotonic()
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(target, "wb") as out:
        for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            if spec.size is not None and size > spec.size:
                break
            if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                last_report = time.monotonic()
                rate = size / (last_report - started)
                left = f", about {(spec.size - size) / rate:.0f} s left" if spec.size else ""
                log.info("%s: %.1f MB at %.1f MB/s%s", spec.name, size / 1e6, rate / 1e6, left)
    log.info("%s: %.1f MB in %.1f s", spec.name, size / 1e6, time.monotonic() - started)
    return digest.hexdigest(), size


def _download(spec: OfficialFile, target: Path, mirrors: Sequence[str]) -> None:
    """Fetch one file from the first mirror that serves it intact; atomic."""
    failures, mismatch = [], None
    for base in mirrors:
        url = base.rstrip("/") + "/" + spec.name
        try:
            with atomic_path(target) as tmp:
                md5, size = _stream(url, tmp, spec)
                if md5 != spec.md5 or (spec.size is not None and size != spec.size):
                    mismatch = (url, md5, size)
                    raise _Mismatch  # leaving the context deletes the temporary file
            return
        except _Mismatch:
            continue
        except _NETWORK_ERRORS as err:
            failures.append(f"{url}: {getattr(err, 'reason', err)}")
    if mismatch is not None:
        url, md5, size = mismatch
        expected = f"MD5 {spec.md5}" + (f" ({spec.size} bytes)" if spec.size is not None else "")
        raise DataError(f"downloaded {spec.name} has MD5 {md5} ({size} bytes), expected {expected} (from {url}); nothing "
                        f"was kept: retry later, set another mirror, or put the official file into {target.parent}")
    raise _Unreachable("; ".join(failures) or "no mirrors configured")


def _alternative_form(files: tuple[OfficialFile, ...], data_dir: Path, source: str, dataset: str) -> dict[str, tuple[Path, str]] | None:
    """The files of the first alternative form found whole in ``data_dir`` (or its folder), MD5-checked; None if none.

    Only when no file of the default form ``files`` is in ``data_dir``. A form found in part is an error naming
    what is missing (a partial copy of an extracted archive would otherwise be passed over in silence).
    """
    if any((data_dir / form.name).is_file() for spec in files for form in spec.forms()):
        return None
    for alternative in alternative_forms(source):
        for folder in (data_dir, data_dir / alternative.folder) if alternative.folder else (data_dir,):
            present = [spec for spec in alternative.files if (folder / spec.name).is_file()]
            if not present:
                continue
            if len(present) < len(alternative.files):
                absent = [spec for spec in alternative.files if spec not in present]
                raise DataError(f"{folder} holds {len(present)} of the {len(alternative.files)} files of this form of "
                                f"{dataset}: put {_listing(absent)} beside them")
            for spec in alternative.files:
                _check_local(folder / spec.name, spec, dataset)
            return {spec.name: (folder / spec.name, spec.md5) for spec in alternative.files}
    return None


def fetch_official_files(
    source: str,
    data_dir: str | Path = "data",
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    dataset: str | None = None,
) -> dict[str, tuple[Path, str]]:
    """``source``'s official files in ``data_dir``, downloading missing ones; all MD5-checked.

    Returns, per published file name, the path used and its verified MD5: the
    published file, or its uncompressed form where only that is in
    ``data_dir``; or the files of an alternative form (:func:`alternative_forms`)
    found whole in ``data_dir`` or its subfolder when none of the default form's
    are there. ``dataset`` is the config name used in messages (default: ``source``).
    """
    if source not in OFFICIAL_FILES:
        raise ValueError(f"no official files known for source {source!r}; known: {sorted(OFFICIAL_FILES)}")
    files, dataset = OFFICIAL_FILES[source], dataset or source
    mirrors = list(MIRRORS[source] if mirrors is None else mirrors)
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"datasets.{dataset}.data_dir {data_dir} is a file, not a directory; point it at the folder holding {_listing(files)}")
    alternative = _alternative_form(files, data_dir, source, dataset) if data_dir.is_dir() else None
    if alternative is not None:
        return alternative
    found, missing = {}, []
    for spec in files:
        present = next((form for form in spec.forms() if (data_dir / form.name).is_file()), None)
        if present is None:
            missing.append(spec)
        else:
            _check_local(data_dir / present.name, present, dataset)
            found[spec.name] = (data_dir / present.name, present.md5)
    where = f"{data_dir.resolve()} (or set datasets.{dataset}.data_dir to the directory that holds them)"
    others = "".join(
        f", or {_listing(form.files) if len(form.files) == 1 else f'the {len(form.files)} files of {form.folder}/'}"
        for form in alternative_forms(source)
    )
    if missing and not download:
        raise DataError(f"{dataset} files missing and datasets.{dataset}.download is false: put {_listing(missing)}{others} into {where}")
    for position, spec in enumerate(missing):
        try:
            _download(spec, data_dir / spec.name, mirrors)
        except _Unreachable as err:
            raise DataError(f"no network and no files for {dataset} ({err}): put {_listing(missing[position:])}{others} "
                            f"into {where}") from None
        found[spec.name] = (data_dir / spec.name, spec.md5)
    return {spec.name: found[spec.name] for spec in files}
