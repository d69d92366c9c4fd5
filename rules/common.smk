# The workflow's edge, as the rna-seq-star-deseq2 workflow keeps it in its common.smk: the config, read and validated
# once; the settings each rule declares in its params (and is given, and records beside its files); the guard against
# stale results; the targets and wildcard helpers. The rules' input functions are in rules/inputs.smk.

import functools
import os
import re
import sys

import labelnoise.noise_types as noise_types_registry
from labelnoise.config import (
    ConfigError,
    format_level,
    noise_levels,
    pick_settings,
    read_yaml_file,
    sorted_keys,
    validated_settings,
)
from labelnoise.records import INPUT_CHANGED, stale_results
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
SYNTHETIC_NOISES = noise_types_registry.names(synthetic=True)  # made by make_noise; human labels come from a file
NOISE_TYPES = noise_types_registry.names()
SPREAD_NOISES = noise_types_registry.names(theory="class_conditional")  # Eq. 6 holds: analytic curves, fitted K
REALISED_NOISES = noise_types_registry.names(theory="realised")  # Eq. 6 with their realised matrix (Fig. 12)
FIG4_NOISES = noise_types_registry.drawn_in("fig4_panel")  # the panels of Fig. 4
#: The settings of a rule that gathers every level of a dataset (a table or figure made from other levels is stale).
LEVELS = ("noise.levels", "noise.human")

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


#: The config keys each rule reads (its ``settings`` param), declared by the rule itself.
RULE_KEYS = {}


def settings(rule_name, *keys):
    """Params function of ``rule_name``, which gives the dataset's settings of the dotted config ``keys`` it
    reads (name and seed always come along), which its script reads and records beside every file it writes
    (labelnoise.records). A script sees no other part of the config (one exception: prepare_data reads where the
    data files are, data_dir and its kin, which do not shape the data; their MD5s are in the prepared file).

    Passing only what a rule reads keeps its results from being rebuilt when an
    unrelated setting changes (editing a figure option must not retrain the networks).
    """
    if rule_name in RULE_KEYS:  # a copied rule that kept another's name would record the other's settings
        sys.exit(f"Workflow error: settings('{rule_name}', ...) is declared twice; each rule declares its own")
    RULE_KEYS[rule_name] = keys
    return lambda wildcards: recorded_settings(rule_name, wildcards)


def recorded_settings(rule_name, wildcards):
    """The settings a result file of ``rule_name`` with ``wildcards`` is made under, and records, with this config
    (None: this config makes no such file, e.g. of a removed dataset or rule)."""
    if rule_name == "run_description":
        return sorted_keys(config)
    wildcards = dict(wildcards.items())  # a job's wildcards or a record's
    if "dataset" not in wildcards:  # all others are made per dataset, so such a record is of no job here
        return {"rule": f"{rule_name}, with no dataset"}
    if wildcards["dataset"] not in SETTINGS:
        return None
    if rule_name not in RULE_KEYS:  # made by a rule of another version; no settings of this workflow match
        return {"rule": f"{rule_name}, not a rule of this workflow"}
    return pick_settings(SETTINGS[wildcards["dataset"]], RULE_KEYS[rule_name])


@functools.cache  # once per run, when Snakemake first builds its DAG
def stale_results_of_rules():
    """Every result file a rule makes that this config would not make as it is (path -> reason), found once.

    Files no rule makes (a report written into results/) are not results. Jobs on a cluster node run one job
    Snakemake already judged: they skip the search.
    """
    found = {} if workflow.remote_exec else stale_results(RESULTS, recorded_settings)
    stale = {path: why for path, why in found.items() if any(rule.is_producer(path) for rule in workflow.rules)}
    if stale:  # the example is a cause (a file itself changed), not one made from it
        chained = [path for path, why in stale.items() if why.startswith(INPUT_CHANGED)]
        example, reason = next(((p, why) for p, why in stale.items() if p not in chained), next(iter(stale.items())))
        downstream = f"; {len(chained)} made from a file that changed" if chained and example not in chained else ""
        print(
            f"Records: {len(stale)} file(s) under {RESULTS}/ are not what this config makes (e.g. {example}: "
            f"{reason}{downstream}); those this run needs are rebuilt",
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
    return list(noise_levels(SETTINGS[dataset]))


def realised_noises(dataset):
    """The dataset's noise types that are not class-conditional (Fig. 12)."""
    return [noise for noise in REALISED_NOISES if noise in noise_types(dataset)]


def spread_noises(dataset):
    """The dataset's class-conditional noise types (analytic curves and a fitted K, Figs. 5-7, 10)."""
    return [noise for noise in SPREAD_NOISES if noise in noise_types(dataset)]


def fig4_noises(dataset):
    """The dataset's noise types with a panel in Fig. 4, in the panels' order."""
    return [noise for noise in FIG4_NOISES if noise in noise_types(dataset)]


def train_tables(dataset, noise):
    """Per-level training tables of one noise type of one dataset."""
    return [f"{RESULTS}/{dataset}/train/{noise}/{level}.csv" for level in level_names(dataset, noise)]


def level_files(wildcards, folder, suffix, noise=None):
    """One file per configured level of ``noise`` (default: the job's noise type): ``{folder}/{noise}/{level}{suffix}``."""
    noise = noise or wildcards.noise
    return [
        f"{RESULTS}/{wildcards.dataset}/{folder}/{noise}/{level}{suffix}"
        for level in level_names(wildcards.dataset, noise)
    ]


def scaling_fraction_name(fraction):
    """The folder of a training-set fraction (Fig. 11): 0.25 -> '0.25', 1.0 -> '1'."""
    return f"{fraction:g}"


def scaling_tables(dataset, fraction):
    """Random-noise training tables of one training-set fraction; the full grid's own tables at fraction 1."""
    if fraction == 1:
        return train_tables(dataset, "random")
    base = f"{RESULTS}/{dataset}/scaling/{scaling_fraction_name(fraction)}/random"
    return [f"{base}/{level}.csv" for level in level_names(dataset, "random")]


def figures():
    """The figure rules (``fig1``, ``fig2``, ...), in number order; each is a figure target."""
    named = [rule.name for rule in workflow.rules if re.fullmatch(r"fig\d+", rule.name)]
    return sorted(named, key=lambda name: int(name[3:]))


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
        targets += [f"{RESULTS}/{fig}_{dataset}.pdf" for fig in figures()]
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
        category="Figs. 1-9: the paper" if number <= 9 else "Figs. 10 and later: past the paper",
        subcategory=title,
        labels=lambda wildcards, input: {"dataset": wildcards.dataset, **measured_labels(title, input)},
    )


def log_path(rule_name, pattern):
    return f"{RESULTS}/logs/{rule_name}/{pattern}.log"


def bench_path(rule_name, pattern):
    return f"{RESULTS}/benchmarks/{rule_name}/{pattern}.tsv"
