"""Rule fig2: softmax outputs of noisy-trained nets on the same chosen test samples."""

from labelnoise.data import load_prepared
from labelnoise.grid import load_train_tables
from labelnoise.io import load_npz, save_figure
from labelnoise.plots import choose_softmax_examples, noisy_net_softmax_row, plot_softmax_examples
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for

settings = snakemake.params.settings
options = settings["figures"]["softmax_examples"]
log = job_logger("fig2", snakemake.log[0])
data = load_prepared(snakemake.input.data)
test_labels = data.part("test")[1]

rng = rng_for(settings["seed"], settings["name"], "fig2")
examples = choose_softmax_examples(test_labels, data.n_classes, options["n_examples"], rng)

rows = []
for noise in ("random", "flip", "concentrated"):
    stored = load_npz(snakemake.input[f"{noise}_softmax"])
    first_run = load_train_tables([snakemake.input[f"{noise}_table"]]).iloc[0]  # seed 0, whose softmax is shown
    rows.append(noisy_net_softmax_row(noise, stored["softmax"][0], stored["labels"], first_run, examples))
    log.info(rows[-1]["title"])
save_figure(plot_softmax_examples(rows, class_names=data.class_names), snakemake.output[0])
