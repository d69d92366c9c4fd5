rule confusion_matrix:
    """P(noisy | clean) of confusion-matrix noise: from the config or drawn from the seed."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
    output:
        f"{RESULTS}/{{dataset}}/noise/confusion_matrix.csv",
    log:
        log_path("confusion_matrix", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("confusion_matrix", "noise.confusion_matrix", "noise.confusion_concentration"),
    script:
        "../workflow_scripts/confusion_matrix.py"


rule make_noise:
    """Noisy training labels of one synthetic noise type and level, one realisation per seed."""
    input:
        unpack(noise_inputs),
    output:
        f"{RESULTS}/{{dataset}}/noise/{{noise}}/{{level}}.npz",
    log:
        log_path("make_noise", "{dataset}/{noise}/{level}"),
    wildcard_constraints:
        noise="|".join(SYNTHETIC_NOISES),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("make_noise", "seeds", "noise.flip_shift"),
    script:
        "../workflow_scripts/make_noise.py"


rule human_noise:
    """Human training labels of one label set, read from the configured file (the same for every seed)."""
    input:
        unpack(human_noise_inputs),
    output:
        f"{RESULTS}/{{dataset}}/noise/human/{{level}}.npz",
    log:
        log_path("human_noise", "{dataset}/{level}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        settings=settings("human_noise", "seeds", "noise.human"),
    script:
        "../workflow_scripts/human_noise.py"
