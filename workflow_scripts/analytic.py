"""Rule analytic: the K-NN plurality accuracy (Eqs. 2, 3, 6) on a gamma grid."""

import time

from labelnoise.analytic import clean_label_distribution, knn_accuracy_curves
from labelnoise.config import analytic_gammas
from labelnoise.data import load_prepared
from labelnoise.io import load_csv, load_npz, save_csv
from labelnoise import noise_types
from labelnoise.noise import flip_permutation
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

settings = snakemake.params.settings
noise = snakemake.wildcards.spread_noise
options = settings["analytic"]
log = job_logger(snakemake)

data = load_prepared(snakemake.input.data)
labels = data.part("test")[1]
confusion = load_csv(snakemake.input.confusion, index_col="clean_label").to_numpy() if "confusion" in snakemake.input.keys() else None
permutation = flip_permutation(data.n_classes, settings["noise"]["flip_shift"])
matrix = noise_types.get(noise).matrix(data.n_classes, permutation, confusion)  # P(noisy | clean) of Eq. 6
softmax = load_npz(snakemake.input.softmax)["softmax"] if options["case"] == "general" else None
clean_distribution = clean_label_distribution(options["case"], labels, data.n_classes, softmax)  # C(l), Eqs. 6, 7

gammas = analytic_gammas(settings, noise)
start = time.perf_counter()
curves = knn_accuracy_curves(clean_distribution, labels, matrix, gammas, options["K"], tie=options["tie"])
log.info(
    "%s noise, %s case, %d test samples, %d gammas x %d K: %.2f s",
    noise, options["case"], len(labels), len(gammas), len(options["K"]), time.perf_counter() - start,
)
curves.insert(0, "noise", noise)
curves.insert(0, "dataset", settings["name"])
curves["case"] = options["case"]
curves["tie"] = options["tie"]
save_csv(snakemake.output[0], curves, exact=True)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
