"""Rule knn_agreement: CNN vs K-NN test sample by test sample, every level, seed and K of one noise type (Fig. 10)."""

import pandas as pd

from labelnoise.agreement import agreement_table
from labelnoise.config import noise_levels
from labelnoise.io import load_npz, save_csv
from labelnoise.knn import nearest_neighbours
from labelnoise.noise import load_noise_file
from labelnoise.runtime import job_logger, limit_native_threads
from labelnoise.seeding import rng_for
from labelnoise.records import write_records

settings = snakemake.params.settings
noise = snakemake.wildcards.noise
levels = noise_levels(settings)[noise]  # the order of the noise and softmax inputs
K_values, tie = settings["agreement"]["K"], settings["knn"]["tie"]
log = job_logger(snakemake)
limit_native_threads(snakemake.threads)
train = load_npz(snakemake.input.embeddings)
test = load_npz(snakemake.input.test_embeddings)
n_labels = int(max(train["labels"].max(), test["labels"].max())) + 1

neighbours = nearest_neighbours(train["features"], test["features"], max(K_values))  # one search for every level
tables = []
for level, noise_path, softmax_path in zip(levels, snakemake.input.noise, snakemake.input.softmax):
    noisy = load_noise_file(noise_path, len(train["labels"]))
    cnn = load_npz(softmax_path)
    if not (cnn["labels"] == test["labels"]).all():
        raise ValueError(f"{softmax_path} scores other test samples than {snakemake.input.test_embeddings}")
    for seed_index, softmax in enumerate(cnn["softmax"]):
        rng = rng_for(settings["seed"], settings["name"], "agreement", noise, level, seed_index)
        table = agreement_table(softmax, test["labels"], neighbours, noisy["noisy_labels"][seed_index], n_labels,
                                K_values, tie, rng, dataset=settings["name"], noise=noise, level=level,
                                nominal_gamma=float(noisy["nominal_gamma"]), seed_index=seed_index)
        best = table.loc[table["agreement"].idxmax()]
        log.info("%s %s seed %d: CNN %.4f; highest agreement %.3f at K = %d (chance %.3f)", noise, level, seed_index,
                 best["cnn_accuracy"], best["agreement"], best["K"], best["chance_agreement"])
        tables.append(table)
save_csv(snakemake.output[0], pd.concat(tables, ignore_index=True))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
