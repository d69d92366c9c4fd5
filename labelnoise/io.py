"""Atomic file output: a result file either exists complete or not at all.

Each writer writes to a temporary file in the target's directory and renames it
into place, so an interrupted job never leaves a file that Snakemake (or a
person) would take for a finished result.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd


class ResultFileError(RuntimeError):
    """An intermediate result file is unreadable, damaged or not what its consumer expects; the message names it."""


class ResultWriteError(OSError):
    """A result file cannot be written (full disk, read-only folder); the message names it."""


class NonFiniteResult(ValueError):
    """A computed result holds NaN or infinity; it is not written."""


def error_reason(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for a one-line error."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def rebuild_hint(path: str | os.PathLike) -> str:
    """How to rebuild one result file: force its job, then let Snakemake redo what depends on it."""
    return (f"rebuild it with `snakemake --cores all --force {path}` (with your usual --configfile), "
            f"then rerun the workflow")


#: Errors of the file system refusing a write (others, such as a failed download into the file, pass unchanged).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST}

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(tmp)
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; results are for everyone to read
        os.replace(tmp, path)
    except OSError as err:  # a full disk, a read-only folder: the path, not a traceback
        if isinstance(err, ResultWriteError) or err.errno not in _WRITE_ERRNOS:
            raise
        raise ResultWriteError(f"cannot write {path}: {err.strerror}") from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def save_npz(path: str | os.PathLike, **arrays: object) -> None:
    """Write a compressed .npz atomically.

    A float array holding NaN or infinity is refused (ValueError naming the
    file and array): nothing is written that a rerun would take as a result.
    """
    for key, value in arrays.items():
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            count = int(np.size(value) - np.isfinite(value).sum())
            raise NonFiniteResult(f"{path} not written: '{key}' holds {count} NaN or infinite values")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def load_npz(path: str | os.PathLike, keys=None) -> dict[str, np.ndarray]:
    """Read an .npz into a dict (no pickles allowed): every array, or those of ``keys`` it holds (the others are
    not decompressed); ResultFileError naming the file if it is damaged."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files if keys is None or key in keys}
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile, EOF, value and OS errors of an empty, truncated or foreign file
        raise ResultFileError(f"{path} cannot be read ({type(exc).__name__}: {exc}); {rebuild_hint(path)}") from None


def load_csv(path: str | os.PathLike, **read_options) -> pd.DataFrame:
    """Read a result table; ResultFileError naming the file if it is empty, truncated or not a table."""
    try:
        return pd.read_csv(path, **read_options)
    except FileNotFoundError:
        raise
    except Exception as exc:  # empty file, parser and encoding errors
        raise ResultFileError(f"{path} cannot be read as a table ({error_reason(exc)}); {rebuild_hint(path)}") from None


#: Decimals of accuracy columns in result tables: a test half of up to 10,000 samples measures to 1e-4.
ACCURACY_DECIMALS = 4
#: Significant digits of the other float columns (fractions, distances, RMSEs); seconds keep one decimal.
FLOAT_DIGITS = 6


def rounded_for_reading(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats as measured, not as binary noise (0.5760000000000001 -> 0.576): accuracies to
    :data:`ACCURACY_DECIMALS` decimals, wall-clock seconds to 0.1, other floats to :data:`FLOAT_DIGITS` digits."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_float_dtype(out[column]):
            continue
        if "acc" in column:
            out[column] = out[column].round(ACCURACY_DECIMALS)
        elif column.endswith("_s"):
            out[column] = out[column].round(1)
        else:
            out[column] = out[column].map(lambda value: float(f"{value:.{FLOAT_DIGITS}g}"))
    return out


def save_csv(path: str | os.PathLike, frame: pd.DataFrame, exact: bool = False) -> None:
    """Write a tidy CSV atomically, without the index: a measured table's floats :func:`rounded_for_reading`,
    computed ones at full precision with ``exact`` (a confusion matrix must stay row-stochastic, Eq. 2's curves
    are exact to 1e-15)."""
    with atomic_path(path) as tmp:
        (frame if exact else rounded_for_reading(frame)).to_csv(tmp, index=False)


def save_figure(fig, pdf_path: str | os.PathLike, dpi: int = 150) -> None:
    """Save ``fig`` as the PDF target and a PNG beside it, both atomically."""
    import matplotlib.pyplot as plt

    pdf_path = Path(pdf_path)
    with atomic_path(pdf_path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    with atomic_path(pdf_path.with_suffix(".png")) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
