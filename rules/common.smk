# The workflow's edge: the config read and validated once, the settings each rule is given as params (here, as the
# rna-seq-star-deseq2 workflow validates in its common.smk: Snakemake's lint keeps functions out of the Snakefile);
# and the target lists and wildcard helpers shared by all rules.

import functools
import os
import sys
from pathlib import Path

import labelnoise.download
import labelnoise.noise_types as noise_types_registry
from labelnoise.config import (
    ConfigError,
    format_level,
    noise_levels,
    read_yaml_file,
    rule_settings,
    sorted_keys,
    validated_settings,
)
from labelnoise.records import stale_results
from labelnoise.runtime import device_problem

if os.path.exists("config.yaml"):  # Snakemake's own YAML error names neither the file nor the line
    try:
        read_yaml_file("config.yaml")
    except ConfigError as err:
        sys.exit(f"Config error: {err}")


configfile: "config.yaml"


try:  # once, for the whole run: each dataset's settings view, which jobs trust
    SETTINGS = validated_settings(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as err:
    sys.exit(f"Config error: {err}")

RESULTS = "results"
RUN_DESCRIPTION = f"{RESULTS}/run_description.rst"  # the report's landing page (Snakefile: report)
# The noise types, from their one registry (labelnoise/noise_types.py).
SYNTHETIC_NOISES = list(noise_types_registry.SYNTHETIC)  # made by rule make_noise; human labels are read from a file
NOISE_TYPES = list(noise_types_registry.ALL)
SPREAD_NOISES = list(noise_types_registry.CLASS_CONDITIONAL)  # Eq. 6 holds: analytic curves and the fitted K
FIG4_NOISES = list(noise_types_registry.FIG4)
REALISED_NOISES = list(noise_types_registry.REALISED)  # Eq. 6 with their realised transition matrix (Fig. 12)
FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10", "fig11", "fig12", "fig13"]

if workflow.local_exec and (
    problem := device_problem(SETTINGS)
):  # a cluster's nodes may have the GPU its submit host lacks
    sys.exit(f"Config error: {problem}")


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    noise="|".join(NOISE_TYPES),
    spread_noise="|".join(SPREAD_NOISES),
    realised_noise="|".join(REALISED_NOISES),
    level=r"[0-9]+(\.[0-9]+)?|[a-z][a-z0-9_]*",
    fraction=r"[0-9]+(\.[0-9]+)?",
    k="[0-9]+",


@functools.cache
def file_md5(path, size, mtime_ns):
    """MD5 of a user's input file, once per (path, size, mtime) while the DAG is built."""
    return labelnoise.download.file_md5(path)


def job_settings(dataset, rule_name):
    """The settings rule ``rule_name`` reads (labelnoise.config.RULE_SETTINGS); for human_noise also the MD5 of the
    label file: a user's file is judged by its content, so a replaced file reruns it whatever its modification time."""
    picked = rule_settings(SETTINGS[dataset], rule_name)
    if rule_name == "human_noise":
        path = Path(SETTINGS[dataset]["noise"]["human"]["file"])
        stat = path.stat() if path.is_file() else None
        picked["label_file_md5"] = file_md5(str(path), stat.st_size, stat.st_mtime_ns) if stat else None
    return picked


def settings(rule_name):
    """Params function: the settings rule ``rule_name`` is made under (``job_settings``), which its script reads and
    records beside every file it writes (labelnoise.records).

    Passing only what a rule reads keeps its results from being rebuilt when an
    unrelated setting changes (editing a figure option must not retrain the networks).
    """
    return lambda wildcards: job_settings(wildcards.dataset, rule_name)


def recorded_settings(rule_name, wildcards):
    """The settings a result file of ``rule_name`` with ``wildcards`` would record under this config (None: this config
    makes no such file, e.g. a removed dataset)."""
    if rule_name == "run_description":
        return sorted_keys(config)
    if wildcards.get("dataset") not in SETTINGS:
        return None
    return job_settings(wildcards["dataset"], rule_name)


@functools.cache  # once per run, when Snakemake first builds its DAG
def stale_results_of_rules():
    """Every result file a rule makes that this config would not make as it is (path -> reason), found once.

    Files no rule makes (a report written into results/) are not results. Jobs on a cluster node run one job
    Snakemake already judged: they skip the search.
    """
    found = {} if workflow.remote_exec else stale_results(RESULTS, recorded_settings)
    stale = {path: why for path, why in found.items() if any(rule.is_producer(path) for rule in workflow.rules)}
    if stale:
        example, reason = next(iter(stale.items()))
        print(
            f"Records: {len(stale)} file(s) under {RESULTS}/ are not what this config makes (e.g. {example}: "
            f"{reason}); those this run needs are rebuilt",
            file=sys.stderr,
        )
    return stale


def rebuild_stale(wildcards):
    """Input function of prepare_data that names no file and marks the stale results for rebuilding.

    Every job of every run depends on a prepare_data job, so this runs while
    Snakemake builds its DAG and before it decides what to run: a stale file
    it needs is then rebuilt as if forced (``--force``), and so is everything
    made from it. Files this run does not need are left alone.
    """
    forced = getattr(getattr(workflow, "_dag", None), "forcefiles", None)  # Snakemake 9.27's; no public hook exists
    if forced is None:
        sys.exit("Records error: this Snakemake keeps no forced files where 9.27.1 does; install the pinned version")
    forced.update(stale_results_of_rules())
    return []


def configured_level(wildcards, noise=None):
    """Stop with one line when a target names a noise level (or k) that the config does not list.

    Such a target would otherwise train a duplicate of a configured level
    under other seeds (0.2 beside 0.20) or a level no figure uses.
    """
    noise = noise or getattr(wildcards, "noise", "concentrated")
    level = getattr(wildcards, "level", None) or wildcards.k
    configured = level_names(wildcards.dataset, noise)
    if level not in configured:
        sys.exit(
            f"Target error: {noise} level {level} of dataset '{wildcards.dataset}' is not configured "
            f"(noise.levels.{noise}); configured: {', '.join(configured)}"
        )


def training_gpus(wildcards, section="train"):
    """GPUs a training job asks for: 1 when its device (``train.device``, or ``clean_train``'s for the clean net) names
    CUDA, else 0.

    The SLURM profile sets gpu=1 for the training rules (device 'auto' then
    finds the GPU); a CPU-only machine keeps 0.
    """
    return int(SETTINGS[wildcards.dataset][section]["device"].startswith("cuda"))


def level_names(dataset, noise):
    return noise_levels(SETTINGS[dataset]).get(noise, [])


def noise_types(dataset):
    """The noise types a dataset studies: every synthetic one, and human labels where a label file is configured."""
    return [noise for noise in NOISE_TYPES if level_names(dataset, noise)]


def train_tables(dataset, noise):
    """Per-level training tables of one noise type of one dataset."""
    return [f"{RESULTS}/{dataset}/train/{noise}/{level}.csv" for level in level_names(dataset, noise)]


def scaling_fraction_name(fraction):
    """The folder of a training-set fraction (Fig. 11): 0.25 -> '0.25', 1.0 -> '1'."""
    return f"{fraction:g}"


def scaling_tables(dataset, fraction):
    """Random-noise training tables of one training-set fraction; the full grid's own tables at fraction 1."""
    if fraction == 1:
        return train_tables(dataset, "random")
    base = f"{RESULTS}/{dataset}/scaling/{scaling_fraction_name(fraction)}/random"
    return [f"{base}/{level}.csv" for level in level_names(dataset, "random")]


def all_targets():
    """Every figure, training table and summary of the datasets in config `targets`.

    The prepared data and the per-level tables are listed on purpose: Snakemake
    does not rebuild a deleted intermediate file whose consumers are up to
    date, so naming them here makes "delete it and rerun" rebuild it and,
    through it, what depends on it.
    """
    targets = []
    for dataset in config["targets"]:
        targets.append(f"{RESULTS}/data/{dataset}.npz")
        targets += [f"{RESULTS}/{fig}_{dataset}.pdf" for fig in FIGURES]
        targets += [table for noise in noise_types(dataset) for table in train_tables(dataset, noise)]
        targets += [
            table
            for fraction in SETTINGS[dataset]["scaling"]["fractions"]
            for table in scaling_tables(dataset, fraction)
        ]
        targets.append(f"{RESULTS}/{dataset}/train_summary.csv")
        targets.append(f"{RESULTS}/summary_{dataset}.csv")
    return targets + [RUN_DESCRIPTION]


def report_figure(png, name, title):
    """``png`` flagged for ``snakemake --report``: caption report/<name>.rst, this run's numbers as labels."""
    from labelnoise.summary import measured_labels

    number = int(name.removeprefix("fig"))
    return report(
        png,
        caption=f"../report/{name}.rst",  # relative to the rule file
        # Two categories, each in the figures' order (the report sorts names as text: "Fig. 10" before "Fig. 2").
        category="Figs. 1-9: the paper" if number <= 9 else "Figs. 10-13: past the paper",
        subcategory=title,
        labels=lambda wildcards, input: {"dataset": wildcards.dataset, **measured_labels(title, input)},
    )


def log_path(rule_name, pattern):
    return f"{RESULTS}/logs/{rule_name}/{pattern}.log"


def bench_path(rule_name, pattern):
    return f"{RESULTS}/benchmarks/{rule_name}/{pattern}.tsv"


# Input functions of the rules, kept apart from the rules (snakemake --lint).


# rules/noise.smk
def noise_inputs(wildcards):
    configured_level(wildcards)
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    if wildcards.noise == "instance":
        inputs["softmax"] = f"{RESULTS}/{wildcards.dataset}/clean/train_softmax.npz"
    if wildcards.noise == "concentrated":
        inputs["clusters"] = f"{RESULTS}/{wildcards.dataset}/clean/kmeans/{wildcards.level}.npz"
    if wildcards.noise == "confusion":
        inputs["confusion"] = f"{RESULTS}/{wildcards.dataset}/noise/confusion_matrix.csv"
    return inputs


# rules/train.smk
def train_inputs(wildcards):
    configured_level(wildcards)
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "noise": f"{RESULTS}/{wildcards.dataset}/noise/{wildcards.noise}/{wildcards.level}.npz",
    }


