# Beyond the paper (Fig. 11): the effective K against the amount of training
# data, from the random-noise grid trained on nested subsets of the training set.


rule train_subset:
    """Train every seed of one random-noise level on one nested subset of the training set (noise: random only)."""
    input:
        unpack(train_subset_inputs),
    output:
        table=f"{RESULTS}/{{dataset}}/scaling/{{fraction}}/{{noise}}/{{level}}.csv",
    log:
        log_path("train_subset", "{dataset}/{fraction}/{noise}/{level}"),
    benchmark:
        bench_path("train_subset", "{dataset}/{fraction}/{noise}/{level}")
    conda:
        "../envs/labelnoise.yaml"
    threads: lambda wildcards: SETTINGS[wildcards.dataset]["train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=training_gpus,
    params:
        settings=settings("train_subset", "seeds", "grid_model", "train", "protocols"),
        fraction=lambda wildcards: float(wildcards.fraction),
        resume=f"{RESULTS}/{{dataset}}/resume/train_subset/{{fraction}}/{{noise}}/{{level}}",  # removed when the job completes
    script:
        "../workflow_scripts/train_grid.py"


rule data_scaling:
    """Fitted K (random noise) and the CNN's accuracy at scaling.level for every training-set fraction."""
    input:
        unpack(data_scaling_inputs),
    output:
        f"{RESULTS}/{{dataset}}/scaling.csv",
    log:
        log_path("data_scaling", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("data_scaling", "scaling", "noise.levels.random"),
    script:
        "../workflow_scripts/data_scaling.py"
