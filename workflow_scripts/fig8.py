"""Rule fig8: histograms of the preferred K and of the chi-square distance (Appendix A, Fig. 8)."""


from labelnoise.appendix_a import CHI2_DEFINITION_TEX
from labelnoise.io import load_csv, save_figure
from labelnoise.plots.fig8_fig9 import plot_fig8_preferred_k
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
samples = load_csv(snakemake.input.samples)
summary = load_csv(snakemake.input.summary).iloc[0]
figure = plot_fig8_preferred_k(
    samples["preferred_K"], samples["chi2"], settings["appendix_a"]["K"],
    title=f"{settings['name']}: softmax of the clean net vs label histogram of its K nearest training samples",
    paper_median=float(summary["paper_median_chi2"]), definition=CHI2_DEFINITION_TEX,
    tied_fraction=float(summary["fraction_tied"]),
)
save_figure(figure, snakemake.output[0])
log.info("median chi2 %.6f over %d test samples", samples["chi2"].median(), len(samples))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
