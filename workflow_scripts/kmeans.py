"""Rule kmeans: per-class k-means of the training embeddings (concentrated noise)."""

import numpy as np

from labelnoise.io import load_npz, save_npz
from labelnoise.noise import per_class_kmeans
from labelnoise.runtime import job_logger, limit_native_threads
from labelnoise.seeding import derive_seed
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
limit_native_threads(snakemake.threads)
k = int(snakemake.wildcards.k)
embedded = load_npz(snakemake.input.embeddings)
clusters = per_class_kmeans(
    embedded["features"], embedded["labels"], k,
    seed=derive_seed(settings["seed"], settings["name"], "kmeans", k),
    n_init=settings["noise"]["kmeans_n_init"],
)
save_npz(snakemake.output[0], clusters=clusters, labels=embedded["labels"], k=np.int64(k))
sizes = [np.bincount(clusters[embedded["labels"] == c], minlength=k).tolist() for c in np.unique(embedded["labels"])]
log.info("k=%d cluster sizes per class: %s", k, sizes)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
