rule prepare_data:
    """Load the dataset's source and split it into train / clean validation / test."""
    input:
        rebuild_stale,
    output:
        f"{RESULTS}/data/{{dataset}}.npz",
    log:
        log_path("prepare_data", "{dataset}"),
    benchmark:
        bench_path("prepare_data", "{dataset}")
    conda:
        "../envs/labelnoise.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=settings("prepare_data", "source", "test_fraction"),
    script:
        "../workflow_scripts/prepare_data.py"
