"""Rule fit_k: the K whose analytic curve is closest (RMSE) to the experimental mean."""

import pandas as pd

from labelnoise.analytic import fit_k
from labelnoise.io import load_csv, save_csv
from labelnoise.runtime import job_logger
from labelnoise.tables import aggregate_over_seeds, load_train_tables

log = job_logger(snakemake)
noise = snakemake.wildcards.spread_noise
analytic = load_csv(snakemake.input.analytic)
summary = aggregate_over_seeds(load_train_tables(snakemake.input.tables))
empirical = pd.DataFrame({"gamma": summary["nominal_gamma"], "accuracy": summary["test_acc_mean"]})
fit = fit_k(analytic[["gamma", "K", "accuracy"]], empirical)
fit.insert(0, "noise", noise)
fit.insert(0, "dataset", snakemake.wildcards.dataset)
save_csv(snakemake.output[0], fit)
best = fit[fit["best"]].iloc[0]
log.info("%s noise: fitted K = %d (RMSE %.4f over %d levels)", noise, best["K"], best["rmse"], len(empirical))
