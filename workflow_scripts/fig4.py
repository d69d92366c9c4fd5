"""Rule fig4: test accuracy vs realised noise level for concentrated, random, flip and instance noise."""

import pandas as pd

from labelnoise.io import load_csv, save_figure
from labelnoise.plots.fig4 import plot_fig4_noise_types
from labelnoise.runtime import job_logger
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

log = job_logger(snakemake)
train = load_train_tables(snakemake.input.tables)
knn = pd.concat([load_csv(path, dtype={"level": str}) for path in snakemake.input.knn], ignore_index=True)
save_figure(plot_fig4_noise_types(train, snakemake.params.noises, knn=knn), snakemake.output[0])
log.info("plotted %d training runs", len(train))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
