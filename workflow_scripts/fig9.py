"""Rule fig9: softmax vs K-NN histogram pairs near the median distance (Appendix A, Fig. 9)."""

import numpy as np

from labelnoise.appendix_a import examples_near_median
from labelnoise.data import load_prepared
from labelnoise.io import load_csv, load_npz, save_figure
from labelnoise.plots.fig8_fig9 import plot_fig9_softmax_knn_pairs
from labelnoise.runtime import job_logger
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
data = load_prepared(snakemake.input.data)
samples = load_csv(snakemake.input.samples)
pairs = load_npz(snakemake.input.pairs)
chosen = examples_near_median(samples["chi2"].to_numpy(), min(settings["appendix_a"]["n_examples"], len(samples)))
examples = [
    {
        "softmax": pairs["softmax"][i], "histogram": pairs["histogram"][i], "label": int(samples["label"][i]),
        "K": int(samples["preferred_K"][i]), "chi2": float(samples["chi2"][i]),
        "name": f"test sample {int(samples['test_position'][i]) + 1} of {len(samples)} (image {int(samples['dataset_index'][i])})",
    }
    for i in chosen
]
median = float(np.median(samples["chi2"]))
figure = plot_fig9_softmax_knn_pairs(
    examples, data.class_names,
    title=f"{settings['name']}: test samples near the median " + r"$\chi^2$" + f" = {median:.4g} (paper, CIFAR-10: 0.143)",
)
save_figure(figure, snakemake.output[0])
log.info("examples %s, chi2 %s", [e["name"] for e in examples], [round(e["chi2"], 4) for e in examples])
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
