"""Rule fig13: random and flip noise under each selection protocol, and what the nets predict under flip noise."""

import pandas as pd

from labelnoise.io import load_csv, load_npz, save_csv, save_figure
from labelnoise.noise import flip_permutation
from labelnoise.plots.fig13 import plot_fig13_selection
from labelnoise.runtime import job_logger
from labelnoise.selection import PROTOCOLS
from labelnoise.selection_study import flip_decisions, protocol_curves
from labelnoise.tables import load_train_tables
from labelnoise.records import write_records

settings = snakemake.params.settings
log = job_logger(snakemake)
train = load_train_tables(snakemake.input.tables)
analytic = {noise: load_csv(path) for noise, path in zip(("random", "flip"), snakemake.input.analytic)}
curves = protocol_curves(train, analytic)
rows = []
flip = train[train["noise"] == "flip"].drop_duplicates("level").set_index("level")
for path in snakemake.input.flip_softmax:
    stored = load_npz(path)
    level = path.rsplit("/", 1)[1].removesuffix(".softmax.npz")
    permutation = flip_permutation(stored["softmax"].shape[2], settings["noise"]["flip_shift"])
    for protocol in (p for p in PROTOCOLS if f"softmax_{p}" in stored):
        rows.append({"dataset": settings["name"], "noise": "flip", "level": level,
                     "nominal_gamma": float(flip.loc[level, "nominal_gamma"]), "protocol": protocol,
                     **flip_decisions(stored[f"softmax_{protocol}"], stored["labels"], permutation)})
decisions = pd.DataFrame(rows)
save_csv(snakemake.output.table, curves)
save_csv(snakemake.output.flip, decisions)
save_figure(plot_fig13_selection(curves, decisions, settings["name"]), snakemake.output.pdf)
for row in curves.drop_duplicates(["noise", "protocol"]).itertuples():
    log.info("%s noise, %s selection: fitted K %s (RMSE %.4f)", row.noise, row.protocol, row.fitted_K, row.rmse)
for row in decisions.itertuples():
    log.info("flip %s, %s: predictions true label %.3f, counterpart %.3f; |p(true) - p(counterpart)| mean %.3f",
             row.level, row.protocol, row.true_label, row.counterpart, row.tie_gap_mean)
write_records(snakemake)  # last: what made each output, beside it (labelnoise.records)
