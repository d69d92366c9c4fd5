"""Save and load a trained model with the arguments that rebuild it."""

from __future__ import annotations

from pathlib import Path

import torch

from labelnoise.io import ResultFileError, atomic_path
from labelnoise.models import build_model


def save_checkpoint(path: str | Path, model_kwargs: dict, state_dict: dict) -> None:
    """Write the model's constructor arguments and weights atomically."""
    with atomic_path(path) as tmp:
        torch.save({"model_kwargs": dict(model_kwargs), "state_dict": state_dict}, tmp)


def load_checkpoint(path: str | Path) -> torch.nn.Module:
    """Rebuild the model saved by :func:`save_checkpoint`, in eval mode on the CPU.

    Only tensors and plain containers are unpickled (``weights_only``); a file
    that is not such a checkpoint is a ResultFileError naming it.
    """
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model(**stored["model_kwargs"])
        model.load_state_dict(stored["state_dict"])
    except FileNotFoundError:
        raise
    except Exception as exc:  # unpickling, key, shape and zip errors of a damaged or foreign file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultFileError(f"{path} is not a checkpoint of this workflow ({reason}); delete it and rerun the workflow") from None
    return model.eval()
