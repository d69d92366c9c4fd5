"""Rules fig2 and fig3: softmax outputs of noisy-trained nets on chosen test samples.

Rows: random, flip and concentrated noise on the same seeded test samples
(Fig. 2). With ``params.regions`` (Fig. 3) a last row shows, for the
concentrated-noise net, the paper's Fig. 3(g, h): a test sample whose K nearest
training samples (clean feature space, K = knn.K) kept their labels, and one of
the same class whose neighbours were mostly flipped, so it lies in a flipped
cluster.
"""

from labelnoise.data import load_prepared
from labelnoise.io import load_npz, save_figure
from labelnoise import noise_types
from labelnoise.plots.fig2_fig3 import choose_softmax_examples, fig3_region_row, noisy_net_softmax_row, plot_fig2_softmax_examples
from labelnoise.runtime import job_logger, limit_native_threads
from labelnoise.seeding import rng_for
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

settings = snakemake.params.settings
options = settings["figures"]["softmax_examples"]
log = job_logger(snakemake)
limit_native_threads(snakemake.threads)
data = load_prepared(snakemake.input.data)
test_labels = data.part("test")[1]
names = data.class_names

rng = rng_for(settings["seed"], settings["name"], snakemake.rule)
examples = choose_softmax_examples(test_labels, data.n_classes, options["n_examples"], rng)

rows = []
for noise in noise_types.drawn_in("fig2_row"):
    stored = load_npz(snakemake.input[f"{noise}_softmax"])
    first_run = load_train_tables([snakemake.input[f"{noise}_table"]]).iloc[0]  # seed 0, whose softmax is shown
    rows.append(noisy_net_softmax_row(noise, stored["softmax"][0], stored["labels"], first_run, examples))
    log.info(rows[-1]["title"])

if snakemake.params.regions:  # (g, h): where a test sample lies relative to the flipped clusters of seed 0's labels
    noise_file = load_npz(snakemake.input.concentrated_noise)
    test = load_npz(snakemake.input.test_embeddings)
    row, message = fig3_region_row(
        load_npz(snakemake.input.embeddings)["features"], test["features"], test["labels"],
        noise_file["noisy_labels"][0], noise_file["clean_labels"],
        load_npz(snakemake.input.concentrated_softmax)["softmax"][0], settings["knn"]["K"], rng, names,
    )
    rows.append(row)
    log.info(message)
    for row, letter in zip(rows, "abcd"):
        row["title"] = f"({letter}) {row['title']}"
save_figure(plot_fig2_softmax_examples(rows, class_names=names), snakemake.output[0])
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
