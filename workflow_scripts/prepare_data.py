"""Rule prepare_data: load the dataset's source, split it, write one .npz."""

from labelnoise.data import prepare_dataset, save_prepared
from labelnoise.runtime import job_logger
from labelnoise.seeding import rng_for

settings = snakemake.params.settings
log = job_logger("prepare_data", snakemake.log[0])

data = prepare_dataset(settings["source"], settings["test_fraction"], rng_for(settings["seed"], settings["name"], "split"))
save_prepared(snakemake.output[0], data)
log.info(
    "%s from %s: %d images %s, %d classes; train %d, clean validation %d, test %d",
    settings["name"], data.source, len(data.images), data.image_shape, data.n_classes,
    len(data.train_idx), len(data.val_idx), len(data.test_idx),
)
