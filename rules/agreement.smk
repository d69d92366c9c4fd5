# Beyond the paper (Fig. 10): does the CNN make its mistakes on the same test
# samples as a K-NN that votes with the noisy labels in the clean feature space?


rule knn_agreement:
    """CNN vs K-NN per test sample for every level, seed and K of one noise type, with the agreement expected by chance."""
    input:
        embeddings=f"{RESULTS}/{{dataset}}/clean/embeddings.npz",
        test_embeddings=f"{RESULTS}/{{dataset}}/clean/test_embeddings.npz",
        noise=lambda wildcards: level_files(wildcards, "noise", ".npz"),
        softmax=lambda wildcards: level_files(wildcards, "train", ".softmax.npz"),
    output:
        f"{RESULTS}/{{dataset}}/agreement/{{noise}}.csv",
    log:
        log_path("knn_agreement", "{dataset}/{noise}"),
    benchmark:
        bench_path("knn_agreement", "{dataset}/{noise}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        settings=settings("knn_agreement", "agreement", "knn.tie", *LEVELS),
    script:
        "../workflow_scripts/knn_agreement.py"
