"""Rule summary: one row per noise type and level, our numbers beside the paper's."""

import pandas as pd

from labelnoise.io import save_csv
from labelnoise.runtime import job_logger
from labelnoise.summary import build_summary

log = job_logger("summary", snakemake.log[0])
noises = snakemake.params.spread_noises
analytic = {noise: pd.read_csv(path) for noise, path in zip(noises, snakemake.input.analytic)}
fits = {noise: pd.read_csv(path) for noise, path in zip(noises, snakemake.input.fits)}
knn = None
if "knn" in snakemake.input.keys():
    knn = {noise: pd.read_csv(path, dtype={"level": str}) for noise, path in zip(snakemake.params.knn_noises, snakemake.input.knn)}
else:
    log.info("no K-NN baseline in this workflow: knn_K and knn_acc are NaN")
train_summary = pd.read_csv(snakemake.input.train_summary, dtype={"level": str})
summary = build_summary(train_summary, analytic, fits, knn)
save_csv(snakemake.output[0], summary)
log.info("%d rows written to %s", len(summary), snakemake.output[0])
