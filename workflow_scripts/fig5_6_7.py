"""Rules fig5, fig6, fig7: experimental vs analytic curves for one noise type."""


from labelnoise.io import load_csv, save_figure
from labelnoise.plots.common import NOISE_NAMES
from labelnoise.plots.fig5_6_7 import plot_fig5_6_7_analytic_comparison
from labelnoise.runtime import job_logger
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

noise = snakemake.params.noise
log = job_logger(snakemake)
train = load_train_tables(snakemake.input.tables)
analytic = load_csv(snakemake.input.analytic)
fit = load_csv(snakemake.input.fit)
confusion = None
if "confusion" in snakemake.input.keys():
    confusion = load_csv(snakemake.input.confusion, index_col="clean_label").to_numpy()
title = f"{snakemake.wildcards.dataset}: {NOISE_NAMES[noise]}"
knn = load_csv(snakemake.input.knn, dtype={"level": str})
figure = plot_fig5_6_7_analytic_comparison(
    train, analytic[["gamma", "K", "accuracy"]], fit[["K", "rmse", "best"]], title, confusion=confusion, knn=knn
)
save_figure(figure, snakemake.output[0])
log.info("%s noise: %d runs, %d analytic points", noise, len(train), len(analytic))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
