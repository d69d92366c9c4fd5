# The measured K-NN classifier baseline (Section 4.1), drawn in Figs. 4-7.


rule knn_baseline:
    """Accuracy of K-NN on the clean features with the noisy labels of every level and seed of one noise type."""
    input:
        embeddings=f"{RESULTS}/{{dataset}}/clean/embeddings.npz",
        test_embeddings=f"{RESULTS}/{{dataset}}/clean/test_embeddings.npz",
        noise=lambda wildcards: level_files(wildcards, "noise", ".npz"),
    output:
        f"{RESULTS}/{{dataset}}/knn/{{noise}}.csv",
    log:
        log_path("knn_baseline", "{dataset}/{noise}"),
    benchmark:
        bench_path("knn_baseline", "{dataset}/{noise}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        settings=settings("knn_baseline", "knn", *LEVELS),
    script:
        "../workflow_scripts/knn_baseline.py"
