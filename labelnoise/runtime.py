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
    return logger


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
