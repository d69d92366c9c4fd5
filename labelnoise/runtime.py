"""Job plumbing shared by the workflow scripts: logging and torch threads."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path


def job_logger(snakemake) -> logging.Logger:
    """The logger of a Snakemake job: timestamped lines tagged with its rule and wildcards, to its log and stderr.

    The handlers sit on the package logger ``labelnoise``, so library modules
    (a download's progress) log into the job's log too. Lines of parallel jobs
    on one console tell apart by their tag: ``labelnoise.train_grid mnist/random/0.80``.
    Known errors end the job as one line (:func:`one_line_error_types`).
    """
    tag = "/".join(str(value) for _, value in snakemake.wildcards.items())
    package = logging.getLogger("labelnoise")
    package.setLevel(logging.INFO)
    package.handlers.clear()
    package.propagate = False
    formatter = logging.Formatter(f"%(asctime)s %(name)s{' ' + tag if tag else ''} %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        Path(snakemake.log[0]).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    for handler in handlers:
        handler.setFormatter(formatter)
        package.addHandler(handler)
    logger = logging.getLogger(f"labelnoise.{snakemake.rule}")
    sys.excepthook = _one_line_errors(logger, snakemake)
    return logger


def one_line_error_types() -> tuple[type[BaseException], ...]:
    """Errors that explain themselves: a job stops with their one-line message, no traceback."""
    from labelnoise.config import ConfigError
    from labelnoise.data import DataError
    from labelnoise.io import NonFiniteResult, ResultFileError, ResultWriteError
    from labelnoise.device import DeviceUnavailable
    from labelnoise.training import TrainingDiverged

    return (DataError, ConfigError, ResultFileError, ResultWriteError, NonFiniteResult, TrainingDiverged, DeviceUnavailable,
            FileNotFoundError, PermissionError, NotADirectoryError)


def _one_line_errors(logger: logging.Logger, snakemake):
    """An excepthook ending a job in one line ``Name: message``: known errors as they are; any other error with the
    job's inputs named, and its traceback written to the job's log (a bug to report, not a message to read)."""

    from labelnoise.io import error_reason

    def hook(kind, error, trace) -> None:
        if issubclass(kind, one_line_error_types()):
            logger.error("%s: %s", kind.__name__, error)
            sys.exit(1)
        log_file = snakemake.log[0] if snakemake.log else None
        inputs = ", ".join(str(path) for path in snakemake.input) or "none"
        logger.error("%s: %s (unexpected, while reading %s; traceback in %s)", kind.__name__, error_reason(error), inputs,
                     log_file or "the job's stderr")
        text = "".join(traceback.format_exception(kind, error, trace))
        if log_file:
            with open(log_file, "a") as handle:
                handle.write(text)
        else:
            sys.stderr.write(text)
        sys.exit(1)

    return hook


def put_on_jobs_python_path(folder: str | Path) -> None:
    """Put ``folder`` first on the PYTHONPATH that Snakemake's job processes inherit (the Snakefile calls it)."""
    import os

    others = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry and entry != str(folder)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(folder), *others])


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
        # a folder another process removed since the walk listed it is no problem
        if not os.access(folder, os.W_OK | os.X_OK) and folder.is_dir():
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


def device_problem(views: dict[str, dict]) -> str | None:
    """Why a dataset's ``train.device`` (or ``clean_train.device``) cannot run on this machine (for a local run), or
    None.

    torch is imported only when a device other than auto or cpu is named: other runs start as fast as before.
    """
    named = [(name, section, view[section]["device"]) for name, view in views.items()
             for section in ("train", "clean_train") if view[section]["device"] not in ("auto", "cpu")]
    if not named:
        return None
    from labelnoise.device import DeviceUnavailable, resolve_device

    for name, section, device in named:
        try:
            resolve_device(device)
        except DeviceUnavailable as err:
            return f"config key '{section}.device' (dataset '{name}'): {str(err).removeprefix('train.device ')}"
    return None
