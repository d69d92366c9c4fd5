"""The CIFAR-10 figure targets and CIFAR-10N's human labels, built for real from files in the official formats.

The test writes a tiny synthetic CIFAR-10 (32x32 RGB, ten learnable classes)
as the extracted binary version, ``cifar-10-batches-bin/``, the form the README
tells users to point ``data_dir`` at, and runs configs/cifar10_cpu.yaml itself,
shrunk by tests/data/cifar_workflow.yaml, through the same source, rules and
models as the real run (binary-version parsing, All-CNN-C grid model, the
general analytic case, Appendix A), with a tiny CIFAR-10_human.pt written as
CIFAR-10N's is (a torch.save'd dict of label arrays in the official order).
The published MD5s are the one thing swapped: a ``sitecustomize`` on the
workflow's PYTHONPATH patches the expected checksums to the tiny files', in
every Python process the run starts, and in those only. The real data is
measured by hand (docs/reference/cifar10_cpu/); the python tarball runs in the
paper smoke test and tests/test_download.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelnoise.data import load_prepared
from official_formats import cifar_binary_members, checksum_patch_env, spec_of, synthetic_cifar, write_cifar_binary

REPO = Path(__file__).resolve().parent.parent
CONFIGS = [REPO / "configs" / "cifar10_cpu.yaml", REPO / "tests" / "data" / "cifar_workflow.yaml"]
#: The paper's CIFAR-10 figure targets, Fig. 12 (human labels and instance noise) and Fig. 13 (the selection protocols).
TARGETS = ["fig3", "fig4", "fig5", "fig6", "fig8", "fig9", "fig12", "fig13"]
#: Share of the training labels each tiny human label set changes (CIFAR-10N: 9%, 17%, 40%).
HUMAN_NOISE = {"aggre_label": 0.1, "random_label1": 0.2, "worse_label": 0.4}
N_TRAIN_PER_CLASS, N_TEST_PER_CLASS = 60, 30

pytestmark = pytest.mark.slow


def write_human_labels(path: Path, clean: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A CIFAR-10N-style label file: clean_label and one array per HUMAN_NOISE set, a share of labels moved to another class."""
    import torch

    sets = {"clean_label": clean.astype(np.int64)}
    for key, share in HUMAN_NOISE.items():
        labels = clean.astype(np.int64).copy()
        changed = rng.choice(len(clean), size=round(share * len(clean)), replace=False)
        labels[changed] = (labels[changed] + rng.integers(1, 10, size=len(changed))) % 10
        sets[key] = labels
    torch.save(sets, path)
    return sets


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("cifar_workflow")
    rng = np.random.default_rng(0)
    folder = workdir / "data" / "cifar-10-batches-bin"
    train = synthetic_cifar(N_TRAIN_PER_CLASS, rng)
    members = cifar_binary_members(train, synthetic_cifar(N_TEST_PER_CLASS, rng))
    write_cifar_binary(folder, members, archive=False)
    write_human_labels(workdir / "data" / "CIFAR-10_human.pt", train[1], rng)
    env = checksum_patch_env(workdir / "patch", {}, cifar_binary=[folder / name for name in members])
    targets = [f"results/{fig}_cifar10.pdf" for fig in TARGETS]
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", *map(str, CONFIGS),
         "--directory", str(workdir), "--cores", "2", *targets],
        capture_output=True, text=True, timeout=900, env=env,
    )
    assert out.returncode == 0, out.stderr[-5000:]
    return workdir / "results"


def test_every_cifar10_figure_target_is_built(run):
    for fig in TARGETS:
        pdf, png = run / f"{fig}_cifar10.pdf", run / f"{fig}_cifar10.png"
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000, pdf
        assert png.stat().st_size > 5000, png
    assert not list(run.rglob("*.part*")), "temporary files left behind"


def test_the_binary_version_is_parsed_and_split_as_the_paper_does(run):
    data = load_prepared(run / "data" / "cifar10.npz")
    assert data.source == "cifar10" and data.images.shape[1:] == (3, 32, 32) and data.images.dtype == np.uint8
    assert len(data.train_idx) == 10 * N_TRAIN_PER_CLASS  # the official training set
    assert len(data.val_idx) == len(data.test_idx) == 10 * N_TEST_PER_CLASS // 2  # the official test set, halved
    folder = run.parent / "data" / "cifar-10-batches-bin"
    assert data.source_md5 == {path.name: spec_of(path).md5 for path in folder.glob("*.bin")}


