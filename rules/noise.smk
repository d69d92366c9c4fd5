rule confusion_matrix:
    """P(noisy | clean) of confusion-matrix noise: from the config or drawn from the seed."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
    output:
        f"{RESULTS}/{{dataset}}/noise/confusion_matrix.csv",
    params:
        settings=settings,
    log:
        log_path("confusion_matrix", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/confusion_matrix.py"


def noise_inputs(wildcards):
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    if wildcards.noise == "concentrated":
        inputs["clusters"] = f"{RESULTS}/{wildcards.dataset}/clean/kmeans/{wildcards.level}.npz"
    if wildcards.noise == "confusion":
        inputs["confusion"] = f"{RESULTS}/{wildcards.dataset}/noise/confusion_matrix.csv"
    return inputs


rule make_noise:
    """Noisy training labels of one noise type and level, one realisation per seed."""
    input:
        unpack(noise_inputs),
    output:
        f"{RESULTS}/{{dataset}}/noise/{{noise}}/{{level}}.npz",
    params:
        settings=settings,
    log:
        log_path("make_noise", "{dataset}/{noise}/{level}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/make_noise.py"
