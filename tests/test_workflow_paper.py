"""configs/paper.yaml, run whole: both data sets, every level and figure, on tiny official-format files.

The paper's study needs the real MNIST and CIFAR-10 (not downloadable here)
and a GPU; its configuration and DAG do not. This runs all 304 jobs of
``--configfile configs/paper.yaml`` with tests/data/paper_smoke.yaml on top
(one seed, narrow nets, two epochs) from MNIST IDX files made of
scikit-learn's digits and a synthetic CIFAR-10 tarball, their MD5s patched in
as in tests/test_workflow_cifar.py. It checks that every figure is drawn and
every configured level reaches the summary tables, not the numbers.
"""

from __future__ import annotations

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
FIGURES = [f"fig{i}" for i in range(1, 13)]

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
         "--configfile", str(PAPER), str(SMOKE), "--directory", str(workdir), "--cores", "2"],
        capture_output=True, text=True, timeout=1500, env=env,
    )
    assert out.returncode == 0, out.stderr[-5000:]
    assert "304 of 304 steps (100%) done" in out.stderr
    return workdir / "results"


def test_every_figure_of_both_datasets_is_drawn(run):
    for dataset in ("mnist", "cifar10"):
        for fig in FIGURES:
            pdf = run / f"{fig}_{dataset}.pdf"
            assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000, pdf


def test_every_configured_level_reaches_the_summary(run):
    import yaml

    config = validate_config(yaml.safe_load(PAPER.read_text()))
    for dataset in ("mnist", "cifar10"):
        summary = pd.read_csv(run / f"summary_{dataset}.csv", dtype={"level": str})
        for noise, levels in config["noise"]["levels"].items():
            rows = summary[summary["noise"] == noise]
            expected = {format_level(noise, level) for level in levels}
            assert set(rows["level"]) == expected, (dataset, noise)
        assert summary["cnn_acc_mean"].between(0, 1).all()
