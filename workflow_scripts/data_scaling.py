"""Rule data_scaling: fitted K and the CNN's accuracy at scaling.level for every training-set fraction (Fig. 11)."""

from labelnoise.config import scaling_level
from labelnoise.data import load_prepared, nested_subsets
from labelnoise.io import load_csv, save_csv
from labelnoise.runtime import job_logger
from labelnoise.scaling import scaling_table
from labelnoise.seeding import rng_for
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

settings = snakemake.params.settings
fractions = settings["scaling"]["fractions"]
log = job_logger(snakemake)
data = load_prepared(snakemake.input.data)
subsets = nested_subsets(data.part("train")[1], fractions, rng_for(settings["seed"], settings["name"], "scaling"))
tables = {fraction: load_train_tables(snakemake.input[f"tables_{index}"]) for index, fraction in enumerate(fractions)}
table = scaling_table(settings["name"], load_csv(snakemake.input.analytic), tables,
                      {fraction: len(indices) for fraction, indices in subsets.items()}, data.n_classes,
                      scaling_level(settings))
save_csv(snakemake.output[0], table)
for row in table.itertuples():
    log.info("fraction %g: %d training samples (%.0f per class), fitted K = %d%s (RMSE %.4f); CNN at %s: %.4f",
             row.train_fraction, row.n_train, row.n_train_per_class, row.fitted_K,
             " (the grid's largest K: a lower bound)" if row.K_at_grid_edge else "", row.rmse, row.level, row.cnn_acc_mean)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
