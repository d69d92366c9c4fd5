"""Save and load a trained model with the arguments that rebuild it."""

from __future__ import annotations

from pathlib import Path

import torch

from labelnoise.io import ResultFileError, atomic_path, error_reason, rebuild_hint
from labelnoise.models import build_model


def save_checkpoint(path: str | Path, model_kwargs: dict, state_dict: dict) -> None:
    """Write the model's constructor arguments and weights atomically."""
    with atomic_path(path) as tmp:
        torch.save({"model_kwargs": dict(model_kwargs), "state_dict": state_dict}, tmp)


def read_checkpoint(path: str | Path) -> dict:
    """The stored dict of a checkpoint, tensors and plain containers only (``weights_only``, no code runs).

    A file that is not such a checkpoint is a ResultFileError naming it; torch's
    advice to retry with ``weights_only=False`` (unsafe, and wrong here) is
    never passed on.
    """
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # unpickling and zip errors of a damaged or foreign file
        reason = type(exc).__name__ if "weights_only" in str(exc) else error_reason(exc)
        raise ResultFileError(f"{path} is not a checkpoint of this workflow ({reason}); {rebuild_hint(path)}") from None
    if not isinstance(stored, dict) or not {"model_kwargs", "state_dict"} <= stored.keys():
        raise ResultFileError(f"{path} is not a checkpoint of this workflow (no model_kwargs and state_dict); "
                              f"{rebuild_hint(path)}")
    return stored


def load_checkpoint(path: str | Path) -> torch.nn.Module:
    """Rebuild the model saved by :func:`save_checkpoint`, in eval mode on the CPU."""
    stored = read_checkpoint(path)
    try:
        model = build_model(**stored["model_kwargs"])
        model.load_state_dict(stored["state_dict"])
    except Exception as exc:  # arguments or weights of another model
        raise ResultFileError(f"{path} is not a checkpoint of this workflow ({error_reason(exc)}); {rebuild_hint(path)}") from None
    return model.eval()
