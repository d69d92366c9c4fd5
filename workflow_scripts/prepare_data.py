"""Rule prepare_data: load the dataset's source, split it, write one .npz."""

import sys

from labelnoise.data import DataError, prepare_dataset, save_prepared, source_options
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
# Where the files are read from is no rule setting (it does not shape the data): the MD5s of what was read are recorded.
location = source_options(snakemake.config["datasets"][settings["name"]] | {"name": settings["name"]})

try:
    # mnist / cifar10: official files from data_dir or downloaded (MD5-checked); test_fraction does not apply.
    data = prepare_dataset(
        settings["source"], settings["test_fraction"], rng_for(settings["seed"], settings["name"], "split"),
        **location,
    )
except DataError as err:  # one line that says what to do, not a traceback
    log.error("%s", err)
    sys.exit(1)
save_prepared(snakemake.output[0], data)
log.info(
    "%s from %s: %d images %s, %d classes; train %d, clean validation %d, test %d",
    settings["name"], data.source, len(data.images), data.image_shape, data.n_classes,
    len(data.train_idx), len(data.val_idx), len(data.test_idx),
)
for name, md5 in sorted(data.source_md5.items()):
    log.info("source file %s MD5 %s (verified)", name, md5)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
