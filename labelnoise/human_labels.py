"""Human label noise: noisy training labels read from a file of human annotations.

CIFAR-10N (Wei et al., "Learning with Noisy Labels Revisited: A Study Using Real-World Human
Annotations", ICLR 2022) re-labelled the 50,000 CIFAR-10 training images by crowd workers; its
``CIFAR-10_human.pt`` is a dict saved by ``torch.save`` with the keys ``clean_label``, ``aggre_label``,
``worse_label``, ``random_label1``, ``random_label2`` and ``random_label3``, each a numpy integer array in
the order of the official training set. The configuration names the key to use.

Formats (told apart by the file's extension)
  .pt   a ``torch.save`` file: a dict of label arrays (``key`` picks one) or one array or tensor.
  .npy  one integer array (``np.load`` with ``allow_pickle=False``).
  .csv  one column of integers, one label per line; a header line is optional.

Loading a .pt never runs code from the file: it goes through ``torch.load(weights_only=True)``, PyTorch's
restricted unpickler, which rebuilds containers and tensors only. Numpy arrays need a few more globals
(numpy's array rebuild helper, ``ndarray``, ``dtype`` and the integer/float dtype classes), allowed for this
one call through ``torch.serialization.safe_globals``; any other global (``os.system``, ...) is refused.
Every problem with a file is a one-line :class:`DataError` naming it.
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np

from labelnoise.download import DataError
from labelnoise.io import error_reason
from labelnoise.checks import check_labels
from labelnoise.readers import file_labels
from labelnoise.noise import NoisyLabels

HUMAN_LABEL_FORMATS = (".pt", ".npy", ".csv")
#: The key of a CIFAR-10N file holding the original CIFAR-10 labels, compared with the dataset's own.
CLEAN_KEY = "clean_label"
_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's array rebuild helper (numpy._core.multiarray._reconstruct)
#: The module paths under which numpy 1.x and 2.x pickle that helper.
_RECONSTRUCT_NAMES = ("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct")
#: dtype classes whose arrays may be rebuilt: integers (labels) and, to report them as non-integers, bools and floats.
_ARRAY_DTYPE_CODES = np.typecodes["AllInteger"] + np.typecodes["Float"] + "?"


def _numpy_safe_globals() -> list:
    """The globals a pickled numpy array of numbers needs, and nothing else."""
    dtype_classes = {type(np.dtype(code)) for code in _ARRAY_DTYPE_CODES}
    named = [(_RECONSTRUCT, name) for name in _RECONSTRUCT_NAMES]
    return [_RECONSTRUCT, *named, np.ndarray, np.dtype, *sorted(dtype_classes, key=lambda cls: cls.__name__)]


#: What ``torch.load(weights_only=True)`` writes before the reason it refused a pickle.
_TORCH_REASON_MARK = "WeightsUnpickler error:"


def _torch_refusal(err: BaseException) -> str:
    """The reason in a ``torch.load`` refusal, whose message wraps it in paragraphs of advice."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    specific = [line for line in lines[1:] if not line.startswith("Check the documentation")]
    reason = " ".join(specific) if specific else error_reason(err)
    return reason.rpartition(_TORCH_REASON_MARK)[2].strip()


