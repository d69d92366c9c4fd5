"""Rules softmax_clean and softmax_clean_train: the clean model's softmax on the test set (C(l) of Eq. 6) or training set."""

import numpy as np

from labelnoise.checkpoint import load_checkpoint
from labelnoise.data import load_prepared
from labelnoise.io import save_npz
from labelnoise.provenance import check_inputs
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.inference import predict_softmax

log = job_logger(snakemake)
configure_torch(snakemake.threads)
record = check_inputs(snakemake)
data = load_prepared(snakemake.input.data)
part = snakemake.params.part
images, labels = data.part(part)
softmax = predict_softmax(load_checkpoint(snakemake.input.model), images)
save_npz(snakemake.output[0], record, softmax=softmax, labels=labels)
log.info("clean model %s accuracy %.4f on %d samples", part, float(np.mean(softmax.argmax(1) == labels)), len(labels))
