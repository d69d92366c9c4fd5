def analytic_inputs(wildcards):
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    if SETTINGS[wildcards.dataset]["analytic"]["case"] == "general":
        inputs["softmax"] = f"{RESULTS}/{wildcards.dataset}/clean/softmax.npz"
    if wildcards.spread_noise == "confusion":
        inputs["confusion"] = f"{RESULTS}/{wildcards.dataset}/noise/confusion_matrix.csv"
    return inputs


rule analytic:
    """K-NN plurality accuracy (Eqs. 2, 3, 6) on a gamma grid for every configured K."""
    input:
        unpack(analytic_inputs),
    output:
        f"{RESULTS}/{{dataset}}/analytic/{{spread_noise}}.csv",
    params:
        settings=settings,
    log:
        log_path("analytic", "{dataset}/{spread_noise}"),
    benchmark:
        bench_path("analytic", "{dataset}/{spread_noise}")
    conda:
        "../envs/labelnoise.yaml"
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
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fit_k.py"
