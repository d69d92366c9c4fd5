"""Rules embed and embed_test: the clean model's penultimate features (fc@256 before
BN/ReLU, Appendix A) of the training set or the test set (``params.part``)."""

from labelnoise.checkpoint import load_checkpoint
from labelnoise.data import load_prepared
from labelnoise.io import save_npz
from labelnoise.runtime import configure_torch, job_logger
from labelnoise.inference import extract_features
from labelnoise.records import write_records

part = snakemake.params.part
log = job_logger(snakemake)
configure_torch(snakemake.threads)
data = load_prepared(snakemake.input.data)
images, labels = data.part(part)
features = extract_features(load_checkpoint(snakemake.input.model), images)
save_npz(snakemake.output[0], features=features, labels=labels, **{f"{part}_idx": getattr(data, f"{part}_idx")})
log.info("features of %d %s samples, %d dimensions", features.shape[0], part, features.shape[1])
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
