"""Job plumbing shared by the workflow scripts: logging and torch threads."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def job_logger(name: str, log_path: str | None = None) -> logging.Logger:
    """A logger writing timestamped lines to ``log_path`` (if given) and stderr."""
    logger = logging.getLogger(f"labelnoise.{name}")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(name)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    sys.excepthook = _one_line_errors(logger)
    return logger


def one_line_error_types() -> tuple[type[BaseException], ...]:
    """Errors that explain themselves: a job stops with their one-line message, no traceback."""
    from labelnoise.config import ConfigError
    from labelnoise.data import DataError
    from labelnoise.io import NonFiniteResult, ResultFileError, ResultWriteError
    from labelnoise.training import TrainingDiverged

    return (DataError, ConfigError, ResultFileError, ResultWriteError, NonFiniteResult, TrainingDiverged,
            FileNotFoundError, PermissionError, NotADirectoryError)


def _one_line_errors(logger: logging.Logger):
    """An excepthook logging known errors as one line ``Name: message``, others with their traceback."""
    previous = sys.excepthook

    def hook(kind, error, traceback) -> None:
        if issubclass(kind, one_line_error_types()):
            logger.error("%s: %s", kind.__name__, error)
            sys.exit(1)
        logger.error("%s: %s (traceback follows)", kind.__name__, error)
        previous(kind, error, traceback)

    return hook


def results_dir_problem(path: str | Path) -> str | None:
    """Why the results directory ``path`` cannot be written, or None if it can.

    Creates nothing: checks the deepest existing ancestor (a directory we may
    write into) so a dry run stays free of side effects.
    """
    import os

    target = Path(path).absolute()
    probe = target
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"cannot write results to {target}: {probe} exists and is not a directory"
    folders = [probe] + ([Path(root) for root, _, _ in os.walk(target)] if probe == target else [])
    for folder in folders:  # a read-only subfolder (a mount, a permission) fails the jobs writing there
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"cannot write results to {target}: {folder} is not writable (permissions or a read-only file system)"
    return None


def configure_torch(threads: int) -> None:
    """Limit torch to ``threads`` CPU threads (Snakemake runs jobs side by side)."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def limit_native_threads(threads: int) -> None:
    """Cap the OpenMP/BLAS pools (scikit-learn's t-SNE, k-means) at ``threads``.

    Without it each job spawns one thread per core, and side-by-side jobs slow
    each other down many times over.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max(1, int(threads)))
