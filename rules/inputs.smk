# The input functions of the rules whose inputs depend on the config (snakemake --lint keeps functions out of the rule
# files); helpers they share are in rules/common.smk.

#: Files a noise generator may need besides the data (labelnoise.noise_types: NoiseType.needs), by name.
NOISE_NEEDS = {
    "confusion": "{base}/noise/confusion_matrix.csv",
    "clusters": "{base}/clean/kmeans/{level}.npz",
    "train_softmax": "{base}/clean/train_softmax.npz",
}


def noise_inputs(wildcards):
    """rules/noise.smk make_noise: the data, and what the noise type's generator needs."""
    configured_level(wildcards)
    base = f"{RESULTS}/{wildcards.dataset}"
    needs = noise_types_registry.get(wildcards.noise).needs
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        **{need: NOISE_NEEDS[need].format(base=base, level=wildcards.level) for need in needs},
    }


def human_noise_inputs(wildcards):
    """rules/noise.smk human_noise: the data and the user's label file."""
    configured_level(wildcards, "human")
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "labels": SETTINGS[wildcards.dataset]["noise"]["human"]["file"],
    }


def train_inputs(wildcards):
    """rules/train.smk train_grid: the data and the level's noisy labels."""
    configured_level(wildcards)
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "noise": f"{RESULTS}/{wildcards.dataset}/noise/{wildcards.noise}/{wildcards.level}.npz",
    }


def train_subset_inputs(wildcards):
    """rules/scaling.smk train_subset: as train_grid, for a configured fraction of random noise only."""
    configured_level(wildcards)
    fractions = {scaling_fraction_name(fraction) for fraction in SETTINGS[wildcards.dataset]["scaling"]["fractions"]}
    if wildcards.noise != "random" or wildcards.fraction not in fractions - {"1"}:
        sys.exit(
            f"Target error: {wildcards.noise} noise on a training-set fraction {wildcards.fraction} of dataset "
            f"'{wildcards.dataset}' is not configured (scaling.fractions, random noise only; 1 is the full grid): "
            f"{', '.join(sorted(fractions - {'1'}))}"
        )
    return train_inputs(wildcards)


def kmeans_inputs(wildcards):
    """rules/clean.smk kmeans: the embedding, for a k that a noise type of cluster counts configures."""
    counted = [noise for noise in noise_types(wildcards.dataset) if noise_types_registry.get(noise).level == "k"]
    if not any(wildcards.k in level_names(wildcards.dataset, noise) for noise in counted):
        configured_level(wildcards, counted[0] if counted else "concentrated")  # stops, naming the configured k
    return {"embeddings": f"{RESULTS}/{wildcards.dataset}/clean/embeddings.npz"}


def analytic_inputs(wildcards):
    """rules/analytic.smk analytic: C(l) (the data, or the clean softmax in the general case) and the noise's matrix."""
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    if SETTINGS[wildcards.dataset]["analytic"]["case"] == "general":
        inputs["softmax"] = f"{RESULTS}/{wildcards.dataset}/clean/softmax.npz"
    if "confusion" in noise_types_registry.get(wildcards.spread_noise).needs:
        inputs["confusion"] = f"{RESULTS}/{wildcards.dataset}/noise/confusion_matrix.csv"
    return inputs


def analytic_realised_inputs(wildcards):
    """rules/analytic.smk analytic_realised: C(l) and every level's noisy labels of one realised noise type."""
    inputs = {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "noise": level_files(wildcards, "noise", ".npz", wildcards.realised_noise),
    }
    if SETTINGS[wildcards.dataset]["analytic"]["case"] == "general":
        inputs["softmax"] = f"{RESULTS}/{wildcards.dataset}/clean/softmax.npz"
    return inputs


def figure_level(wildcards, figure, noise):
    """Level name of ``noise`` that a figure shows, from the figure's settings."""
    return format_level(noise, SETTINGS[wildcards.dataset]["figures"][figure][f"{noise}_level"])


def fig1_inputs(wildcards):
    """rules/figures.smk fig1: the embedding and the noise and tables of the random and concentrated levels shown."""
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


def fig2_inputs(wildcards):
    """rules/figures.smk fig2: the test softmax and table of every row's noise level."""
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    for noise in noise_types_registry.drawn_in("fig2_row"):
        level = figure_level(wildcards, "softmax_examples", noise)
        inputs[f"{noise}_softmax"] = f"{base}/train/{noise}/{level}.softmax.npz"
        inputs[f"{noise}_table"] = f"{base}/train/{noise}/{level}.csv"
    return inputs