# rules/clean.smk
def kmeans_inputs(wildcards):
    configured_level(wildcards)
    return {
        "embeddings": f"{RESULTS}/{wildcards.dataset}/clean/embeddings.npz",
    }


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
    for noise in noise_types_registry.FIG2:
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
    return {
        "train_summary": f"{base}/train_summary.csv",
        "analytic": [f"{base}/analytic/{noise}.csv" for noise in SPREAD_NOISES],
        "fits": [f"{base}/analytic/{noise}_fit.csv" for noise in SPREAD_NOISES],
        "knn": [f"{base}/knn/{noise}.csv" for noise in noise_types(wildcards.dataset)],
        "realised": [f"{base}/analytic/{noise}_realised.csv" for noise in realised_noises(wildcards.dataset)],
        "effective_k": f"{RESULTS}/fig10_{wildcards.dataset}.csv",
        "scaling": f"{RESULTS}/fig11_{wildcards.dataset}.csv",
        "selection": f"{RESULTS}/fig13_{wildcards.dataset}.csv",
    }


# rules/scaling.smk
def train_subset_inputs(wildcards):
    configured_level(wildcards)
    fractions = {scaling_fraction_name(fraction) for fraction in SETTINGS[wildcards.dataset]["scaling"]["fractions"]}
    if wildcards.noise != "random" or wildcards.fraction not in fractions - {"1"}:
        sys.exit(
            f"Target error: {wildcards.noise} noise on a training-set fraction {wildcards.fraction} of dataset "
            f"'{wildcards.dataset}' is not configured (scaling.fractions, random noise only; 1 is the full grid): "
            f"{', '.join(sorted(fractions - {'1'}))}"
        )
    return train_inputs(wildcards)


