# The summary table: per noise type and level, experiment, analytic K-NN at the
# fitted K, the K-NN baseline and the paper's claims side by side.


rule summary:
    """Summary table of one dataset: nominal and realised noise, CNN, analytic, K-NN, paper."""
    input:
        unpack(summary_inputs),
    output:
        table=report(
            f"{RESULTS}/summary_{{dataset}}.csv",
            caption="../report/summary.rst",
            category="Summary tables",
            labels={"dataset": "{dataset}", "table": "summary (CSV)"},
        ),
        html=report(
            f"{RESULTS}/summary_{{dataset}}.html",
            caption="../report/summary.rst",
            category="Summary tables",
            labels={"dataset": "{dataset}", "table": "summary"},
        ),
    log:
        log_path("summary", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("summary", *LEVELS),
    script:
        "../workflow_scripts/summary.py"


rule run_description:
    """The report's landing page: the data and its split, nets, seeds, levels, settings and resolved configuration."""
    input:
        data=[f"{RESULTS}/data/{dataset}.npz" for dataset in config["targets"]],
        clean=[f"{RESULTS}/{dataset}/clean/train.csv" for dataset in config["targets"]],
    output:
        RUN_DESCRIPTION,
    log:
        log_path("run_description", "run_description"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("run_description"),  # the resolved configuration: any change rebuilds the page
        views=sorted_keys({dataset: SETTINGS[dataset] for dataset in config["targets"]}),  # made from it
    script:
        "../workflow_scripts/run_description.py"
