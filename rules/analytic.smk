rule analytic:
    """K-NN plurality accuracy (Eqs. 2, 3, 6) on a gamma grid for every configured K."""
    input:
        unpack(analytic_inputs),
    output:
        f"{RESULTS}/{{dataset}}/analytic/{{spread_noise}}.csv",
    log:
        log_path("analytic", "{dataset}/{spread_noise}"),
    benchmark:
        bench_path("analytic", "{dataset}/{spread_noise}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=settings("analytic", "analytic", "noise.flip_shift", "noise.levels"),
    script:
        "../workflow_scripts/analytic.py"


rule fit_k:
    """The K whose analytic curve is closest (RMSE) to the experimental mean curve."""
    input:
        analytic=f"{RESULTS}/{{dataset}}/analytic/{{spread_noise}}.csv",
        tables=lambda wildcards: train_tables(wildcards.dataset, wildcards.spread_noise),
    output:
        f"{RESULTS}/{{dataset}}/analytic/{{spread_noise}}_fit.csv",
    log:
        log_path("fit_k", "{dataset}/{spread_noise}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("fit_k", *LEVELS),
    script:
        "../workflow_scripts/fit_k.py"


rule analytic_realised:
    """Eq. 6 with the realised transition matrix of instance or human noise: the class-conditional prediction."""
    input:
        unpack(analytic_realised_inputs),
    output:
        f"{RESULTS}/{{dataset}}/analytic/{{realised_noise}}_realised.csv",
    log:
        log_path("analytic_realised", "{dataset}/{realised_noise}"),
    benchmark:
        bench_path("analytic_realised", "{dataset}/{realised_noise}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        settings=settings("analytic_realised", "analytic", *LEVELS),
    script:
        "../workflow_scripts/analytic_realised.py"
