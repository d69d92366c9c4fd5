"""Rule fig11: the fitted K of random noise against the training samples per class, and the CNN at scaling.level."""

from labelnoise.io import load_csv, save_csv, save_figure
from labelnoise.plots.fig11 import plot_fig11_effective_k_vs_data
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

log = job_logger(snakemake)
scaling = load_csv(snakemake.input.scaling, dtype={"level": str})
save_csv(snakemake.output.table, scaling)
save_figure(plot_fig11_effective_k_vs_data(scaling), snakemake.output.pdf)
log.info("plotted %d training-set sizes", len(scaling))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
