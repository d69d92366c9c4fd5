"""The resume checkpoint of a training: a pre-empted job goes on where it was killed (``train_seeds``' ``resume_dir``).

Everything that decides the rest of a training (weights, optimiser, the epoch's
minibatch orders and generators, RNG streams, histories, the selections'
states) is written atomically at every evaluation, followed by the SHA-256 of
those bytes; a checkpoint is used only when the digest matches and only by the
very same training (settings, seeds, labels, images, initial weights).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from labelnoise.data import array_checksum
from labelnoise.io import atomic_path
from labelnoise.selection import PROTOCOLS  # a checkpoint holds each protocol's state

#: Bytes of the SHA-256 digest that ends every checkpoint file.
DIGEST_BYTES = 32
#: The layout of the saved state: a checkpoint of another layout (another version of the loop) is not resumed.
CHECKPOINT_LAYOUT = 2


def training_fingerprint(stack, config, seeds, labels: np.ndarray, images: np.ndarray, noisy_val: np.ndarray | None = None) -> str:
    """What makes two trainings the same: settings, seeds, labels (and noisy validation labels), images, initial weights."""
    weights = (tensor.detach().cpu().numpy() for tensor in stack.state_dict().values())
    extra = () if noisy_val is None else (np.asarray(noisy_val),)
    return (f"layout {CHECKPOINT_LAYOUT} {list(PROTOCOLS)} {dataclasses.asdict(config)!r} {list(seeds)!r} "
            f"{array_checksum(labels, images, *extra, *weights)}")


def rng_states() -> dict:
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"]:
        torch.cuda.set_rng_state_all(states["cuda"])


class CheckpointDamaged(ValueError):
    """A checkpoint's bytes do not match the SHA-256 written after them."""


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The state a :class:`ResumeCheckpoint` saved at ``path``; CheckpointDamaged if its digest does not match."""
    raw = Path(path).read_bytes()
    payload, digest = raw[:-DIGEST_BYTES], raw[-DIGEST_BYTES:]
    if len(raw) <= DIGEST_BYTES or hashlib.sha256(payload).digest() != digest:
        raise CheckpointDamaged(f"{path}: its SHA-256 does not match its contents")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)


class ResumeCheckpoint:
    """The resume checkpoint of one training (a file in ``train_seeds``' ``resume_dir``); does nothing without a path."""

    def __init__(self, path: str | os.PathLike | None, fingerprint: Callable[[], str]):
        self.path = path
        self.fingerprint = fingerprint() if path is not None else None  # hashing the data only when it is needed

    def load(self, log: Callable[[str], None]) -> dict | None:
        """The saved state of this training, or None (no file, a damaged one, or one of another training: ignored).

        The file ends with the SHA-256 of what precedes it (:meth:`save`): torch does not verify its zip CRCs,
        so a checkpoint whose bytes were flipped or overwritten may still unpickle, and only the digest tells.
        """
        if self.path is None or not os.path.exists(self.path):
            return None
        try:
            saved = read_checkpoint(self.path)
        except CheckpointDamaged:
            log(f"resume checkpoint {self.path} is damaged (its SHA-256 does not match its contents); training from the start")
            return None
        except Exception:  # written by another version of this code: start afresh
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
        buffer = io.BytesIO()
        torch.save({"fingerprint": self.fingerprint, "finished": finished, **loop.state()}, buffer)
        payload = buffer.getvalue()
        with atomic_path(self.path) as tmp:
            tmp.write_bytes(payload + hashlib.sha256(payload).digest())
