# Target lists and wildcard helpers shared by all rules.

from labelnoise.config import dataset_settings, format_level, noise_levels, pick_settings

RESULTS = "results"
NOISE_TYPES = ["random", "flip", "confusion", "concentrated"]
SPREAD_NOISES = ["random", "flip", "confusion"]  # the noise types of Eq. 6
FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9"]

SETTINGS = {name: dataset_settings(config, name) for name in config["datasets"]}


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    noise="|".join(NOISE_TYPES),
    spread_noise="|".join(SPREAD_NOISES),
    level=r"[0-9]+(\.[0-9]+)?",
    k="[0-9]+",


def settings(*paths):
    """Params function: the parts of the job's dataset settings a rule reads.

    ``paths`` are dotted keys of the dataset view (e.g. "train",
    "noise.flip_shift"); name and seed always come along. Passing only what a
    rule reads keeps its params, a rerun trigger, from changing with
    unrelated settings.
    """
    return lambda wildcards: pick_settings(SETTINGS[wildcards.dataset], list(paths))


def training_gpus(wildcards):
    """GPUs a training job asks for: 1 when train.device names CUDA, else 0.

    The SLURM profile sets gpu=1 for the training rules (device 'auto' then
    finds the GPU); a CPU-only machine keeps 0.
    """
    return int(SETTINGS[wildcards.dataset]["train"]["device"].startswith("cuda"))


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
        targets.append(f"{RESULTS}/summary_{dataset}.csv")
    return targets


def report_figure(png, name, title):
    """``png`` flagged for ``snakemake --report``: caption report/<name>.rst, this run's numbers as labels."""
    from labelnoise.summary import measured_labels

    return report(
        png,
        caption=f"../report/{name}.rst",  # relative to the rule file
        category=title,
        labels=lambda wildcards, input: {"dataset": wildcards.dataset, **measured_labels(title, input)},
    )


def log_path(rule_name, pattern):
    return f"{RESULTS}/logs/{rule_name}/{pattern}.log"


def bench_path(rule_name, pattern):
    return f"{RESULTS}/benchmarks/{rule_name}/{pattern}.tsv"


# Input functions of the rules, kept apart from the rules (snakemake --lint).


# rules/noise.smk
def noise_inputs(wildcards):
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    if wildcards.noise == "concentrated":
        inputs["clusters"] = f"{RESULTS}/{wildcards.dataset}/clean/kmeans/{wildcards.level}.npz"
    if wildcards.noise == "confusion":
        inputs["confusion"] = f"{RESULTS}/{wildcards.dataset}/noise/confusion_matrix.csv"
    return inputs


# rules/analytic.smk
def analytic_inputs(wildcards):
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    if SETTINGS[wildcards.dataset]["analytic"]["case"] == "general":
        inputs["softmax"] = f"{RESULTS}/{wildcards.dataset}/clean/softmax.npz"
    if wildcards.spread_noise == "confusion":
        inputs["confusion"] = f"{RESULTS}/{wildcards.dataset}/noise/confusion_matrix.csv"
    return inputs


# rules/figures.smk
def figure_level(wildcards, figure, noise):
    """Level name of ``noise`` that a figure shows, from the figure's settings."""
    return format_level(noise, SETTINGS[wildcards.dataset]["figures"][figure][f"{noise}_level"])


# rules/figures.smk
def fig1_inputs(wildcards):
    random_level = figure_level(wildcards, "embedding", "random")
    concentrated_level = figure_level(wildcards, "embedding", "concentrated")
    base = f"{RESULTS}/{wildcards.dataset}"
    return {
        "embeddings": f"{base}/clean/embeddings.npz",
        "random_noise": f"{base}/noise/random/{random_level}.npz",
        "concentrated_noise": f"{base}/noise/concentrated/{concentrated_level}.npz",
        "random_table": f"{base}/train/random/{random_level}.csv",
        "concentrated_table": f"{base}/train/concentrated/{concentrated_level}.csv",
    }


# rules/figures.smk
def fig2_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    for noise in ("random", "flip", "concentrated"):
        level = figure_level(wildcards, "softmax_examples", noise)
        inputs[f"{noise}_softmax"] = f"{base}/train/{noise}/{level}.softmax.npz"
        inputs[f"{noise}_table"] = f"{base}/train/{noise}/{level}.csv"
    return inputs


# rules/figures.smk
def comparison_inputs(noise):
    def inputs(wildcards):
        base = f"{RESULTS}/{wildcards.dataset}"
        files = {
            "tables": train_tables(wildcards.dataset, noise),
            "analytic": f"{base}/analytic/{noise}.csv",
            "fit": f"{base}/analytic/{noise}_fit.csv",
            "knn": f"{base}/knn/{noise}.csv",
        }
        if noise == "confusion":
            files["confusion"] = f"{base}/noise/confusion_matrix.csv"
        return files

    return inputs


# rules/appendix_a.smk
def fig3_inputs(wildcards):
    """Fig. 2's inputs plus what places the clean- and noisy-region samples."""
    base = f"{RESULTS}/{wildcards.dataset}"
    level = figure_level(wildcards, "softmax_examples", "concentrated")
    return fig2_inputs(wildcards) | {
        "embeddings": f"{base}/clean/embeddings.npz",
        "test_embeddings": f"{base}/clean/test_embeddings.npz",
        "concentrated_noise": f"{base}/noise/concentrated/{level}.npz",
    }


# rules/summary.smk
def summary_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {
        "train_summary": f"{base}/train_summary.csv",
        "analytic": [f"{base}/analytic/{noise}.csv" for noise in SPREAD_NOISES],
        "fits": [f"{base}/analytic/{noise}_fit.csv" for noise in SPREAD_NOISES],
    }
    if hasattr(rules, "knn_baseline"):  # rules/knn.smk is included
        inputs["knn"] = [f"{base}/knn/{noise}.csv" for noise in NOISE_TYPES]
    return inputs
