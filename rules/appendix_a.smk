# Section 4.1 and Appendix A: the softmax output vs the local label distribution
# in the clean model's feature space (Figs. 3, 8, 9).


rule embed_test:
    """Clean model's penultimate (fc@256, before BN/ReLU) features of the test set (Appendix A)."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        model=f"{RESULTS}/{{dataset}}/clean/model.pt",
    output:
        f"{RESULTS}/{{dataset}}/clean/test_embeddings.npz",
    log:
        log_path("embed_test", "{dataset}"),
    benchmark:
        bench_path("embed_test", "{dataset}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        part="test",
    script:
        "../workflow_scripts/embed.py"


rule appendix_a:
    """Appendix A: chi-square distance of each test softmax to its K-NN label histograms; preferred K."""
    input:
        embeddings=f"{RESULTS}/{{dataset}}/clean/embeddings.npz",
        test_embeddings=f"{RESULTS}/{{dataset}}/clean/test_embeddings.npz",
        softmax=f"{RESULTS}/{{dataset}}/clean/softmax.npz",
        settings=settings_file("appendix_a"),
    output:
        samples=f"{RESULTS}/{{dataset}}/appendix_a/samples.csv",
        summary=f"{RESULTS}/{{dataset}}/appendix_a/summary.csv",
        pairs=f"{RESULTS}/{{dataset}}/appendix_a/histograms.npz",
    log:
        log_path("appendix_a", "{dataset}"),
    benchmark:
        bench_path("appendix_a", "{dataset}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=settings("appendix_a"),
    script:
        "../workflow_scripts/appendix_a.py"


rule fig8:
    """Fig. 8: histogram of the preferred K and of the chi-square distance at it, median marked."""
    input:
        samples=f"{RESULTS}/{{dataset}}/appendix_a/samples.csv",
        summary=f"{RESULTS}/{{dataset}}/appendix_a/summary.csv",
        settings=settings_file("fig8"),
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
        settings=settings("fig8"),
    script:
        "../workflow_scripts/fig8.py"


rule fig9:
    """Fig. 9: softmax (green) vs K-NN histogram at the preferred K (blue) for samples near the median."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        samples=f"{RESULTS}/{{dataset}}/appendix_a/samples.csv",
        pairs=f"{RESULTS}/{{dataset}}/appendix_a/histograms.npz",
        settings=settings_file("fig9"),
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
        settings=settings("fig9"),
    script:
        "../workflow_scripts/fig9.py"


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
        settings=settings("fig3"),
        regions=True,
    script:
        "../workflow_scripts/fig_softmax.py"
