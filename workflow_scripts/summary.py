"""Rule summary: one row per noise type and level, our numbers beside the paper's."""


from labelnoise.io import load_csv, save_csv
from labelnoise.runtime import job_logger
from labelnoise.summary import build_summary

log = job_logger(snakemake)
noises = snakemake.params.spread_noises
analytic = {noise: load_csv(path) for noise, path in zip(noises, snakemake.input.analytic)}
fits = {noise: load_csv(path) for noise, path in zip(noises, snakemake.input.fits)}
knn = None
if "knn" in snakemake.input.keys():
    knn = {noise: load_csv(path, dtype={"level": str}) for noise, path in zip(snakemake.params.knn_noises, snakemake.input.knn)}
else:
    log.info("no K-NN baseline in this workflow: knn_K and knn_acc are NaN")
train_summary = load_csv(snakemake.input.train_summary, dtype={"level": str})
summary = build_summary(train_summary, analytic, fits, knn)
save_csv(snakemake.output[0], summary)
log.info("%d rows written to %s", len(summary), snakemake.output[0])
