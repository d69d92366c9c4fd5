"""Rule collect_grid: every training row of a dataset, and mean +- std per level."""

from labelnoise.io import save_csv
from labelnoise.runtime import job_logger
from labelnoise.tables import aggregate_over_seeds, load_train_tables
from labelnoise.records import write_records

log = job_logger(snakemake)
table = load_train_tables(snakemake.input)
summary = aggregate_over_seeds(table)
save_csv(snakemake.output.table, table)
save_csv(snakemake.output.summary, summary)
log.info("%d training runs, %d levels", len(table), len(summary))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