def test_all_cnn_c_grid_and_clean_model_learn(run):
    clean = pd.read_csv(run / "cifar10" / "clean" / "train.csv")
    assert clean["test_acc"].iloc[0] > 0.6
    assert clean["epochs_run"].iloc[0] == 5  # the clean net's own training (clean_train), not the grid's 3 epochs
    record = (run / "cifar10" / "clean" / ".model.pt.record.json").read_text()
    assert '"optimizer": "adam"' in record and '"hflip": false' in record and '"max_epochs": 5' in record
    # The figure targets need the random, flip and concentrated levels (Figs. 3, 5, 6), not confusion (Fig. 7).
    tables = sorted((run / "cifar10" / "train").glob("*/*.csv"))
    assert [f"{t.parent.name}/{t.stem}" for t in tables] == [
        "concentrated/5", "flip/0.20", "flip/0.40", "human/aggre", "human/worse",
        "instance/0.20", "random/0.20", "random/0.60"]
    grid = pd.concat([pd.read_csv(t) for t in tables])
    assert grid["test_acc"].between(0, 1).all()
    assert grid.loc[grid["noise"] == "random", "test_acc"].max() > 0.3  # All-CNN-C learns through the noise
    log = (run / "logs" / "train_grid" / "cifar10" / "random" / "0.20.log").read_text()
    assert "epoch" in log


def test_fig13_sets_the_four_protocols_side_by_side_on_cifar10(run):
    curves = pd.read_csv(run / "fig13_cifar10.csv", dtype={"level": str})
    assert set(curves["protocol"]) == {"clean_val", "noisy_val", "label_wave", "final"}
    assert set(curves["noise"]) == {"random", "flip"} and curves["fitted_K"].notna().all()
    flip = pd.read_csv(run / "fig13_flip_cifar10.csv", dtype={"level": str})
    assert sorted(set(flip["level"])) == ["0.20", "0.40"]
    assert (flip["true_label"] + flip["counterpart"] + flip["other"]).round(6).eq(1).all()


def test_general_case_curves_start_below_one(run):
    """Eq. 6 with the clean softmax as C(l): at gamma = 0 the curve is the clean model's K-NN accuracy, not 1."""
    curves = pd.read_csv(run / "cifar10" / "analytic" / "random.csv")
    at_zero = curves[curves["gamma"] == 0]
    assert at_zero["accuracy"].between(0, 1).all() and (at_zero["accuracy"] < 1).any()


def test_appendix_a_on_cifar10(run):
    samples = pd.read_csv(run / "cifar10" / "appendix_a" / "samples.csv")
    assert len(samples) == 10 * N_TEST_PER_CLASS // 2 and samples["chi2"].between(0, 1).all()
    assert set(samples["preferred_K"]) <= {10, 20, 50, 100, 200, 300}
    summary = pd.read_csv(run / "cifar10" / "appendix_a" / "summary.csv")
    assert summary["median_chi2"].iloc[0] == pytest.approx(samples["chi2"].median())


def test_human_labels_are_read_and_set_against_the_class_conditional_theory(run):
    """CIFAR-10N's label sets, read from the .pt file: their realised noise, and Fig. 12's three values for each."""
    data = load_prepared(run / "data" / "cifar10.npz")
    for name, key in (("aggre", "aggre_label"), ("worse", "worse_label")):
        stored = np.load(run / "cifar10" / "noise" / "human" / f"{name}.npz")
        assert (stored["clean_labels"] == data.labels[data.train_idx]).all()
        assert np.mean(stored["noisy_labels"][0] != stored["clean_labels"]) == pytest.approx(HUMAN_NOISE[key], abs=1e-9)
        assert np.allclose(stored["transition"].sum(axis=1), 1.0)  # P(noisy | clean), realised
    table = pd.read_csv(run / "fig12_cifar10.csv", dtype={"level": str})
    human = table[table["noise"] == "human"].set_index("level")
    assert sorted(human.index) == ["aggre", "worse"]
    assert human["realised_gamma_mean"].to_dict() == pytest.approx({"aggre": 0.1, "worse": 0.4}, abs=1e-4)
    for column in ("test_acc_mean", "knn_acc", "analytic_acc"):
        assert human[column].between(0, 1).all(), column
    assert (table.loc[table["noise"] == "instance", "level"] == "0.20").all()
    summary = pd.read_csv(run / "summary_cifar10.csv", dtype={"level": str}) if (run / "summary_cifar10.csv").exists() else None
    assert summary is None or set(summary["noise"]) >= {"human", "instance"}
