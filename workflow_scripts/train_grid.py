"""Rules train_grid and train_subset: train every seed of one (dataset, noise type, level); a rerun after a kill resumes.

train_subset (Fig. 11) trains on one nested subset of the training set
(``params.fraction``), with the full set's noisy labels of its samples and the
very seeds of the full grid, so the fraction 1 would be the full grid itself.
"""

import shutil

from labelnoise.config import model_kwargs
from labelnoise.data import load_prepared, nested_subsets
from labelnoise.io import save_csv, save_npz
from labelnoise.models import build_model
from labelnoise.noise import load_noise_file
from labelnoise.records import write_records
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.seeding import derive_seed, rng_for
from labelnoise.selection import selected_test_softmax
from labelnoise.tables import training_table
from labelnoise.training import TrainConfig, train_seeds

settings = snakemake.params.settings
noise, level = snakemake.wildcards.noise, snakemake.wildcards.level
log = job_logger(snakemake)
configure_torch(snakemake.threads)

data = load_prepared(snakemake.input.data)
noisy = load_noise_file(snakemake.input.noise, len(data.train_idx))
noisy_labels, corrupted = noisy["noisy_labels"], noisy["corrupted"]
if snakemake.params.fraction is not None:
    # One permutation per class, drawn before any fraction is cut: the subset is the same whatever the other fractions.
    subset = nested_subsets(data.part("train")[1], [snakemake.params.fraction],
                            rng_for(settings["seed"], settings["name"], "scaling"))[snakemake.params.fraction]
    log.info("training on %d of the %d training samples (fraction %g)", len(subset), len(data.train_idx),
             snakemake.params.fraction)
    data, noisy_labels, corrupted = data.with_training_subset(subset), noisy_labels[:, subset], corrupted[:, subset]
seeds = [derive_seed(settings["seed"], settings["name"], "train", noise, level, i) for i in range(settings["seeds"])]
grid_model = model_kwargs(settings, "grid_model", data.image_shape, data.n_classes)
config = TrainConfig.from_settings(settings)
results = train_seeds(
    lambda: build_model(**grid_model), seeds, data.part("train")[0], noisy_labels, *data.part("val"), *data.part("test"),
    config=config, log=log.info, resume_dir=snakemake.params.resume,
    labels_val_noisy_per_seed=noisy.get("noisy_val_labels"),  # class-conditional noise: the noisy_val selection protocol
)
for i, result in enumerate(results):
    log.info("seed %d/%d: %s selects step %d (epoch %d): validation %.4f, test %.4f, %.1f s; %s", i + 1, len(seeds),
             config.selection, result.best_step, result.best_epoch, result.val_acc, result.test_acc, result.wall_s,
             ", ".join(f"{protocol} step {chosen['step']} test {chosen['test_acc']:.4f}"
                       for protocol, chosen in result.selections.items()))
coordinates = dict(dataset=settings["name"], noise=noise, level=level, nominal_gamma=float(noisy["nominal_gamma"]))
table = training_table(results, seeds, noisy_labels, corrupted, data.part("train")[1], coordinates, config.selection)
if "softmax" in snakemake.output.keys():  # first: the table is the rule's primary output and lands last
    save_npz(snakemake.output.softmax, **selected_test_softmax(results), labels=data.part("test")[1],
             seeds=table["seed"].to_numpy())
save_csv(snakemake.output.table, table)
shutil.rmtree(snakemake.params.resume, ignore_errors=True)  # the resume checkpoints: results are saved
log.info("%s %s: test accuracy %.4f +- %.4f (std over %d seeds)", noise, level, table.test_acc.mean(), table.test_acc.std(ddof=1), len(table))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
