"""Rule fit_k: the K whose analytic curve is closest (RMSE) to the experimental mean."""

from labelnoise.analytic import best_fit, fit_k_to_runs
from labelnoise.io import load_csv, save_csv
from labelnoise.runtime import job_logger
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

log = job_logger(snakemake)
noise = snakemake.wildcards.spread_noise
fit = fit_k_to_runs(load_csv(snakemake.input.analytic), load_train_tables(snakemake.input.tables))
fit.insert(0, "noise", noise)
fit.insert(0, "dataset", snakemake.wildcards.dataset)
save_csv(snakemake.output[0], fit)
k, rmse = best_fit(fit)
log.info("%s noise: fitted K = %d (RMSE %.4f over %d levels)", noise, k, rmse, len(snakemake.input.tables))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
