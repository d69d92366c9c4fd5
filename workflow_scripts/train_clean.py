"""Rule train_clean: train the clean-label model (features, C(l) of Eq. 6)."""

import shutil

import pandas as pd

from labelnoise.checkpoint import save_checkpoint
from labelnoise.config import model_kwargs
from labelnoise.data import load_prepared
from labelnoise.io import save_csv
from labelnoise.models import build_model
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.seeding import derive_seed
from labelnoise.training import TrainConfig, train_classifier
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
configure_torch(snakemake.threads)

data = load_prepared(snakemake.input.data)
clean_kwargs = model_kwargs(settings, "clean_model", data.image_shape, data.n_classes)
seed = derive_seed(settings["seed"], settings["name"], "clean")
model = build_model(**clean_kwargs)
result = train_classifier(
    model, *data.part("train"), *data.part("val"), *data.part("test"),
    config=TrainConfig.from_settings(settings, "clean_train"),
    seed=seed, log=log.info, resume_dir=snakemake.params.resume,
    labels_val_noisy=data.part("val")[1],  # clean training labels: its "noisy" validation labels are the clean ones
)
log.info("clean model: validation %.4f, test %.4f at epoch %d (%s selection)", result.val_acc, result.test_acc,
         result.best_epoch, settings["clean_train"]["selection"])
save_checkpoint(snakemake.output.model, clean_kwargs, result.state_dict)
save_csv(
    snakemake.output.table,
    pd.DataFrame([{
        "dataset": settings["name"], "seed": seed, "val_acc": result.val_acc, "test_acc": result.test_acc,
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "best_step": result.best_step, "steps_run": result.steps_run, "wall_s": result.wall_s,
    }]),
)
shutil.rmtree(snakemake.params.resume, ignore_errors=True)  # the resume checkpoint: results are saved
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
