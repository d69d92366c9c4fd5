"""The workflow, run for real: the whole DAG on scikit-learn's digits.

Two levels per noise type and one seed (tests/data/digits_workflow.yaml); the
run is shared by the tests of this module.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelnoise.data import load_prepared, nested_subsets
from labelnoise.seeding import rng_for

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "tests" / "data" / "digits_workflow.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", str(CONFIG)]
FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10", "fig11", "fig12", "fig13"]

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        SNAKEMAKE + ["--directory", str(workdir), *args], capture_output=True, text=True, timeout=900
    )


def planned_jobs(workdir: Path, *targets: str) -> dict[str, int]:
    """Rule -> job count of a dry run."""
    out = snakemake(workdir, "--dry-run", "--cores", "2", *targets)
    assert out.returncode == 0, out.stderr + out.stdout
    text = out.stdout + out.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    out = snakemake(workdir, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    return workdir / "results"


def test_every_figure_is_built_as_pdf_and_png(run):
    for fig in FIGURES:
        for suffix in (".pdf", ".png"):
            path = run / f"{fig}_digits{suffix}"
            assert path.stat().st_size > 5000, path
    assert (run / "fig1_digits.pdf").read_bytes().startswith(b"%PDF")
    assert not list(run.rglob("*.part*")), "temporary files left behind"


def test_training_table_has_a_row_per_level_and_seed(run):
    table = pd.read_csv(run / "digits" / "train.csv", dtype={"level": str})
    assert len(table) == 10  # 5 noise types x 2 levels x 1 seed
    assert set(table["noise"]) == {"random", "flip", "confusion", "concentrated", "instance"}
    instance = table[table["noise"] == "instance"]
    assert np.allclose(instance["realised_gamma"], instance["nominal_gamma"], atol=1e-3)  # each to a wrong class
    assert table[["val_acc", "test_acc"]].apply(lambda c: c.between(0, 1)).all().all()
    flip = table[table["noise"] == "flip"].set_index("level")
    # flip noise: every re-drawn label differs, so realised = nominal (up to rounding of gamma*N)
    assert np.allclose(flip["realised_gamma"], flip["nominal_gamma"], atol=1e-3)
    random = table[table["noise"] == "random"].set_index("level")
    assert (random["realised_gamma"] < random["nominal_gamma"]).all()
    summary = pd.read_csv(run / "digits" / "train_summary.csv")
    assert len(summary) == 10 and (summary["n_seeds"] == 1).all()


def test_every_selection_protocol_is_recorded_and_drawn(run):
    """Fig. 13: the four protocols from one trajectory per seed; noisy validation labels where the noise is class-conditional."""
    table = pd.read_csv(run / "digits" / "train.csv", dtype={"level": str})
    assert (table["selection"] == "clean_val").all() and (table["epochs_run"] == 12).all()  # the whole budget
    assert (table["best_step"] == table["clean_val_step"]).all() and (table["test_acc"] == table["clean_val_test_acc"]).all()
    assert (table["final_step"] == table["steps_run"]).all()
    class_conditional = table["noise"].isin(["random", "flip", "confusion"])
    assert table.loc[class_conditional, "noisy_val_test_acc"].notna().all()
    assert table.loc[~class_conditional, "noisy_val_test_acc"].isna().all()
    data = load_prepared(run / "data" / "digits.npz")
    val = data.labels[data.val_idx]
    for level, gamma in (("0.20", 0.2), ("0.40", 0.4)):  # flip noise changes every label it re-draws: exact counts
        noisy_val = np.load(run / "digits" / "noise" / "flip" / f"{level}.npz")["noisy_val_labels"]
        assert noisy_val.shape == (1, len(val)) and (noisy_val != val).sum() == round(gamma * len(val))
    curves = pd.read_csv(run / "fig13_digits.csv", dtype={"level": str})
    assert set(curves["noise"]) == {"random", "flip"}
    assert set(curves["protocol"]) == {"clean_val", "noisy_val", "label_wave", "final"}
    assert curves["fitted_K"].isin([1, 5, 11]).all()
    flip = pd.read_csv(run / "fig13_flip_digits.csv", dtype={"level": str})
    assert len(flip) == 2 * 4 and np.allclose(flip[["true_label", "counterpart", "other"]].sum(axis=1), 1)
    summary = pd.read_csv(run / "summary_digits.csv", dtype={"level": str})
    random = summary[(summary["noise"] == "random") & (summary["train_fraction"] == 1.0)]
    assert random["label_wave_fitted_K"].notna().all() and random["noisy_val_acc_mean"].notna().all()


def test_clean_model_learns_digits(run):
    clean = pd.read_csv(run / "digits" / "clean" / "train.csv")
    assert clean["test_acc"].iloc[0] > 0.9


def test_analytic_curves_and_fit(run):
    for noise in ("random", "flip", "confusion"):
        curves = pd.read_csv(run / "digits" / "analytic" / f"{noise}.csv")
        assert set(curves["K"]) == {1, 5, 11} and curves["accuracy"].between(0, 1).all()
        at_zero = curves[curves["gamma"] == 0]
        assert np.allclose(at_zero["accuracy"], 1.0)  # simplified case: no noise, no error
        fit = pd.read_csv(run / "digits" / "analytic" / f"{noise}_fit.csv")
        assert fit["best"].sum() == 1 and fit.loc[fit["best"], "rmse"].iloc[0] == fit["rmse"].min()


def test_knn_baseline_tables(run):
    for noise in ("random", "flip", "confusion", "concentrated"):
        table = pd.read_csv(run / "digits" / "knn" / f"{noise}.csv", dtype={"level": str})
        assert len(table) == 2  # 2 levels x 1 seed
        assert (table["K"] == 11).all() and table["accuracy"].between(0, 1).all()
        assert (table["realised_gamma"] > 0).all()  # every configured level is noisy
    random = pd.read_csv(run / "digits" / "knn" / "random.csv").sort_values("nominal_gamma")
    assert random["accuracy"].iloc[0] > 0.85  # 20% random noise barely hurts an 11-NN vote (Eq. 3)
    assert random["accuracy"].iloc[0] >= random["accuracy"].iloc[1]


def test_appendix_a_outputs(run):
    samples = pd.read_csv(run / "digits" / "appendix_a" / "samples.csv")
    test_size = len(np.load(run / "digits" / "clean" / "test_embeddings.npz")["labels"])
    assert len(samples) == test_size and samples["chi2"].between(0, 1).all()
    assert set(samples["preferred_K"]) <= {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 150, 200, 250, 300}
    summary = pd.read_csv(run / "digits" / "appendix_a" / "summary.csv")
    assert summary["paper_median_chi2"].iloc[0] == 0.143123
    assert summary["median_chi2"].iloc[0] == pytest.approx(samples["chi2"].median(), rel=1e-5)  # both rounded to 6 digits
    features = np.load(run / "digits" / "clean" / "test_embeddings.npz")["features"]
    assert features.shape == (test_size, 256)  # the fc@256 features of the test samples


def test_agreement_tables_and_fig10(run):
    """CNN vs K-NN per test sample: every level, seed and K; the CNN side agrees with the training tables."""
    k_grid = [1, 3, 5, 11, 21, 51]
    train = pd.read_csv(run / "digits" / "train.csv", dtype={"level": str})
    for noise in ("random", "flip", "confusion", "concentrated"):
        table = pd.read_csv(run / "digits" / "agreement" / f"{noise}.csv", dtype={"level": str})
        assert len(table) == 2 * len(k_grid) and sorted(set(table["K"])) == k_grid  # 2 levels x 1 seed x K
        for column in ("agreement", "chance_agreement", "knn_accuracy", "cnn_accuracy"):
            assert table[column].between(0, 1).all(), column
        cnn = table.groupby("level")["cnn_accuracy"].first()
        measured = train[train["noise"] == noise].set_index("level")["test_acc"]
        assert np.allclose(cnn.sort_index(), measured.sort_index(), atol=1e-4)  # the same nets, the same test half
    fig10 = pd.read_csv(run / "fig10_digits.csv", dtype={"level": str})
    assert len(fig10) == 10 and set(fig10["effective_K"]) <= set(k_grid)
    class_conditional = fig10["noise"].isin(["random", "flip", "confusion"])
    assert fig10.loc[~class_conditional, "fitted_K"].isna().all()  # no analytic curve of their own (Eq. 6)
    assert fig10.loc[class_conditional, "fitted_K"].notna().all()


def test_scaling_table_and_fig11(run):
    """Fig. 11: the random grid on half the training set beside the full grid, whose own tables it reuses."""
    scaling = pd.read_csv(run / "fig11_digits.csv", dtype={"level": str})
    assert scaling["train_fraction"].tolist() == [0.5, 1.0] and (scaling["level"] == "0.60").all()
    full = len(np.load(run / "digits" / "noise" / "random" / "0.60.npz")["clean_labels"])
    assert scaling["n_train"].iloc[1] == full and abs(scaling["n_train"].iloc[0] - full / 2) <= 10  # stratified halves
    train = pd.read_csv(run / "digits" / "train.csv", dtype={"level": str})
    at_level = train[(train["noise"] == "random") & (train["level"] == "0.60")]["test_acc"].mean()
    assert scaling["cnn_acc_mean"].iloc[1] == pytest.approx(at_level, abs=1e-4)
    data = load_prepared(run / "data" / "digits.npz")
    subsets = nested_subsets(data.labels[data.train_idx], [0.5, 1.0], rng_for(0, "digits", "scaling"))
    for level in ("0.20", "0.60"):
        table = pd.read_csv(run / "digits" / "scaling" / "0.5" / "random" / f"{level}.csv")
        noise = np.load(run / "digits" / "noise" / "random" / f"{level}.npz")
        half = subsets[0.5]
        # the subset trained on the full set's noisy labels of its samples: its realised noise is theirs
        expected = np.mean(noise["noisy_labels"][0][half] != noise["clean_labels"][half])
        assert len(table) == 1 and table["realised_gamma"].iloc[0] == pytest.approx(expected, abs=1e-6)
    summary = pd.read_csv(run / "summary_digits.csv", dtype={"level": str})
    assert summary.loc[summary["train_fraction"] < 1, "level"].tolist() == ["0.60"]


def test_every_rule_logged(run):
    for rule in ("prepare_data", "train_clean", "embed", "kmeans", "make_noise", "train_grid", "analytic", "fit_k", "fig1",
                 "embed_test", "appendix_a", "knn_baseline", "fig3", "fig8", "fig9", "knn_agreement", "train_subset",
                 "data_scaling", "fig10", "fig11"):
        logs = list((run / "logs" / rule).rglob("*.log"))
        assert logs and all(log.stat().st_size > 0 for log in logs), rule
    grid_log = (run / "logs" / "train_grid" / "digits" / "random" / "0.20.log").read_text()
    assert "epoch" in grid_log  # progress per epoch


def test_deleting_one_level_reruns_only_that_level_and_downstream(run):
    workdir = run.parent
    assert planned_jobs(workdir) == {}  # the run is complete
    (run / "digits" / "train" / "random" / "0.60.csv").unlink()
    jobs = planned_jobs(workdir)
    assert jobs.pop("train_grid") == 1
    assert set(jobs) <= {"collect_grid", "fit_k", "fig2", "fig3", "fig4", "fig5", "summary", "all",
                         "knn_agreement", "fig10", "data_scaling", "fig11", "fig12", "fig13"}, jobs
    assert {"fig4", "fig5", "fit_k"} <= set(jobs)
    out = snakemake(workdir, "--cores", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    assert (run / "digits" / "train" / "random" / "0.60.csv").exists()
    assert planned_jobs(workdir) == {}


def test_a_copied_results_folder_follows_the_config_it_is_given(run, tmp_path):
    """No .snakemake/, a level removed and a setting changed: every collected table, the summary and the landing
    page follow the new config (Snakemake alone would keep the removed level's rows)."""
    shutil.copytree(run, tmp_path / "results", symlinks=True)
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("noise: {levels: {random: [0.2]}}\nscaling: {level: 0.2}\nknn: {K: 7}\n"
                       "figures: {softmax_examples: {random_level: 0.2}}\n")
    out = snakemake(tmp_path, "--cores", "2", "--configfile", str(CONFIG), str(overlay))
    assert out.returncode == 0, out.stderr[-3000:]
    results = tmp_path / "results"
    for table in ("digits/train.csv", "digits/train_summary.csv", "summary_digits.csv", "fig10_digits.csv",
                  "fig13_digits.csv", "digits/knn/random.csv", "digits/agreement/random.csv"):
        frame = pd.read_csv(results / table, dtype={"level": str})
        rows = frame[(frame["noise"] == "random") & frame["level"].isin(["0.60", "0.6"])]
        assert rows.empty, (table, rows)
    assert "K = 7" in (results / "run_description.rst").read_text()
    assert planned_jobs(tmp_path, "--configfile", str(CONFIG), str(overlay)) == {}


def test_levels_shared_with_another_run_have_identical_tables_and_arrays(run, small_digits_run):
    """Determinism, and a level's results are its own: the session's small digits run (one level per noise type,
    tests/slurm/digits_small.yaml) trained each level it shares with this run (two per type) in other processes, beside
    other levels; every table (timing aside) and every array of those levels, and of the clean net, is identical."""
    from slurm.workflow import result_tables

    small, full = small_digits_run / "digits", run / "digits"
    per_level = [path for pattern in ("train/*/*.csv", "train/*/*.npz", "noise/*/*.npz", "scaling/*/*/*.csv", "clean/*.csv",
                                      "clean/*.npz") for path in small.glob(pattern)]
    assert len(per_level) == 21  # 5 levels' tables, softmax and noise; a half-set table; the clean table and 4 arrays
    tables, full_tables = result_tables(small), result_tables(full)
    for path in per_level:
        name = str(path.relative_to(small))
        if path.suffix == ".csv":
            assert tables[name].equals(full_tables[name]), name
        else:
            with np.load(path) as one, np.load(full / name) as other:
                assert one.files == other.files and all(np.array_equal(one[k], other[k]) for k in one.files), name


def test_single_figure_target_builds_only_what_it_needs(tmp_path):
    jobs = planned_jobs(tmp_path, "results/fig6_digits.pdf")
    # flip noise needs no k-means; the clean model only for the K-NN baseline's features
    assert jobs["train_grid"] == 2 and "kmeans" not in jobs and "analytic" in jobs
    assert jobs["knn_baseline"] == 1 and jobs["train_clean"] == 1 and "appendix_a" not in jobs
    assert "fig5" not in jobs and "fig6" in jobs


@pytest.mark.parametrize(
    "override, key",
    [
        ("seeds=0", "'seeds'"),
        ("targets=[svhn]", "'targets'"),
        ("analytic={'K':[0]}", "'analytic.K[0]'"),
        ("noise={'levels':{'gaussian':[0.2]}}", "'noise.levels'"),
        ("knn={'K':0}", "'knn.K'"),
        ("appendix_a={'n_examples':0}", "'appendix_a.n_examples'"),
        ("train={'device':'mps'}", "'train.device'"),  # a device of any kind this machine lacks
        ("train={'device':'cuda:3'}", "'train.device'"),
        ("clean_train={'device':'xpu'}", "'clean_train.device'"),
    ],
)
def test_invalid_config_stops_before_any_job(tmp_path, override, key):
    out = snakemake(tmp_path, "--cores", "1", "--config", override)
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.startswith("Config error")]
    assert len(errors) == 1 and key in errors[0], out.stderr
    assert not (tmp_path / "results").exists()