def fig3_inputs(wildcards):
    """rules/figures.smk fig3: Fig. 2's inputs plus what places the clean- and noisy-region samples."""
    base = f"{RESULTS}/{wildcards.dataset}"
    level = figure_level(wildcards, "softmax_examples", "concentrated")
    return fig2_inputs(wildcards) | {
        "embeddings": f"{base}/clean/embeddings.npz",
        "test_embeddings": f"{base}/clean/test_embeddings.npz",
        "concentrated_noise": f"{base}/noise/concentrated/{level}.npz",
    }


def comparison_inputs(noise):
    """rules/figures.smk fig5, fig6, fig7: one class-conditional noise type's tables, curves, K fit and K-NN."""

    def inputs(wildcards):
        base = f"{RESULTS}/{wildcards.dataset}"
        files = {
            "tables": train_tables(wildcards.dataset, noise),
            "analytic": f"{base}/analytic/{noise}.csv",
            "fit": f"{base}/analytic/{noise}_fit.csv",
            "knn": f"{base}/knn/{noise}.csv",
        }
        if "confusion" in noise_types_registry.get(noise).needs:
            files["confusion"] = f"{base}/noise/confusion_matrix.csv"
        return files

    return inputs


def fig10_inputs(wildcards):
    """rules/figures.smk fig10: every noise type's agreement table and the K fits."""
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {
        "agreement": [f"{base}/agreement/{noise}.csv" for noise in noise_types(wildcards.dataset)],
        "fits": [f"{base}/analytic/{noise}_fit.csv" for noise in spread_noises(wildcards.dataset)],
    }
    if level_names(wildcards.dataset, "concentrated"):  # for the figure only: the realised gamma of each k
        inputs["concentrated_tables"] = train_tables(wildcards.dataset, "concentrated")
    return inputs


def fig12_inputs(wildcards):
    """rules/figures.smk fig12: per realised noise type its tables, K-NN and Eq. 6 curves; the random K fit."""
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {"random_fit": f"{base}/analytic/random_fit.csv"}
    for noise in realised_noises(wildcards.dataset):
        inputs[f"{noise}_tables"] = train_tables(wildcards.dataset, noise)
        inputs[f"{noise}_knn"] = f"{base}/knn/{noise}.csv"
        inputs[f"{noise}_analytic"] = f"{base}/analytic/{noise}_realised.csv"
    if "0.00" in level_names(wildcards.dataset, "random"):  # for the figure only: the clean point (gamma 0)
        inputs["clean_table"] = f"{base}/train/random/0.00.csv"
        inputs["clean_knn"] = f"{base}/knn/random.csv"
    return inputs


def fig13_inputs(wildcards):
    """rules/figures.smk fig13: the random and flip tables, their analytic curves, the flip levels' test softmax."""
    base = f"{RESULTS}/{wildcards.dataset}"
    return {
        "tables": train_tables(wildcards.dataset, "random") + train_tables(wildcards.dataset, "flip"),
        "analytic": [f"{base}/analytic/{noise}.csv" for noise in ("random", "flip")],
        "flip_softmax": level_files(wildcards, "train", ".softmax.npz", "flip"),
    }


def data_scaling_inputs(wildcards):
    """rules/scaling.smk data_scaling: the random curves and every training-set fraction's tables."""
    base = f"{RESULTS}/{wildcards.dataset}"
    fractions = SETTINGS[wildcards.dataset]["scaling"]["fractions"]
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "analytic": f"{base}/analytic/random.csv",
        **{f"tables_{index}": scaling_tables(wildcards.dataset, fraction) for index, fraction in enumerate(fractions)},
    }


def summary_inputs(wildcards):
    """rules/summary.smk summary: every table the summary gathers."""
    base = f"{RESULTS}/{wildcards.dataset}"
    return {
        "train_summary": f"{base}/train_summary.csv",
        "analytic": [f"{base}/analytic/{noise}.csv" for noise in spread_noises(wildcards.dataset)],
        "fits": [f"{base}/analytic/{noise}_fit.csv" for noise in spread_noises(wildcards.dataset)],
        "knn": [f"{base}/knn/{noise}.csv" for noise in noise_types(wildcards.dataset)],
        "realised": [f"{base}/analytic/{noise}_realised.csv" for noise in realised_noises(wildcards.dataset)],
        "effective_k": f"{RESULTS}/fig10_{wildcards.dataset}.csv",
        "scaling": f"{RESULTS}/fig11_{wildcards.dataset}.csv",
        "selection": f"{RESULTS}/fig13_{wildcards.dataset}.csv",
    }
