"""Measure a training recipe on one dataset and noise level: the accuracy and time behind a config's choices.

Trains the seeds of one (noise type, level) with the workflow's own data
preparation, noise generators and training loop, under the settings given on
the command line, and prints one CSV row per seed: the settings, the clean
validation accuracy (what a recipe is chosen by), the test accuracy (what is
reported; never used to choose), the best step, steps run and wall time.
This is how configs/mnist_full.yaml's settings were chosen (docs/reference/).

    .venv/bin/python bench/recipe.py --data-dir ../shared/data/mnist --noise random --level 0.9 \\
        --width 0.25 --optimizer adam --lr 0.007 --batch-size 256 --eval-every 20 --seeds 2
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from labelnoise.data import prepare_dataset
from labelnoise.models import build_model
from labelnoise.noise import flip_permutation
from labelnoise.noise_types import make_noisy_labels
from labelnoise.seeding import derive_seed, rng_for
from labelnoise.training import TrainConfig, train_seeds

COLUMNS = ("source", "noise", "level", "seed_index", "arch", "width", "optimizer", "lr", "lr_schedule", "weight_decay",
           "batch_size", "hflip", "translate", "eval_every", "patience", "max_epochs", "precision", "val_acc", "test_acc",
           "best_step", "steps_run", "wall_s")


def main(argv: list[str] | None = None) -> int:
    # Training options left out take the config schema's defaults (TrainConfig.defaults).
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="mnist", help="data source (mnist: the official files in --data-dir)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--noise", default="random", choices=("random", "flip"))
    parser.add_argument("--level", type=float, default=0.0, help="gamma: fraction of training labels re-drawn")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="seed index of the first network")
    parser.add_argument("--arch", default="paper_cnn", choices=("paper_cnn", "allcnn_c", "allcnn_c_nodropout"))
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--fc-dim", type=int, default=500)
    parser.add_argument("--optimizer", default=None, choices=("adam", "sgd"))
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--lr-schedule", default=None, choices=("constant", "onecycle"))
    parser.add_argument("--warmup-fraction", type=float, default=None)
    parser.add_argument("--momentum", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--hflip", action="store_true", default=None, help="augment: random horizontal flips")
    parser.add_argument("--translate", type=int, default=None, help="augment: random shifts of up to this many pixels")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--eval-every", type=int, default=None, help="steps between validations (default: each epoch)")
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--precision", default=None, choices=("auto", "fp32", "bf16"))
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--header", action="store_true", help="print the CSV header first")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = prepare_dataset(args.source, 0.2, rng_for(0, "recipe", "split"), data_dir=args.data_dir, download=False)
    images, clean = data.part("train")
    seed_indices = range(args.first_seed, args.first_seed + args.seeds)
    noisy = np.stack([
        make_noisy_labels(args.noise, args.level, clean, data.n_classes, rng_for(0, "recipe", args.noise, args.level, i),
                          flip_permutation(data.n_classes)).labels
        for i in seed_indices
    ])
    training = {key: getattr(args, key) for key in ("max_epochs", "patience", "batch_size", "lr", "weight_decay", "optimizer",
                                                     "momentum", "device", "precision", "eval_every", "lr_schedule",
                                                     "warmup_fraction", "hflip", "translate")}
    config = TrainConfig.defaults(batched_seeds=True, **{key: value for key, value in training.items() if value is not None})
    seeds = [derive_seed(0, "recipe", args.noise, args.level, i) for i in seed_indices]
    factory = lambda: build_model(args.arch, *data.image_shape[:2], data.n_classes, width=args.width, fc_dim=args.fc_dim)  # noqa: E731
    started = time.perf_counter()
    results = train_seeds(factory, seeds, images, noisy, *data.part("val"), *data.part("test"), config=config,
                          log=lambda line: print(f"# {line}", file=sys.stderr, flush=True))
    total = time.perf_counter() - started
    if args.header:
        print(",".join(COLUMNS))
    for i, result in zip(seed_indices, results):
        row = (args.source, args.noise, args.level, i, args.arch, args.width, config.optimizer, config.lr, config.lr_schedule,
               config.weight_decay, config.batch_size, config.hflip, config.translate, config.eval_every or "epoch",
               config.patience, config.max_epochs, config.precision, f"{result.val_acc:.4f}",
               f"{result.test_acc:.4f}", result.best_step, result.steps_run, f"{total / len(results):.1f}")
        print(",".join(map(str, row)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
