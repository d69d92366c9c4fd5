rule fig1:
    """Fig. 1: deep features in 2-D coloured by noisy label, 20% random vs 20% concentrated."""
    input:
        unpack(fig1_inputs),
    output:
        pdf=f"{RESULTS}/fig1_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig1_{{dataset}}.png", "fig1", "Fig. 1"),
    log:
        log_path("fig1", "{dataset}"),
    benchmark:
        bench_path("fig1", "{dataset}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        settings=settings("fig1"),
    script:
        "../workflow_scripts/fig1.py"


rule fig2:
    """Fig. 2: softmax outputs of noisy-trained nets on chosen test samples."""
    input:
        unpack(fig2_inputs),
    output:
        pdf=f"{RESULTS}/fig2_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig2_{{dataset}}.png", "fig2", "Fig. 2"),
    log:
        log_path("fig2", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig2"),
        regions=False,
    script:
        "../workflow_scripts/fig_softmax.py"


rule fig4:
    """Fig. 4: accuracy vs realised noise level for concentrated, random and flip noise."""
    input:
        tables=lambda wildcards: [
            table for noise in ("concentrated", "random", "flip") for table in train_tables(wildcards.dataset, noise)
        ],
        knn=lambda wildcards: [
            f"{RESULTS}/{wildcards.dataset}/knn/{noise}.csv" for noise in ("concentrated", "random", "flip")
        ],
    output:
        pdf=f"{RESULTS}/fig4_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig4_{{dataset}}.png", "fig4", "Fig. 4"),
    log:
        log_path("fig4", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/fig4.py"


rule fig5:
    """Fig. 5: random noise, experimental vs the analytic K-NN family and the fitted K."""
    input:
        unpack(comparison_inputs("random")),
    output:
        pdf=f"{RESULTS}/fig5_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig5_{{dataset}}.png", "fig5", "Fig. 5"),
    log:
        log_path("fig5", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        noise="random",
    script:
        "../workflow_scripts/fig_comparison.py"


rule fig6:
    """Fig. 6: flip noise, experimental vs the analytic K-NN family and the fitted K."""
    input:
        unpack(comparison_inputs("flip")),
    output:
        pdf=f"{RESULTS}/fig6_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig6_{{dataset}}.png", "fig6", "Fig. 6"),
    log:
        log_path("fig6", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        noise="flip",
    script:
        "../workflow_scripts/fig_comparison.py"


rule fig7:
    """Fig. 7: confusion-matrix noise: the matrix, experimental, analytic, comparison."""
    input:
        unpack(comparison_inputs("confusion")),
    output:
        pdf=f"{RESULTS}/fig7_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig7_{{dataset}}.png", "fig7", "Fig. 7"),
    log:
        log_path("fig7", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        noise="confusion",
    script:
        "../workflow_scripts/fig_comparison.py"
