"""One cell of the experiment grid: all seeds of one (dataset, noise type, level).

Each seed trains a fresh network on its own noisy-label realisation; the test
accuracy reported is that of the state the configured selection protocol keeps
(the paper's: the best on the clean validation half, Section 5), and every
protocol's is recorded (:mod:`labelnoise.selection`). The seeds train all at once as one
stacked model when ``TrainConfig.batched_seeds`` asks for it (default: on
CUDA), else one after another (stacks of one); both give each seed the same
result, bit for bit on CPU and up to rounding on CUDA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from labelnoise.data import PreparedData
from labelnoise.models import build_model
from labelnoise.noise import realised_gamma
from labelnoise.selection import PROTOCOLS, SELECTION_MEASURES
from labelnoise.tables import TABLE_COLUMNS
from labelnoise.train_config import TrainConfig, use_batched_seeds
from labelnoise.training import train_seeds


def train_noise_level(
    data: PreparedData,
    noisy_labels: np.ndarray,
    corrupted: np.ndarray,
    seeds: list[int],
    model_kwargs: dict,
    config: TrainConfig,
    coordinates: dict,
    log: Callable[[str], None] = print,
    resume_dir: str | Path | None = None,
    noisy_val_labels: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Train one network per row of ``noisy_labels`` (shape seeds x N_train).

    ``coordinates`` holds dataset, noise, level and nominal_gamma for the table.
    ``noisy_val_labels`` (seeds x N_val): validation labels carrying the same
    noise, for the ``noisy_val`` selection protocol (:mod:`labelnoise.selection`).
    Returns the table (one row per seed, columns TABLE_COLUMNS) and, per
    selection protocol measured, the test softmax of every seed's selected
    state (seeds x M x L; ``softmax``: the reported protocol's). With
    ``resume_dir`` each training keeps its resume checkpoint there
    (:func:`~labelnoise.training.train_seeds`); the caller removes the folder
    once the results are saved.
    """
    resume = (lambda name: Path(resume_dir) / name) if resume_dir is not None else (lambda name: None)
    train_images, clean_labels = data.part("train")
    if noisy_labels.shape != (len(seeds), len(clean_labels)) or corrupted.shape != noisy_labels.shape:
        raise ValueError(f"noisy labels {noisy_labels.shape} do not match {len(seeds)} seeds x {len(clean_labels)} samples")
    val_images, val_labels = data.part("val")
    test_images, test_labels = data.part("test")
    factory = lambda: build_model(**model_kwargs)  # noqa: E731
    evaluation = f"every {config.eval_every} steps" if config.eval_every else "every epoch"
    if use_batched_seeds(config):
        log(f"training {len(seeds)} seeds as one stacked model on {len(clean_labels)} labels each; validation {evaluation}")
        results = train_seeds(factory, seeds, train_images, noisy_labels, val_images, val_labels, test_images, test_labels,
                              config=config, log=log, resume_path=resume("seeds.pt"), labels_val_noisy_per_seed=noisy_val_labels)
    else:
        results = []
        for seed_index, (seed, labels) in enumerate(zip(seeds, noisy_labels)):
            log(f"seed {seed_index + 1}/{len(seeds)} (seed {seed}): training on {len(labels)} labels; validation {evaluation}")
            noisy_val = None if noisy_val_labels is None else noisy_val_labels[seed_index : seed_index + 1]
            results += train_seeds(factory, [seed], train_images, labels[None], val_images, val_labels, test_images,
                                   test_labels, config=config, log=log, resume_path=resume(f"seed{seed_index}.pt"),
                                   labels_val_noisy_per_seed=noisy_val)
    rows = []
    for seed_index, (seed, labels, mask, result) in enumerate(zip(seeds, noisy_labels, corrupted, results)):
        log(f"seed {seed_index + 1}/{len(seeds)}: {config.selection} selects step {result.best_step} (epoch "
            f"{result.best_epoch}): validation {result.val_acc:.4f}, test {result.test_acc:.4f}, {result.wall_s:.1f} s; "
            + ", ".join(f"{protocol} step {chosen['step']} test {chosen['test_acc']:.4f}"
                        for protocol, chosen in result.selections.items()))
        rows.append({
            **coordinates,
            "seed_index": seed_index,
            "seed": seed,
            "corrupted_fraction": float(np.mean(mask)),
            "realised_gamma": realised_gamma(labels, clean_labels),
            "val_acc": result.val_acc,
            "test_acc": result.test_acc,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_step": result.best_step,
            "steps_run": result.steps_run,
            "wall_s": result.wall_s,
            "selection": config.selection,
            **{f"{protocol}_{measure}": result.selections.get(protocol, {}).get(measure, np.nan)
               for protocol in PROTOCOLS for measure in SELECTION_MEASURES},
        })
    softmax = {"softmax": np.stack([result.test_softmax for result in results]).astype(np.float32)}
    for protocol in results[0].selections:
        softmax[f"softmax_{protocol}"] = np.stack([r.selections[protocol]["test_softmax"] for r in results]).astype(np.float32)
    return pd.DataFrame(rows)[TABLE_COLUMNS], softmax

