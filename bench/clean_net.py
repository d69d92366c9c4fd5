"""Measure the clean (embedding) net's training on the clean validation half: the measurement behind a config's
``clean_train`` (Appendix A; the features of Figs. 1, 8, 9, concentrated noise and the K-NN baselines; C(l)).

Trains the clean net of one dataset of a config, exactly as rule train_clean does (its data preparation, split,
seed, ``clean_model`` and ``clean_train``), with ``--max-epochs`` and ``--patience`` overriding the config, and
prints one CSV row per evaluation (epoch, step, clean validation accuracy) and one row for the state the config's
``clean_train.selection`` keeps, with Appendix A read on the clean validation half, never the test half: the
median chi-square in the three readings (half sum, full sum, Pearson's), the median preferred K, the share of
samples at the smallest K, the median largest softmax, and the quartiles of the purity of the smallest
neighbourhood (the share of its most common label).

    .venv/bin/python bench/clean_net.py --config configs/cifar10_cpu.yaml --dataset cifar10 \\
        --data-dir ../shared/data/cifar10/cifar-10-batches-bin --max-epochs 20 --patience 20 --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from labelnoise.appendix_a import softmax_vs_knn
from labelnoise.config import model_kwargs, read_yaml_file, validated_settings
from labelnoise.data import prepare_dataset, source_options
from labelnoise.inference import extract_features, predict_softmax
from labelnoise.knn import nearest_neighbours
from labelnoise.models import build_model
from labelnoise.seeding import derive_seed, rng_for
from labelnoise.training import TrainConfig, train_classifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/cifar10_cpu.yaml")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data-dir", help="where the dataset's official files are (datasets.<name>.data_dir)")
    parser.add_argument("--max-epochs", type=int, help="clean_train.max_epochs for this measurement")
    parser.add_argument("--patience", type=int, help="clean_train.patience for this measurement")
    parser.add_argument("--selection", choices=("clean_val", "final"), help="clean_train.selection for this measurement")
    parser.add_argument("--weight-decay", type=float, help="clean_train.weight_decay for this measurement")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    config = read_yaml_file(args.config)
    if args.data_dir:
        config["datasets"][args.dataset]["data_dir"] = args.data_dir
    overrides = {key: value for key, value in (("max_epochs", args.max_epochs), ("patience", args.patience),
                                               ("selection", args.selection), ("weight_decay", args.weight_decay))
                 if value is not None}
    config["clean_train"] = {**config.get("clean_train", {}), **overrides}
    view = validated_settings(config)[args.dataset]
    data = prepare_dataset(view["source"], view["test_fraction"], rng_for(view["seed"], view["name"], "split"),
                           **source_options(view))
    kwargs = model_kwargs(view, "clean_model", data.image_shape, data.n_classes)
    model = build_model(**kwargs)
    train_config = TrainConfig.from_settings(view, "clean_train")
    started = time.perf_counter()
    result = train_classifier(model, *data.part("train"), *data.part("val"), *data.part("test"), config=train_config,
                              seed=derive_seed(view["seed"], view["name"], "clean"),
                              log=lambda line: print(f"# {line}", file=sys.stderr, flush=True))
    wall = time.perf_counter() - started
    decay = train_config.weight_decay
    header = ("weight_decay,state,epoch,step,val_acc,median_chi2_half,median_chi2_full,median_chi2_pearson,median_preferred_K,"
              "share_at_K{},median_max_softmax,purity_q1,purity_median,purity_q3,max_epochs,wall_s")
    print(header.format(int(min(view["appendix_a"]["K"]))))
    for entry in result.history:
        print(f"{decay:g},evaluation,{entry['epoch']},{entry['step']},{entry['val_acc']:.4f},,,,,,,,,,,")

    images_val, labels_val = data.part("val")
    train_features = extract_features(model, data.part("train")[0])
    val_features = extract_features(model, images_val)
    softmax = predict_softmax(model, images_val)
    found = softmax_vs_knn(train_features, data.part("train")[1], val_features, softmax, view["appendix_a"]["K"])
    smallest = int(found.k_values.min())
    neighbours = nearest_neighbours(train_features, val_features, smallest)
    votes = data.part("train")[1][neighbours]
    purity = np.array([np.bincount(row).max() for row in votes]) / smallest
    quartiles = np.quantile(purity, [0.25, 0.5, 0.75])
    state = {"clean_val": "selected"}.get(train_config.selection, train_config.selection)  # the protocol's state
    print(f"{decay:g},{state},{result.best_epoch},{result.best_step},{result.val_acc:.4f},{found.median:.4f},"
          f"{2 * found.median:.4f},{np.median(found.pearson):.4f},{np.median(found.preferred_k):g},"
          f"{np.mean(found.preferred_k == smallest):.3f},{np.median(softmax.max(axis=1)):.4f},{quartiles[0]:.2f},"
          f"{quartiles[1]:.2f},{quartiles[2]:.2f},{train_config.max_epochs},{wall:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