def _load_pt(path: Path):
    import torch
    from torch.serialization import safe_globals

    try:
        with safe_globals(_numpy_safe_globals()):
            content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _torch_refusal(err)
        raise DataError(f"{path} is not a plain .pt file of label arrays and was refused ({reason})") from None
    except Exception as err:  # OSError, zip and format errors of a damaged or foreign file
        detail = f"{type(err).__name__}: {error_reason(err)}" if str(err) else type(err).__name__
        raise DataError(f"{path} is not a readable .pt file ({detail})") from None
    if isinstance(content, dict):
        return {key: value.numpy() if isinstance(value, torch.Tensor) else value for key, value in content.items()}
    return content.numpy() if isinstance(content, torch.Tensor) else content


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as err:  # OSError, a bad header, or an object array (it would need a pickle)
        raise DataError(f"{path} is not a readable .npy file of numbers ({error_reason(err)})") from None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _load_csv(path: Path) -> np.ndarray:
    """One column of integers; a first line that is not an integer is taken for a header."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [(number, row) for number, row in enumerate(csv.reader(handle), start=1) if any(row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path} is not a readable .csv file ({error_reason(err)})") from None
    if rows and len(rows[0][1]) == 1 and _integer(rows[0][1][0]) is None:
        rows = rows[1:]
    labels = []
    for number, row in rows:
        value = _integer(row[0]) if len(row) == 1 else None
        if value is None:
            raise DataError(f"{path}: line {number} is {','.join(row)!r}, expected one integer label")
        labels.append(value)
    return np.array(labels, dtype=np.int64)


def _select(content, path: Path, key: str | None):
    """The array under ``key`` of a dict (the only entry if ``key`` is None), or the file's one array."""
    if not isinstance(content, dict):
        if key is not None:
            raise DataError(f"{path} holds one array, not a dict of them: key {key!r} does not apply")
        return content
    available = sorted(map(str, content))
    if key is None:
        if len(content) != 1:
            raise DataError(f"{path} holds several label arrays; name one with key (available: {available})")
        key = next(iter(content))
    if key not in content:
        raise DataError(f"{path} has no key {key!r} (available: {available})")
    return content[key]


def _check_clean(content, path: Path, expected_clean: np.ndarray, n_classes: int) -> None:
    """The file's ``clean_label`` must equal the dataset's training labels (same images, same order)."""
    if not isinstance(content, dict) or CLEAN_KEY not in content:
        return
    theirs = file_labels(content[CLEAN_KEY], path, f"key {CLEAN_KEY!r}", n_classes, len(expected_clean))
    differ = np.flatnonzero(theirs != expected_clean)
    if differ.size:
        raise DataError(f"{path}: {CLEAN_KEY!r} differs from the dataset's training labels at {differ.size} of "
                        f"{len(theirs)} samples (first: index {int(differ[0])}); the file is for other images or another order")


def read_human_labels(
    path: str | Path,
    key: str | None = None,
    *,
    n_classes: int,
    expected_clean: np.ndarray | None = None,
    n_samples: int | None = None,
) -> np.ndarray:
    """Human labels of the training set from a .pt, .npy or .csv file, as an int64 array.

    ``key`` picks an array of a .pt dict (needed when it holds several, e.g. ``"aggre_label"`` of
    CIFAR-10N). The labels must be integers in 0..n_classes-1, one per training sample:
    ``n_samples`` of them, or ``len(expected_clean)`` when only that is given. Where the file has a
    ``clean_label`` entry and ``expected_clean`` (the dataset's training labels, in order) is given,
    the two must agree. Any problem is a one-line :class:`DataError` naming the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in HUMAN_LABEL_FORMATS:
        known = ", ".join(HUMAN_LABEL_FORMATS)
        raise DataError(f"{path}: unknown human-label format {path.suffix!r}; expected one of {known}")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if expected_clean is not None:
        expected_clean = check_labels(expected_clean, n_classes, "expected_clean", n_samples)
        n_samples = len(expected_clean)
    loaders = {".pt": _load_pt, ".npy": _load_npy, ".csv": _load_csv}
    content = loaders[suffix](path)
    what = f"key {key!r}" if key else "the file"
    labels = file_labels(_select(content, path, key), path, what, n_classes, n_samples)
    if expected_clean is not None:
        _check_clean(content, path, expected_clean, n_classes)
    return labels


def human_noise(clean: np.ndarray, human: np.ndarray) -> NoisyLabels:
    """Human labels as a noise realisation: a sample counts as corrupted where its human label differs."""
    clean, human = np.asarray(clean), np.asarray(human)
    return NoisyLabels(human.astype(np.int64), human != clean)
