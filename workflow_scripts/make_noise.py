"""Rule make_noise: noisy training labels for one noise type and level, one per seed (its generator: labelnoise.noise_types)."""

import numpy as np

from labelnoise import noise_types
from labelnoise.config import parse_level
from labelnoise.data import load_prepared
from labelnoise.io import load_csv, load_npz, save_npz
from labelnoise.noise import flip_permutation, realised_transition_matrix
from labelnoise.records import write_records
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for

settings = snakemake.params.settings
noise, level_name = snakemake.wildcards.noise, snakemake.wildcards.level
log = job_logger(snakemake)
data = load_prepared(snakemake.input.data)
clean = data.labels[data.train_idx]
level = parse_level(noise, level_name)
permutation = flip_permutation(data.n_classes, settings["noise"]["flip_shift"])
readers = {  # the files a generator may need (rules/inputs.smk: NOISE_NEEDS)
    "confusion": lambda path: load_csv(path, index_col="clean_label").to_numpy(),
    "clusters": lambda path: load_npz(path)["clusters"],
    "train_softmax": lambda path: load_npz(path)["softmax"],  # the clean model on the training set (Chen et al. 2021)
}
needs = {name: readers[name](snakemake.input[name]) for name in noise_types.get(noise).needs}


def realisation(labels, *keys):
    """One draw of this noise type and level for ``labels``, its generator seeded by the job's coordinates and ``keys``."""
    rng = rng_for(settings["seed"], settings["name"], "noise", noise, level_name, *keys)
    return noise_types.make_noisy_labels(noise, level, labels, data.n_classes, rng, permutation, **needs)


realisations = [realisation(clean, seed_index) for seed_index in range(settings["seeds"])]
# The noisy_val selection protocol: the validation labels drawn with the same class-conditional noise,
# independently of the training labels (the other noise types depend on the training samples themselves).
val_labels = data.part("val")[1]
noisy_val = {}
if noise_types.get(noise).theory == "class_conditional":
    noisy_val["noisy_val_labels"] = np.stack([realisation(val_labels, seed_index, "validation").labels
                                              for seed_index in range(settings["seeds"])])
save_npz(
    snakemake.output[0],
    **noisy_val,
    noisy_labels=np.stack([r.labels for r in realisations]),
    corrupted=np.stack([r.corrupted for r in realisations]),
    clean_labels=clean,
    nominal_gamma=np.float64(noise_types.nominal_gamma(noise, level)),
    transition=np.mean([realised_transition_matrix(clean, r.labels, data.n_classes) for r in realisations], axis=0),
)
if realisations[0].note:
    log.info("%s %s: %s", noise, level_name, realisations[0].note)
for seed_index, r in enumerate(realisations):
    log.info(
        "%s %s seed %d: %d of %d labels re-drawn (%.4f), %.4f differ from the clean ones",
        noise, level_name, seed_index, int(r.corrupted.sum()), len(clean), r.corrupted_fraction, r.realised_fraction(clean),
    )
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
