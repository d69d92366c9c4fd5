# Reproduces "On the Resistance of Neural Nets to Label Noise" (Drory, Avidan,
# Giryes) from raw data. Every figure is a target file:
#     snakemake --cores all                          # every figure of config `targets`
#     snakemake --cores all results/fig5_mnist.pdf   # just what Fig. 5 needs
# Stages live in rules/*.smk (wiring), workflow_scripts/ (file I/O) and the
# labelnoise package (the science). See README.md.

import os
import sys

from snakemake.utils import min_version

min_version("9.0")

from labelnoise.runtime import put_on_jobs_python_path

# The rules' scripts import the labelnoise package from this folder whether or not their environment installed it
# (envs/ holds the pins only): jobs, local or on a cluster node, inherit the PYTHONPATH set here.
put_on_jobs_python_path(workflow.basedir)

from labelnoise.runtime import results_dir_problem

# Checked by the Snakemake that plans the run, before any job; a job on a cluster node re-reads this file while other
# jobs write and remove folders, and skips the walk (as it skips the records' search, rules/common.smk).
if not workflow.remote_exec and (problem := results_dir_problem("results")):
    sys.exit(f"Results error: {problem}")


include: "rules/common.smk"  # the config, read and validated once, and the settings each rule is given
include: "rules/inputs.smk"  # the rules' input functions


report: os.path.abspath(RUN_DESCRIPTION)  # the report's landing page, written by rule run_description


include: "rules/data.smk"
include: "rules/clean.smk"
include: "rules/noise.smk"
include: "rules/train.smk"
include: "rules/analytic.smk"
include: "rules/figures.smk"
include: "rules/appendix_a.smk"
include: "rules/knn.smk"
include: "rules/agreement.smk"
include: "rules/scaling.smk"
include: "rules/summary.smk"


rule all:
    default_target: True
    input:
        all_targets(),
