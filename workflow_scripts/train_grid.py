"""Rule train_grid: train every seed of one (dataset, noise type, level); a rerun after a kill resumes."""

import shutil

from labelnoise.config import model_kwargs
from labelnoise.data import load_prepared
from labelnoise.grid import train_noise_level
from labelnoise.io import load_npz, save_csv, save_npz
from labelnoise.provenance import check_inputs
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.seeding import derive_seed
from labelnoise.train_config import TrainConfig

settings = snakemake.params.settings
noise, level = snakemake.wildcards.noise, snakemake.wildcards.level
log = job_logger(snakemake)
configure_torch(snakemake.threads)
record = check_inputs(snakemake)  # the noise file is this level's, made under this config

data = load_prepared(snakemake.input.data)
noisy = load_npz(snakemake.input.noise)
seeds = [derive_seed(settings["seed"], settings["name"], "train", noise, level, i) for i in range(settings["seeds"])]
table, softmax = train_noise_level(
    data, noisy["noisy_labels"], noisy["corrupted"], seeds,
    model_kwargs=model_kwargs(settings, "grid_model", data.image_shape, data.n_classes),
    config=TrainConfig.from_settings(settings),
    coordinates=dict(dataset=settings["name"], noise=noise, level=level, nominal_gamma=float(noisy["nominal_gamma"])),
    log=log.info,
    resume_dir=snakemake.params.resume,
)
# The softmax first: the table is the rule's primary output and lands last.
save_npz(snakemake.output.softmax, record, softmax=softmax, labels=data.part("test")[1], seeds=table["seed"].to_numpy())
save_csv(snakemake.output.table, table)
shutil.rmtree(snakemake.params.resume, ignore_errors=True)  # the resume checkpoints: results are saved
log.info("%s %s: test accuracy %.4f +- %.4f (std over %d seeds)", noise, level, table.test_acc.mean(), table.test_acc.std(ddof=1), len(table))
