"""Rule knn_baseline: K-NN accuracy on the clean features with the noisy labels of one noise type."""

from labelnoise.config import noise_levels
from labelnoise.io import load_npz, save_csv
from labelnoise.knn import knn_noise_table, nearest_neighbours
from labelnoise.noise import load_noise_file
from labelnoise.runtime import job_logger, limit_native_threads
from labelnoise.seeding import rng_for
from labelnoise.records import write_records

settings = snakemake.params.settings
noise = snakemake.wildcards.noise
levels = noise_levels(settings)[noise]  # the order of the noise inputs
options = settings["knn"]
log = job_logger(snakemake)
limit_native_threads(snakemake.threads)
train = load_npz(snakemake.input.embeddings)
test = load_npz(snakemake.input.test_embeddings)
n_labels = int(max(train["labels"].max(), test["labels"].max())) + 1

neighbours = nearest_neighbours(train["features"], test["features"], options["K"])  # one search for every level
gathered = []
for level, path in zip(levels, snakemake.input.noise):
    stored = load_noise_file(path, len(train["labels"]))
    gathered.append(dict(level=level, nominal_gamma=float(stored["nominal_gamma"]),
                       noisy_labels=stored["noisy_labels"], clean_labels=stored["clean_labels"]))
table = knn_noise_table(
    neighbours, test["labels"], n_labels, gathered, options["tie"],
    lambda level, seed_index: rng_for(settings["seed"], settings["name"], "knn", noise, level, seed_index),
    dataset=settings["name"], noise=noise,
)
save_csv(snakemake.output[0], table)
for row in table.itertuples():
    log.info("%s %s seed %d: K = %d K-NN accuracy %.4f (realised gamma %.3f)",
             noise, row.level, row.seed_index, row.K, row.accuracy, row.realised_gamma)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
