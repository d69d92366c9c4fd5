"""Rule appendix_a: chi-square distance of the clean softmax to K-NN label histograms (Appendix A)."""

import time

from labelnoise.appendix_a import CHI2_DEFINITION, per_sample_table, softmax_vs_knn, summary_table
from labelnoise.io import load_npz, save_csv, save_npz
from labelnoise.runtime import job_logger, limit_native_threads
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
limit_native_threads(snakemake.threads)
train = load_npz(snakemake.input.embeddings)
test = load_npz(snakemake.input.test_embeddings)
clean = load_npz(snakemake.input.softmax)

start = time.perf_counter()
result = softmax_vs_knn(train["features"], train["labels"], test["features"], clean["softmax"], settings["appendix_a"]["K"])
log.info("%d test x %d training samples, %d K values in %.1f s", len(test["labels"]), len(train["labels"]),
         len(result.k_values), time.perf_counter() - start)

save_npz(snakemake.output.pairs, k_values=result.k_values, distances=result.distances,
         histogram=result.histogram, softmax=result.softmax, preferred_k=result.preferred_k)
save_csv(snakemake.output.samples, per_sample_table(result, test["labels"], test["test_idx"]))
summary = summary_table(result, settings["name"])
save_csv(snakemake.output.summary, summary)
row = summary.iloc[0]
log.info("%s; median chi2 %.6f (paper, CIFAR-10: %.6f), median preferred K %g; several K tie at the minimum for %.1f%%",
         CHI2_DEFINITION, result.median, row["paper_median_chi2"], row["median_preferred_K"], 100 * row["fraction_tied"])
log.info("other readings: %s median %.6f; %s median %.6f", row["chi2_full_definition"], row["median_chi2_full"],
         row["chi2_pearson_definition"], row["median_chi2_pearson"])
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
