"""Rule embed_test: the clean model's penultimate features of the test set (Appendix A)."""

from labelnoise.checkpoint import load_checkpoint
from labelnoise.data import load_prepared
from labelnoise.io import save_npz
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.training import extract_features

log = job_logger("embed_test", snakemake.log[0])
configure_torch(snakemake.threads)
data = load_prepared(snakemake.input.data)
images, labels = data.part("test")
features = extract_features(load_checkpoint(snakemake.input.model), images)
save_npz(snakemake.output[0], features=features, labels=labels, test_idx=data.test_idx)
log.info("features of %d test samples, %d dimensions", *features.shape)
