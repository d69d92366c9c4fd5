# Every figure is one rule named after it: fig1 ... fig9 and, past the paper, fig10 ... fig13. Figs. 5, 6 and 7
# share one script (workflow_scripts/fig5_6_7.py), Figs. 2 and 3 another (fig2_fig3.py); the computations behind them
# are in the stage files.


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
        settings=settings("fig1", "figures.embedding"),
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
        settings=settings("fig2", "figures.softmax_examples"),
        regions=False,
    script:
        "../workflow_scripts/fig2_fig3.py"


rule fig3:
    """Fig. 3: softmax outputs of noisy-trained nets, with a clean-region and a concentrated-noise-region sample."""
    input:
        unpack(fig3_inputs),
    output:
        pdf=f"{RESULTS}/fig3_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig3_{{dataset}}.png", "fig3", "Fig. 3"),
    log:
        log_path("fig3", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig3", "figures.softmax_examples", "knn"),
        regions=True,
    script:
        "../workflow_scripts/fig2_fig3.py"


rule fig4:
    """Fig. 4: accuracy vs realised noise level for concentrated, random, flip and (past the paper) instance noise."""
    input:
        tables=lambda wildcards: [
            table for noise in fig4_noises(wildcards.dataset) for table in train_tables(wildcards.dataset, noise)
        ],
        knn=lambda wildcards: [
            f"{RESULTS}/{wildcards.dataset}/knn/{noise}.csv" for noise in fig4_noises(wildcards.dataset)
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
    params:
        settings=settings("fig4", *LEVELS),
    script:
        "../workflow_scripts/fig4.py"


rule fig5:
    """Fig. 5: random noise, experimental vs the analytic K-NN family and the fitted K (Figs. 6 and 7: the same rule)."""
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
        settings=settings("fig5", *LEVELS),
        noise="random",
    script:
        "../workflow_scripts/fig5_6_7.py"


# Fig. 6: flip noise, experimental vs the analytic K-NN family and the fitted K.
use rule fig5 as fig6 with:
    input:
        unpack(comparison_inputs("flip")),
    output:
        pdf=f"{RESULTS}/fig6_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig6_{{dataset}}.png", "fig6", "Fig. 6"),
    log:
        log_path("fig6", "{dataset}"),
    localrule: True
    params:
        settings=settings("fig6", *LEVELS),
        noise="flip",


# Fig. 7: confusion-matrix noise: the matrix, experimental, analytic, comparison.
use rule fig5 as fig7 with:
    input:
        unpack(comparison_inputs("confusion")),
    output:
        pdf=f"{RESULTS}/fig7_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig7_{{dataset}}.png", "fig7", "Fig. 7"),
    log:
        log_path("fig7", "{dataset}"),
    localrule: True
    params:
        settings=settings("fig7", *LEVELS),
        noise="confusion",


rule fig8:
    """Fig. 8: histogram of the preferred K and of the chi-square distance at it, median marked."""
    input:
        samples=f"{RESULTS}/{{dataset}}/appendix_a/samples.csv",
        summary=f"{RESULTS}/{{dataset}}/appendix_a/summary.csv",
    output:
        pdf=f"{RESULTS}/fig8_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig8_{{dataset}}.png", "fig8", "Fig. 8"),
    log:
        log_path("fig8", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig8", "appendix_a"),
    script:
        "../workflow_scripts/fig8.py"


rule fig9:
    """Fig. 9: softmax (green) vs K-NN histogram at the preferred K (blue) for samples near the median."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        samples=f"{RESULTS}/{{dataset}}/appendix_a/samples.csv",
        pairs=f"{RESULTS}/{{dataset}}/appendix_a/histograms.npz",
    output:
        pdf=f"{RESULTS}/fig9_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig9_{{dataset}}.png", "fig9", "Fig. 9"),
    log:
        log_path("fig9", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig9", "appendix_a"),
    script:
        "../workflow_scripts/fig9.py"


rule fig10:
    """Fig. 10 (beyond the paper): CNN vs K-NN agreement per test sample against K, chance, and the effective K."""
    input:
        unpack(fig10_inputs),
    output:
        pdf=f"{RESULTS}/fig10_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig10_{{dataset}}.png", "fig10", "Fig. 10"),
        table=f"{RESULTS}/fig10_{{dataset}}.csv",
    log:
        log_path("fig10", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig10", *LEVELS),
    script:
        "../workflow_scripts/fig10.py"


rule fig11:
    """Fig. 11 (beyond the paper): the fitted K of random noise against the training samples per class."""
    input:
        scaling=f"{RESULTS}/{{dataset}}/scaling.csv",
    output:
        pdf=f"{RESULTS}/fig11_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig11_{{dataset}}.png", "fig11", "Fig. 11"),
        table=f"{RESULTS}/fig11_{{dataset}}.csv",
    log:
        log_path("fig11", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig11"),
    script:
        "../workflow_scripts/fig11.py"


rule fig12:
    """Fig. 12 (beyond the paper): instance-dependent and human-label noise against the class-conditional theory."""
    input:
        unpack(fig12_inputs),
    output:
        pdf=f"{RESULTS}/fig12_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig12_{{dataset}}.png", "fig12", "Fig. 12"),
        table=f"{RESULTS}/fig12_{{dataset}}.csv",
    log:
        log_path("fig12", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig12", *LEVELS),
    script:
        "../workflow_scripts/fig12.py"


rule fig13:
    """Fig. 13 (beyond the paper): random and flip noise under four model-selection protocols; the flip curve's decisions."""
    input:
        unpack(fig13_inputs),
    output:
        pdf=f"{RESULTS}/fig13_{{dataset}}.pdf",
        png=report_figure(f"{RESULTS}/fig13_{{dataset}}.png", "fig13", "Fig. 13"),
        table=f"{RESULTS}/fig13_{{dataset}}.csv",
        flip=f"{RESULTS}/fig13_flip_{{dataset}}.csv",
    log:
        log_path("fig13", "{dataset}"),
    localrule: True
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("fig13", "noise.flip_shift", *LEVELS),
    script:
        "../workflow_scripts/fig13.py"
