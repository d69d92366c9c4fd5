"""Save and load a trained model with the arguments that rebuild it."""

from __future__ import annotations

from pathlib import Path

import torch

from labelnoise.io import atomic_path
from labelnoise.models import build_model


def save_checkpoint(path: str | Path, model_kwargs: dict, state_dict: dict) -> None:
    """Write the model's constructor arguments and weights atomically."""
    with atomic_path(path) as tmp:
        torch.save({"model_kwargs": dict(model_kwargs), "state_dict": state_dict}, tmp)


def load_checkpoint(path: str | Path) -> torch.nn.Module:
    """Rebuild the model saved by :func:`save_checkpoint`, in eval mode on the CPU."""
    stored = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(**stored["model_kwargs"])
    model.load_state_dict(stored["state_dict"])
    return model.eval()
