"""Rule run_description: the report's landing page (what data, nets, seeds, levels and configuration this run is)."""

from labelnoise.data import load_prepared
from labelnoise.io import atomic_path, load_csv
from labelnoise.report import run_description
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

log = job_logger(snakemake)
sizes, clean_accuracy = {}, {}
for name, data_path, clean_path in zip(snakemake.params.settings["targets"], snakemake.input.data, snakemake.input.clean):
    data = load_prepared(data_path)
    sizes[name] = dict(n_images=len(data.images), image_shape="x".join(map(str, data.image_shape)),
                       n_classes=data.n_classes, train=len(data.train_idx), val=len(data.val_idx), test=len(data.test_idx))
    clean_accuracy[name] = float(load_csv(clean_path)["test_acc"].iloc[0])
with atomic_path(snakemake.output[0]) as tmp:
    tmp.write_text(run_description(snakemake.params.settings, snakemake.params.views, sizes, clean_accuracy))
log.info("landing page of the report written for %s", ", ".join(snakemake.params.settings["targets"]))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
