"""configs/paper.yaml, whole: both data sets, every level planned, every rule and figure run on tiny official-format files.

The paper's study needs the real MNIST and CIFAR-10 and a GPU; its
configuration and DAG do not. A dry run of ``--configfile configs/paper.yaml``
with tests/data/paper_smoke.yaml on top plans every configured level of both
data sets into the training grid and the summary; the run itself adds
tests/data/paper_smoke_levels.yaml (six levels per data set, at most two per
noise type: the same rules, figures and files) and runs every job with one
seed, narrow nets and two epochs, from MNIST IDX files made of scikit-learn's
digits and a synthetic CIFAR-10 tarball, their MD5s patched in as in
tests/test_workflow_cifar.py. It checks that every figure is drawn and every
level run reaches the summary tables, not the numbers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelnoise.config import format_level, validate_config
from official_formats import MNIST_NAMES, checksum_patch_env, digits_as_mnist, synthetic_cifar, write_cifar_tarball, write_mnist_files

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "configs" / "paper.yaml"
SMOKE = REPO / "tests" / "data" / "paper_smoke.yaml"
LEVELS = REPO / "tests" / "data" / "paper_smoke_levels.yaml"
FIGURES = [f"fig{i}" for i in range(1, 14)]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("paper_smoke")
    data = workdir / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    write_mnist_files(data, *digits_as_mnist(rng, n_train=1200, n_test=300))
    write_cifar_tarball(data / "cifar-10-python.tar.gz", synthetic_cifar(60, rng), synthetic_cifar(30, rng))
    env = checksum_patch_env(workdir / "patch", {
        "mnist": [data / name for name in MNIST_NAMES], "cifar10": [data / "cifar-10-python.tar.gz"]})
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--configfile", str(PAPER), str(SMOKE), str(LEVELS), "--directory", str(workdir), "--cores", "2"],
        capture_output=True, text=True, timeout=1500, env=env,
    )
    assert out.returncode == 0, out.stderr[-5000:]
    assert re.search(r"(\d+) of \1 steps \(100%\) done", out.stderr)
    return workdir / "results"


def test_the_whole_paper_config_plans_every_level_of_both_data_sets(tmp_path):
    """A dry run of the paper's configuration: a training job per configured level, every figure, the summary."""
    import yaml

    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", str(PAPER),
         str(SMOKE), "--directory", str(tmp_path), "--dry-run", "--cores", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    planned = re.findall(r"rule train_grid:.*?wildcards: dataset=(\w+), noise=(\w+), level=([\w.]+)", out.stdout, re.S)
    config = validate_config(yaml.safe_load(PAPER.read_text()))
    expected = {(dataset, noise, format_level(noise, level)) for dataset in ("mnist", "cifar10")
                for noise, levels in config["noise"]["levels"].items() for level in levels}
    assert set(planned) == expected and len(planned) == len(expected)
    for dataset in ("mnist", "cifar10"):
        for fig in FIGURES:
            assert f"results/{fig}_{dataset}.pdf" in out.stdout
        assert f"results/summary_{dataset}.csv" in out.stdout


def test_every_figure_of_both_datasets_is_drawn(run):
    for dataset in ("mnist", "cifar10"):
        for fig in FIGURES:
            pdf = run / f"{fig}_{dataset}.pdf"
            assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000, pdf


def test_every_level_run_reaches_the_summary(run):
    import yaml

    config = validate_config(yaml.safe_load(PAPER.read_text()) | yaml.safe_load(LEVELS.read_text()))  # its noise and figures
    for dataset in ("mnist", "cifar10"):
        summary = pd.read_csv(run / f"summary_{dataset}.csv", dtype={"level": str})
        for noise, levels in config["noise"]["levels"].items():
            rows = summary[summary["noise"] == noise]
            expected = {format_level(noise, level) for level in levels}
            assert set(rows["level"]) == expected, (dataset, noise)
        assert summary["cnn_acc_mean"].between(0, 1).all()
