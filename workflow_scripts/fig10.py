"""Rule fig10: CNN vs K-NN agreement per test sample against K, per noise type, and the effective-K table."""

import pandas as pd

from labelnoise.agreement import agreement_over_seeds, effective_k_table
from labelnoise.analytic import best_fit
from labelnoise.io import load_csv, save_csv, save_figure
from labelnoise.plots.fig10 import plot_fig10_agreement
from labelnoise.runtime import job_logger
from labelnoise.records import write_records
from labelnoise.tables import aggregate_over_seeds, load_train_tables

log = job_logger(snakemake)
per_seed = pd.concat([load_csv(path, dtype={"level": str}) for path in snakemake.input.agreement], ignore_index=True)
per_k = agreement_over_seeds(per_seed)
fitted = {}
for path in snakemake.input.fits:
    fit = load_csv(path)
    fitted[str(fit["noise"].iloc[0])] = best_fit(fit)[0]
table = effective_k_table(per_k, fitted, per_seed)
save_csv(snakemake.output.table, table)
# Figure only: the realised gamma of the concentrated levels (k clusters per class), from their training tables.
realised = None
if "concentrated_tables" in snakemake.input.keys():
    realised = aggregate_over_seeds(load_train_tables(snakemake.input.concentrated_tables))
save_figure(plot_fig10_agreement(per_k, table, realised), snakemake.output.pdf)
for row in table.itertuples():
    log.info("%s %s: CNN %.3f; agreement %.3f at effective K = %d (seeds %d-%d; chance %.3f); fitted K %s", row.noise,
             row.level, row.cnn_accuracy_mean, row.agreement_mean, row.effective_K, row.effective_K_seed_min,
             row.effective_K_seed_max, row.chance_agreement_mean, "-" if pd.isna(row.fitted_K) else int(row.fitted_K))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
