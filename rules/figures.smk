def figure_level(wildcards, figure, noise):
    """Level name of ``noise`` that a figure shows, from the figure's settings."""
    return format_level(noise, SETTINGS[wildcards.dataset]["figures"][figure][f"{noise}_level"])


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


rule fig1:
    """Fig. 1: deep features in 2-D coloured by noisy label, 20% random vs 20% concentrated."""
    input:
        unpack(fig1_inputs),
    output:
        f"{RESULTS}/fig1_{{dataset}}.pdf",
    params:
        settings=settings,
    log:
        log_path("fig1", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fig1.py"


def fig2_inputs(wildcards):
    base = f"{RESULTS}/{wildcards.dataset}"
    inputs = {"data": f"{RESULTS}/data/{wildcards.dataset}.npz"}
    for noise in ("random", "flip", "concentrated"):
        level = figure_level(wildcards, "softmax_examples", noise)
        inputs[f"{noise}_softmax"] = f"{base}/train/{noise}/{level}.softmax.npz"
        inputs[f"{noise}_table"] = f"{base}/train/{noise}/{level}.csv"
    return inputs


rule fig2:
    """Fig. 2: softmax outputs of noisy-trained nets on chosen test samples."""
    input:
        unpack(fig2_inputs),
    output:
        f"{RESULTS}/fig2_{{dataset}}.pdf",
    params:
        settings=settings,
    log:
        log_path("fig2", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fig2.py"


rule fig4:
    """Fig. 4: accuracy vs realised noise level for concentrated, random and flip noise."""
    input:
        tables=lambda wildcards: [
            table for noise in ("concentrated", "random", "flip") for table in train_tables(wildcards.dataset, noise)
        ],
    output:
        f"{RESULTS}/fig4_{{dataset}}.pdf",
    log:
        log_path("fig4", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fig4.py"


def comparison_inputs(noise):
    def inputs(wildcards):
        base = f"{RESULTS}/{wildcards.dataset}"
        files = {
            "tables": train_tables(wildcards.dataset, noise),
            "analytic": f"{base}/analytic/{noise}.csv",
            "fit": f"{base}/analytic/{noise}_fit.csv",
        }
        if noise == "confusion":
            files["confusion"] = f"{base}/noise/confusion_matrix.csv"
        return files

    return inputs


rule fig5:
    """Fig. 5: random noise, experimental vs the analytic K-NN family and the fitted K."""
    input:
        unpack(comparison_inputs("random")),
    output:
        f"{RESULTS}/fig5_{{dataset}}.pdf",
    params:
        noise="random",
    log:
        log_path("fig5", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fig_comparison.py"


rule fig6:
    """Fig. 6: flip noise, experimental vs the analytic K-NN family and the fitted K."""
    input:
        unpack(comparison_inputs("flip")),
    output:
        f"{RESULTS}/fig6_{{dataset}}.pdf",
    params:
        noise="flip",
    log:
        log_path("fig6", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fig_comparison.py"


rule fig7:
    """Fig. 7: confusion-matrix noise: the matrix, experimental, analytic, comparison."""
    input:
        unpack(comparison_inputs("confusion")),
    output:
        f"{RESULTS}/fig7_{{dataset}}.pdf",
    params:
        noise="confusion",
    log:
        log_path("fig7", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/fig_comparison.py"
