# Section 4.1 and Appendix A: the softmax output vs the local label distribution
# in the clean model's feature space; the figures drawn from it (Figs. 3, 8, 9) are in figures.smk.


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
        settings=settings("embed_test"),
        part="test",
    script:
        "../workflow_scripts/embed.py"


rule appendix_a:
    """Appendix A: chi-square distance of each test softmax to its K-NN label histograms; preferred K."""
    input:
        embeddings=f"{RESULTS}/{{dataset}}/clean/embeddings.npz",
        test_embeddings=f"{RESULTS}/{{dataset}}/clean/test_embeddings.npz",
        softmax=f"{RESULTS}/{{dataset}}/clean/softmax.npz",
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
        settings=settings("appendix_a", "appendix_a"),
    script:
        "../workflow_scripts/appendix_a.py"
