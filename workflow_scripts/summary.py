"""Rule summary: one row per noise type and level, our numbers beside the paper's."""

from labelnoise import noise_types
from labelnoise.config import noise_levels
from labelnoise.io import atomic_path, load_csv, save_csv
from labelnoise.report import summary_html
from labelnoise.runtime import job_logger
from labelnoise.summary import build_summary
from labelnoise.records import write_records

log = job_logger(snakemake)
levels = noise_levels(snakemake.params.settings)  # the noise types studied, in the order of the inputs
noises = [noise for noise in noise_types.names(theory="class_conditional") if noise in levels]
realised = [noise for noise in noise_types.names(theory="realised") if noise in levels]
analytic = {noise: load_csv(path) for noise, path in zip(noises, snakemake.input.analytic)}
fits = {noise: load_csv(path) for noise, path in zip(noises, snakemake.input.fits)}
knn = {noise: load_csv(path, dtype={"level": str}) for noise, path in zip(levels, snakemake.input.knn)}
train_summary = load_csv(snakemake.input.train_summary, dtype={"level": str})
summary = build_summary(train_summary, analytic, fits, knn,
                        effective_k=load_csv(snakemake.input.effective_k, dtype={"level": str}),
                        scaling=load_csv(snakemake.input.scaling, dtype={"level": str}),
                        realised={noise: load_csv(path, dtype={"level": str})
                                  for noise, path in zip(realised, snakemake.input.realised)},
                        selection=load_csv(snakemake.input.selection, dtype={"level": str}))
with atomic_path(snakemake.output.html) as tmp:
    tmp.write_text(summary_html(summary, snakemake.wildcards.dataset))
save_csv(snakemake.output.table, summary)
log.info("%d rows written to %s and %s", len(summary), snakemake.output.table, snakemake.output.html)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
