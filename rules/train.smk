rule train_grid:
    """Train every seed of one (dataset, noise type, level); one table row per seed."""
    input:
        unpack(train_inputs),
    output:
        table=f"{RESULTS}/{{dataset}}/train/{{noise}}/{{level}}.csv",
        softmax=f"{RESULTS}/{{dataset}}/train/{{noise}}/{{level}}.softmax.npz",
    log:
        log_path("train_grid", "{dataset}/{noise}/{level}"),
    benchmark:
        bench_path("train_grid", "{dataset}/{noise}/{level}")
    conda:
        "../envs/labelnoise.yaml"
    threads: lambda wildcards: SETTINGS[wildcards.dataset]["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=training_gpus,
    params:
        settings=settings("train_grid", "seeds", "grid_model", "train", "protocols"),
        resume=f"{RESULTS}/{{dataset}}/resume/train_grid/{{noise}}/{{level}}",  # resume checkpoints of a killed job, removed when it completes
        fraction=None,  # the whole training set (train_subset: one nested subset)
    script:
        "../workflow_scripts/train_grid.py"


rule collect_grid:
    """All training rows of a dataset in one table, and its mean +- std per level."""
    input:
        lambda wildcards: [
            table for noise in noise_types(wildcards.dataset) for table in train_tables(wildcards.dataset, noise)
        ],
    output:
        table=f"{RESULTS}/{{dataset}}/train.csv",
        summary=f"{RESULTS}/{{dataset}}/train_summary.csv",
    log:
        log_path("collect_grid", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("collect_grid", *LEVELS),
    script:
        "../workflow_scripts/collect_grid.py"
