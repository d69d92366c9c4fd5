"""Rule fig1: deep features in 2-D, coloured by noisy label, random vs concentrated."""

from labelnoise.io import load_npz, save_figure
from labelnoise.noise import load_noise_file
from labelnoise.plots.fig1 import embed_2d, plot_fig1_embedding
from labelnoise.runtime import job_logger, limit_native_threads
from labelnoise.seeding import derive_seed, rng_for
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

settings = snakemake.params.settings
options = settings["figures"]["embedding"]
log = job_logger(snakemake)
limit_native_threads(snakemake.threads)

features = load_npz(snakemake.input.embeddings)["features"]
shown = rng_for(settings["seed"], settings["name"], "fig1").choice(
    len(features), size=min(options["n_points"], len(features)), replace=False
)
xy = embed_2d(features[shown], seed=derive_seed(settings["seed"], "fig1") % 2**31, method=options["method"])

panels = []
for noise in ("random", "concentrated"):
    noisy = load_noise_file(snakemake.input[f"{noise}_noise"], len(features))
    table = load_train_tables([snakemake.input[f"{noise}_table"]])
    realised = float((noisy["noisy_labels"][0] != noisy["clean_labels"]).mean())
    title = (f"{100 * realised:.0f}% {noise} noise (seed 1's labels): CNN test accuracy "
             f"{100 * table['test_acc'].mean():.1f}% (mean of {len(table)} seed{'s' if len(table) > 1 else ''})")
    panels.append({"xy": xy, "labels": noisy["noisy_labels"][0][shown], "title": title})
    log.info(title)
save_figure(plot_fig1_embedding(panels), snakemake.output[0])
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
