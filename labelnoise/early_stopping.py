"""Early stopping on the clean validation half (Section 5): each seed's best state and patience."""

from __future__ import annotations

from typing import Callable

import torch


class EarlyStopping:
    """Best-validation state and patience of each seed (Section 5: early stopping on clean validation).

    The state with the best validation accuracy is kept (the first on ties);
    a seed stops after ``patience`` evaluations without a strict improvement.
    """

    def __init__(self, n_seeds: int, patience: int):
        self.patience = patience
        self.best_val_acc = [-1.0] * n_seeds
        self.best_epoch = [0] * n_seeds
        self.best_step = [0] * n_seeds
        self.best_state: list[dict[str, torch.Tensor]] = [{} for _ in range(n_seeds)]
        self.evaluations_since_best = [0] * n_seeds
        self.stopped_at: list[tuple[int, int] | None] = [None] * n_seeds  # (epoch, step)

    def running(self) -> list[int]:
        return [s for s, stop in enumerate(self.stopped_at) if stop is None]

    def update(self, s: int, val_acc: float, epoch: int, step: int, state: Callable[[], dict[str, torch.Tensor]]) -> None:
        if val_acc > self.best_val_acc[s]:
            self.best_val_acc[s], self.best_epoch[s], self.best_step[s] = val_acc, epoch, step
            self.best_state[s] = state()
            self.evaluations_since_best[s] = 0
            return
        self.evaluations_since_best[s] += 1
        if self.evaluations_since_best[s] >= self.patience:
            self.stopped_at[s] = (epoch, step)
