"""Rule human_noise: one label set of the configured human-label file as noisy training labels (every seed the same)."""

import numpy as np

from labelnoise.data import load_prepared
from labelnoise.download import file_md5
from labelnoise.human_labels import human_noise, read_human_labels
from labelnoise.io import save_npz
from labelnoise.noise import realised_transition_matrix
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

settings = snakemake.params.settings
label_set = snakemake.wildcards.level
log = job_logger(snakemake)
data = load_prepared(snakemake.input.data)
clean = data.labels[data.train_idx]  # the prepared training order: the official one for mnist and cifar10
human = read_human_labels(snakemake.input.labels, settings["noise"]["human"]["sets"][label_set],
                          n_classes=data.n_classes, expected_clean=clean)
noisy = human_noise(clean, human)
rate = noisy.realised_fraction(clean)
save_npz(
    snakemake.output[0],
    noisy_labels=np.repeat(noisy.labels[None], settings["seeds"], axis=0),
    corrupted=np.repeat(noisy.corrupted[None], settings["seeds"], axis=0),
    clean_labels=clean,
    nominal_gamma=np.float64(rate),  # human noise has no configured level: its realised rate stands for it
    transition=realised_transition_matrix(clean, noisy.labels, data.n_classes),
    label_file_md5=np.str_(file_md5(snakemake.input.labels)),  # the user's file carries no record: its checksum does
)
log.info("human labels %s of %s: %d of %d differ from the clean ones (noise rate %.4f)",
         label_set, snakemake.input.labels, int(noisy.corrupted.sum()), len(clean), rate)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
