"""Rule confusion_matrix: P(noisy | clean) from the config, or drawn from the seed."""

import numpy as np
import pandas as pd

from labelnoise.data import load_prepared
from labelnoise.io import save_csv
from labelnoise.noise import random_confusion_matrix
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
n_classes = load_prepared(snakemake.input.data).n_classes
given = settings["noise"]["confusion_matrix"]
if given is None:
    matrix = random_confusion_matrix(
        n_classes, rng_for(settings["seed"], settings["name"], "confusion_matrix"),
        settings["noise"]["confusion_concentration"],
    )
    log.info("drew a %dx%d confusion matrix with Dirichlet(%g) rows", n_classes, n_classes, settings["noise"]["confusion_concentration"])
else:  # checked when the config was read (labelnoise.config: square, one row per class, rows summing to 1)
    matrix = np.asarray(given, dtype=float)
    matrix = matrix / matrix.sum(axis=1, keepdims=True)  # typed decimals: rows sum to 1 only within the tolerance
frame = pd.DataFrame(matrix, columns=[str(c) for c in range(n_classes)])
frame.insert(0, "clean_label", range(n_classes))
save_csv(snakemake.output[0], frame, exact=True)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
