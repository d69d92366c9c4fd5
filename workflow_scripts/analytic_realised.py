"""Rule analytic_realised: Eq. 6 with the realised transition matrix of noise that is not class-conditional.

For instance-dependent and human noise the class-conditional theory has no
confusion matrix of its own; its best class-conditional stand-in is the
realised P(noisy | clean) of the training labels, used as Eq. 6's matrix with
gamma = 1 (the matrix already holds the unchanged labels on its diagonal).
"""

import numpy as np
import pandas as pd

from labelnoise.analytic import clean_label_distribution, knn_accuracy_curves
from labelnoise.config import noise_levels
from labelnoise.data import load_prepared
from labelnoise.io import load_npz, save_csv
from labelnoise.noise import load_noise_file
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

settings = snakemake.params.settings
noise = snakemake.wildcards.realised_noise
levels = noise_levels(settings)[noise]  # the order of the noise inputs
options = settings["analytic"]
log = job_logger(snakemake)
data = load_prepared(snakemake.input.data)
labels = data.part("test")[1]
softmax = load_npz(snakemake.input.softmax)["softmax"] if options["case"] == "general" else None
clean_distribution = clean_label_distribution(options["case"], labels, data.n_classes, softmax)  # C(l), Eqs. 6, 7

parts = []
for level, path in zip(levels, snakemake.input.noise):
    stored = load_noise_file(path, len(data.train_idx))
    transition = stored["transition"]  # realised P(noisy | clean), mean over seeds (recorded by make_noise / human_noise)
    curves = knn_accuracy_curves(clean_distribution, labels, transition, [1.0], options["K"], tie=options["tie"])
    realised = float(np.mean(stored["noisy_labels"] != stored["clean_labels"][None]))
    parts.append(curves.drop(columns="gamma").assign(level=level, realised_gamma=realised))
    log.info("%s %s: realised noise %.4f; class-conditional prediction %s", noise, level, realised,
             ", ".join(f"K={row.K}: {row.accuracy:.3f}" for row in curves.itertuples()))
table = pd.concat(parts, ignore_index=True)
table.insert(0, "noise", noise)
table.insert(0, "dataset", settings["name"])
table["case"], table["tie"] = options["case"], options["tie"]
save_csv(snakemake.output[0], table[["dataset", "noise", "level", "realised_gamma", "K", "accuracy", "case", "tie"]],
         exact=True)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
