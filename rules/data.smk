rule prepare_data:
    """Load the dataset's source and split it into train / clean validation / test."""
    output:
        f"{RESULTS}/data/{{dataset}}.npz",
    params:
        settings=settings,
    log:
        log_path("prepare_data", "{dataset}"),
    conda:
        "../envs/labelnoise.yaml"
    script:
        "../workflow_scripts/prepare_data.py"