# rules/scaling.smk
def data_scaling_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    fractions = SETTINGS[wildcards.dataset]["scaling"]["fractions"]
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "analytic": f"{base}/analytic/random.csv",
        **{f"tables_{index}": scaling_tables(wildcards.dataset, fraction) for index, fraction in enumerate(fractions)},
    }


# rules/figures.smk
def fig10_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {
        "agreement": [f"{base}/agreement/{noise}.csv" for noise in noise_types(wildcards.dataset)],
        "fits": [f"{base}/analytic/{noise}_fit.csv" for noise in SPREAD_NOISES],
    }
    if level_names(wildcards.dataset, "concentrated"):  # for the figure only: the realised gamma of each k
        inputs["concentrated_tables"] = train_tables(wildcards.dataset, "concentrated")
    return inputs


def fig13_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    return {
        "tables": train_tables(wildcards.dataset, "random") + train_tables(wildcards.dataset, "flip"),
        "analytic": [f"{base}/analytic/{noise}.csv" for noise in ("random", "flip")],
        "flip_softmax": [f"{base}/train/flip/{level}.softmax.npz" for level in level_names(wildcards.dataset, "flip")],
    }


def realised_noises(dataset):
    """The dataset's noise types that are not class-conditional (Fig. 12)."""
    return [noise for noise in REALISED_NOISES if noise in noise_types(dataset)]


# rules/noise.smk
def human_noise_inputs(wildcards):
    configured_level(wildcards, "human")
    return {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "labels": SETTINGS[wildcards.dataset]["noise"]["human"]["file"],
    }


# rules/analytic.smk
def analytic_realised_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {
        "data": f"{RESULTS}/data/{wildcards.dataset}.npz",
        "noise": [
            f"{base}/noise/{wildcards.realised_noise}/{level}.npz"
            for level in level_names(wildcards.dataset, wildcards.realised_noise)
        ],
    }
    if SETTINGS[wildcards.dataset]["analytic"]["case"] == "general":
        inputs["softmax"] = f"{base}/clean/softmax.npz"
    return inputs


# rules/figures.smk
def fig12_inputs(wildcards):
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
