rule train_clean:
    """Train the clean-label model whose features and softmax the analysis needs."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
    output:
        model=f"{RESULTS}/{{dataset}}/clean/model.pt",
        table=f"{RESULTS}/{{dataset}}/clean/train.csv",
    log:
        log_path("train_clean", "{dataset}"),
    benchmark:
        bench_path("train_clean", "{dataset}")
    priority: 10  # first: concentrated and instance noise, the K-NN and the analytic curves wait for it
    conda:
        "../envs/labelnoise.yaml"
    threads: lambda wildcards: SETTINGS[wildcards.dataset]["clean_train"]["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda wildcards: training_gpus(wildcards, "clean_train"),
    params:
        settings=settings("train_clean", "clean_model", "clean_train", "protocols"),
        resume=f"{RESULTS}/{{dataset}}/resume/train_clean",  # resume checkpoints of a killed job, removed when it completes
    script:
        "../workflow_scripts/train_clean.py"


rule embed:
    """Penultimate-layer features of the training set (the 256-d embedding)."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        model=f"{RESULTS}/{{dataset}}/clean/model.pt",
    output:
        f"{RESULTS}/{{dataset}}/clean/embeddings.npz",
    log:
        log_path("embed", "{dataset}"),
    benchmark:
        bench_path("embed", "{dataset}")
    priority: 10
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        settings=settings("embed"),
        part="train",
    script:
        "../workflow_scripts/embed.py"


rule softmax_clean:
    """Clean model's softmax on the test set: C(l) of Eq. 6 per test sample."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        model=f"{RESULTS}/{{dataset}}/clean/model.pt",
    output:
        f"{RESULTS}/{{dataset}}/clean/softmax.npz",
    log:
        log_path("softmax_clean", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings("softmax_clean"),
        part="test",
    script:
        "../workflow_scripts/softmax_clean.py"


rule softmax_clean_train:
    """Clean model's softmax on the training set: which samples look like another class (instance noise)."""
    input:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        model=f"{RESULTS}/{{dataset}}/clean/model.pt",
    output:
        f"{RESULTS}/{{dataset}}/clean/train_softmax.npz",
    log:
        log_path("softmax_clean_train", "{dataset}"),
    priority: 10
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        settings=settings("softmax_clean_train"),
        part="train",
    script:
        "../workflow_scripts/softmax_clean.py"


rule kmeans:
    """Per-class k-means in the embedding space (concentrated noise, Section 5)."""
    input:
        unpack(kmeans_inputs),
    output:
        f"{RESULTS}/{{dataset}}/clean/kmeans/{{k}}.npz",
    log:
        log_path("kmeans", "{dataset}/{k}"),
    benchmark:
        bench_path("kmeans", "{dataset}/{k}")
    priority: 10
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        settings=settings("kmeans", "noise.kmeans_n_init"),
    script:
        "../workflow_scripts/kmeans.py"
