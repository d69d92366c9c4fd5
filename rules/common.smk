# Target lists and wildcard helpers shared by all rules.

from labelnoise.config import dataset_settings, format_level, noise_levels

RESULTS = "results"
NOISE_TYPES = ["random", "flip", "confusion", "concentrated"]
SPREAD_NOISES = ["random", "flip", "confusion"]  # the noise types of Eq. 6
FIGURES = ["fig1", "fig2", "fig4", "fig5", "fig6", "fig7"]

SETTINGS = {name: dataset_settings(config, name) for name in config["datasets"]}


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    noise="|".join(NOISE_TYPES),
    spread_noise="|".join(SPREAD_NOISES),
    level=r"[0-9]+(\.[0-9]+)?",
    k="[0-9]+",


def settings(wildcards):
    """The validated settings of the job's dataset."""
    return SETTINGS[wildcards.dataset]


def level_names(dataset, noise):
    return noise_levels(SETTINGS[dataset])[noise]


def train_tables(dataset, noise):
    """Per-level training tables of one noise type of one dataset."""
    return [f"{RESULTS}/{dataset}/train/{noise}/{level}.csv" for level in level_names(dataset, noise)]


def all_targets():
    """Every figure, training table and summary of the datasets in config `targets`.

    The per-level tables are listed on purpose: Snakemake does not rebuild a
    deleted intermediate file whose consumers are up to date, so naming them
    here makes "delete a level's table and rerun" rebuild that level and,
    through it, the figures downstream.
    """
    targets = []
    for dataset in config["targets"]:
        targets += [f"{RESULTS}/{fig}_{dataset}.pdf" for fig in FIGURES]
        targets += [table for noise in NOISE_TYPES for table in train_tables(dataset, noise)]
        targets.append(f"{RESULTS}/{dataset}/train_summary.csv")
    return targets


def log_path(rule_name, pattern):
    return f"{RESULTS}/logs/{rule_name}/{pattern}.log"


def bench_path(rule_name, pattern):
    return f"{RESULTS}/benchmarks/{rule_name}/{pattern}.tsv"
