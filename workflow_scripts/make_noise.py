"""Rule make_noise: noisy training labels for one noise type and level, one per seed."""

import numpy as np

from labelnoise.config import parse_level
from labelnoise.data import load_prepared
from labelnoise.io import load_csv, load_npz, save_npz
from labelnoise.noise_types import CLASS_CONDITIONAL
from labelnoise.noise import (
    corrupted_count, flip_permutation, make_noisy_labels, most_likely_wrong_class, nominal_gamma, realised_transition_matrix,
)
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for
from labelnoise.records import write_records

settings = snakemake.params.settings
noise, level_name = snakemake.wildcards.noise, snakemake.wildcards.level
log = job_logger(snakemake)
data = load_prepared(snakemake.input.data)
clean = data.labels[data.train_idx]
level = parse_level(noise, level_name)
permutation = flip_permutation(data.n_classes, settings["noise"]["flip_shift"])
confusion = clusters = softmax = None
if noise == "confusion":
    confusion = load_csv(snakemake.input.confusion, index_col="clean_label").to_numpy()
if noise == "concentrated":
    clusters = load_npz(snakemake.input.clusters)["clusters"]
if noise == "instance":
    softmax = load_npz(snakemake.input.softmax)["softmax"]  # the clean model on the training set (Chen et al. 2021)
    scores = np.sort(most_likely_wrong_class(clean, softmax)[1])[::-1]
    cut = corrupted_count(len(clean), level)
    log.info("instance %s: largest wrong-class probability at the cut-off (sample %d of %d) %.3g; %d samples above 0.01",
             level_name, cut, len(clean), scores[cut - 1] if cut else float("nan"), int((scores > 0.01).sum()))

realisations = [
    make_noisy_labels(
        noise, level, clean, data.n_classes,
        rng_for(settings["seed"], settings["name"], "noise", noise, level_name, seed_index),
        permutation, confusion, clusters, softmax,
    )
    for seed_index in range(settings["seeds"])
]
# The noisy_val selection protocol: the validation labels drawn with the same class-conditional noise,
# independently of the training labels (the other noise types depend on the training samples themselves).
val_labels = data.part("val")[1]
noisy_val = {} if noise not in CLASS_CONDITIONAL else dict(noisy_val_labels=np.stack([
    make_noisy_labels(noise, level, val_labels, data.n_classes,
                      rng_for(settings["seed"], settings["name"], "noise", noise, level_name, seed_index, "validation"),
                      permutation, confusion).labels
    for seed_index in range(settings["seeds"])
]))
save_npz(
    snakemake.output[0],
    **noisy_val,
    noisy_labels=np.stack([r.labels for r in realisations]),
    corrupted=np.stack([r.corrupted for r in realisations]),
    clean_labels=clean,
    nominal_gamma=np.float64(nominal_gamma(noise, level)),
    transition=np.mean([realised_transition_matrix(clean, r.labels, data.n_classes) for r in realisations], axis=0),
)
for seed_index, r in enumerate(realisations):
    log.info(
        "%s %s seed %d: %d of %d labels re-drawn (%.4f), %.4f differ from the clean ones",
        noise, level_name, seed_index, int(r.corrupted.sum()), len(clean), r.corrupted_fraction, r.realised_fraction(clean),
    )
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
