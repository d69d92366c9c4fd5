"""Rules softmax_clean and softmax_clean_train: the clean model's softmax on the test set (C(l) of Eq. 6) or training set."""

import numpy as np

from labelnoise.checkpoint import load_checkpoint
from labelnoise.data import load_prepared
from labelnoise.io import save_npz
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.inference import predict_softmax
from labelnoise.records import write_records

log = job_logger(snakemake)
configure_torch(snakemake.threads)
data = load_prepared(snakemake.input.data)
part = snakemake.params.part
images, labels = data.part(part)
softmax = predict_softmax(load_checkpoint(snakemake.input.model), images)
save_npz(snakemake.output[0], softmax=softmax, labels=labels)
log.info("clean model %s accuracy %.4f on %d samples", part, float(np.mean(softmax.argmax(1) == labels)), len(labels))
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
