"""Rule fig4: test accuracy vs realised noise level for concentrated, random, flip and instance noise."""

import pandas as pd

from labelnoise import noise_types
from labelnoise.config import noise_levels
from labelnoise.io import load_csv, save_figure
from labelnoise.plots.fig4 import plot_fig4_noise_types
from labelnoise.runtime import job_logger
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

log = job_logger(snakemake)
studied = noise_levels(snakemake.params.settings)
noises = [noise for noise in noise_types.drawn_in("fig4_panel") if noise in studied]  # the order of the inputs
train = load_train_tables(snakemake.input.tables)
knn = pd.concat([load_csv(path, dtype={"level": str}) for path in snakemake.input.knn], ignore_index=True)
save_figure(plot_fig4_noise_types(train, noises, knn=knn), snakemake.output[0])
log.info("plotted %d training runs", len(train))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
