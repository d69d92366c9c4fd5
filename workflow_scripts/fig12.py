"""Rule fig12: instance-dependent and human-label noise against Eq. 6 with their realised transition matrix."""

from labelnoise import noise_types
from labelnoise.config import noise_levels
from labelnoise.io import load_csv, save_csv, save_figure
from labelnoise.plots.fig12 import plot_fig12_realised_noise
from labelnoise.runtime import job_logger
from labelnoise.summary import class_conditional_comparison, knn_baseline
from labelnoise.tables import aggregate_over_seeds, load_train_tables
from labelnoise.records import write_records

log = job_logger(snakemake)
noises = [noise for noise in noise_types.names(theory="realised") if noise in noise_levels(snakemake.params.settings)]
train = load_train_tables([path for noise in noises for path in snakemake.input[f"{noise}_tables"]])
table = class_conditional_comparison(
    aggregate_over_seeds(train),
    {noise: load_csv(snakemake.input[f"{noise}_knn"], dtype={"level": str}) for noise in noises},
    {noise: load_csv(snakemake.input[f"{noise}_analytic"], dtype={"level": str}) for noise in noises},
    load_csv(snakemake.input.random_fit),
)
save_csv(snakemake.output.table, table)
clean = None  # figure only: the nets and the K-NN on clean labels (random noise at 0.00), where trained
if "clean_table" in snakemake.input.keys():
    nets = aggregate_over_seeds(load_train_tables([snakemake.input.clean_table])).iloc[0]
    knn_k = int(table["knn_K"].iloc[0])  # the K of the K-NN curve drawn, where the clean level has it
    _, knn_acc = knn_baseline(load_csv(snakemake.input.clean_knn, dtype={"level": str}), str(nets["level"]), knn_k)
    clean = {"test_acc_mean": nets["test_acc_mean"], "test_acc_std": nets["test_acc_std"], "n_seeds": nets["n_seeds"],
             "knn_acc": knn_acc}
    log.info("clean labels (figure only): CNN %.4f, K-NN %.4f", clean["test_acc_mean"], knn_acc)
save_figure(plot_fig12_realised_noise(table, snakemake.wildcards.dataset, clean), snakemake.output.pdf)
for row in table.itertuples():
    log.info("%s %s (realised %.3f): CNN %.4f, K-NN %.4f, class-conditional theory at K = %d %.4f", row.noise, row.level,
             row.realised_gamma_mean, row.test_acc_mean, row.knn_acc, row.analytic_K, row.analytic_acc)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
