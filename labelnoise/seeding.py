"""Deterministic seeds derived from the experiment's coordinates.

Every stochastic step draws its generator from (base seed, *keys), so a job's
result does not depend on which other jobs ran, or in what order.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(base_seed: int, *keys: object) -> int:
    """A 63-bit seed that is a pure function of ``base_seed`` and ``keys``."""
    text = "\x1f".join([str(int(base_seed))] + [str(k) for k in keys])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def rng_for(base_seed: int, *keys: object) -> np.random.Generator:
    """A NumPy generator seeded from :func:`derive_seed`."""
    return np.random.default_rng(derive_seed(base_seed, *keys))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
