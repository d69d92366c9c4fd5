"""Rule fig2: softmax outputs of noisy-trained nets on the same chosen test samples."""

import numpy as np

from labelnoise.data import load_prepared
from labelnoise.grid import load_train_tables
from labelnoise.io import load_npz, save_figure
from labelnoise.plots import plot_softmax_examples
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for

settings = snakemake.params.settings
options = settings["figures"]["softmax_examples"]
log = job_logger("fig2", snakemake.log[0])
data = load_prepared(snakemake.input.data)
test_labels = data.part("test")[1]

# One test sample from each of n_examples classes (seeded), the same in every row.
rng = rng_for(settings["seed"], settings["name"], "fig2")
classes = rng.choice(data.n_classes, size=min(options["n_examples"], data.n_classes), replace=False)
examples = np.array([rng.choice(np.flatnonzero(test_labels == c)) for c in classes])

rows = []
for noise in ("random", "flip", "concentrated"):
    stored = load_npz(snakemake.input[f"{noise}_softmax"])
    table = load_train_tables([snakemake.input[f"{noise}_table"]])
    first = table.iloc[0]
    level = f"k = {first['level']} (gamma = {first['realised_gamma']:.2f})" if noise == "concentrated" else f"gamma = {first['nominal_gamma']:.2f}"
    rows.append({
        "title": f"{noise} noise, {level}: test accuracy {100 * first['test_acc']:.1f}%",
        "softmax": stored["softmax"][0][examples],
        "true_labels": stored["labels"][examples],
    })
    log.info(rows[-1]["title"])
save_figure(plot_softmax_examples(rows, class_names=data.class_names), snakemake.output[0])
