"""The resume checkpoint of a training: a pre-empted job goes on where it was killed (``train_seeds``' ``resume_path``).

Everything that decides the rest of a training (weights, optimiser, the epoch's
minibatch orders and generators, RNG streams, histories, best states and
patience) is written atomically at every evaluation; a checkpoint is used only
by the very same training (settings, seeds, labels, images, initial weights).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import torch

from labelnoise.data import array_checksum
from labelnoise.io import atomic_path


def training_fingerprint(stack, config, seeds, labels: np.ndarray, images: np.ndarray) -> str:
    """What makes two trainings the same: settings, seeds, labels, images and the initial weights."""
    weights = (tensor.detach().cpu().numpy() for tensor in stack.state_dict().values())
    return f"{dataclasses.asdict(config)!r} {list(seeds)!r} {array_checksum(labels, images, *weights)}"


def rng_states() -> dict:
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"]:
        torch.cuda.set_rng_state_all(states["cuda"])


class ResumeCheckpoint:
    """The resume checkpoint of one training (``train_seeds``' ``resume_path``); does nothing without a path."""

    def __init__(self, path: str | os.PathLike | None, fingerprint: Callable[[], str]):
        self.path = path
        self.fingerprint = fingerprint() if path is not None else None  # hashing the data only when it is needed

    def load(self, log: Callable[[str], None]) -> dict | None:
        """The saved state of this training, or None (no file, or one of another training: it is ignored)."""
        if self.path is None or not os.path.exists(self.path):
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # a checkpoint cut short by the kill that made it necessary: start afresh
            log(f"resume checkpoint {self.path} is unreadable; training from the start")
            return None
        if saved.get("fingerprint") != self.fingerprint:
            log(f"resume checkpoint {self.path} is of another training (settings, labels or seeds); training from the start")
            return None
        log(f"resuming from {self.path}: epoch {saved['epoch']}, step {saved['step']}"
            f"{' (training had finished)' if saved['finished'] else ''}")
        return saved

    def save(self, loop, finished: bool = False) -> None:
        """Write ``loop.state()`` (the training loop's whole state) atomically."""
        if self.path is None:
            return
        state = {"fingerprint": self.fingerprint, "finished": finished, **loop.state()}
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)
