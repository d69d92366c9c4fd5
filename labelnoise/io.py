"""Atomic file output: a result file either exists complete or not at all.

Each writer writes to a temporary file in the target's directory and renames it
into place, so an interrupted job never leaves a file that Snakemake (or a
person) would take for a finished result.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd


class ResultFileError(RuntimeError):
    """An intermediate result file is unreadable, damaged or not what its consumer expects; the message names it."""


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; results are for everyone to read
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_npz(path: str | os.PathLike, **arrays: object) -> None:
    """Write a compressed .npz atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a whole .npz into a dict (no pickles allowed); ResultFileError naming the file if it is damaged."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile, EOF, value and OS errors of an empty, truncated or foreign file
        raise ResultFileError(f"{path} cannot be read ({type(exc).__name__}: {exc}); delete it and rerun the workflow") from None


def save_csv(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Write a tidy CSV atomically, without the index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(fig, pdf_path: str | os.PathLike, dpi: int = 150) -> None:
    """Save ``fig`` as the PDF target and a PNG beside it, both atomically."""
    import matplotlib.pyplot as plt

    pdf_path = Path(pdf_path)
    with atomic_path(pdf_path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    with atomic_path(pdf_path.with_suffix(".png")) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
