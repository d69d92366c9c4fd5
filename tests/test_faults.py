"""Faults: a killed training job, corrupted prepared data, non-determinism, unwritable results, config typos."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from labelnoise.data import DataError, load_prepared

from slurm.workflow import CONFIGS, SNAKEMAKE, snakemake, table_differences

pytestmark = pytest.mark.slow

TABLE = "results/digits/train/random/0.20.csv"


def test_killed_training_job_leaves_nothing_complete_and_a_rerun_resumes_it(small_digits_run, tmp_path):
    log = tmp_path / "results" / "logs" / "train_grid" / "digits" / "random" / "0.20.log"
    proc = subprocess.Popen(
        SNAKEMAKE + ["--directory", str(tmp_path), "--cores", "2", TABLE],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (log.exists() and "epoch 1/" in log.read_text()):
            assert proc.poll() is None, "snakemake ended before the training job logged an epoch"
            assert time.monotonic() < deadline, "no epoch line in the training log"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # snakemake and the training script it runs
        proc.wait()
    table = tmp_path / TABLE
    assert not table.exists() and not table.with_suffix(".softmax.npz").exists()
    # Snakemake plans the job again (nothing it would take as complete is there) ...
    dry = snakemake(tmp_path, "--dry-run", "--cores", "2", TABLE)
    assert dry.returncode == 0 and "train_grid" in dry.stdout, dry.stdout + dry.stderr
    # ... and, once the lock the killed Snakemake left is released, the rerun finishes it
    assert snakemake(tmp_path, "--unlock").returncode == 0
    resume = tmp_path / "results" / "digits" / "resume" / "train_grid" / "random" / "0.20"
    assert list(resume.iterdir())  # the checkpoint written at the killed job's last evaluation
    rerun = snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", TABLE)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert table.exists() and not list(table.parent.glob(".*.part*"))
    assert "resuming from results/digits/resume/train_grid/random/0.20/seed0.pt: epoch " in log.read_text()
    assert not resume.exists()  # removed once the results were saved
    # the resumed job's numbers are those of the run that was never killed
    assert table_differences(small_digits_run, tmp_path / "results", subset=True) == []


def test_corrupted_prepared_data_is_rebuilt_before_any_job_reads_it(small_digits_run, tmp_path):
    """One label changed inside the prepared data (its own checksum kept): the record's SHA-256 finds it."""
    workdir = copy_run(small_digits_run, tmp_path)
    prepared = workdir / "results" / "data" / "digits.npz"
    with np.load(prepared, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays["labels"] = arrays["labels"].copy()
    arrays["labels"][0] = (arrays["labels"][0] + 1) % 10
    np.savez_compressed(prepared, **arrays)
    with pytest.raises(DataError, match="checksum"):  # what a job reading it would say
        load_prepared(prepared)
    planned = snakemake(workdir, "--cores", "2", "--dry-run")
    assert re.search(r"^prepare_data\s+1$", planned.stdout, re.M), planned.stdout[-3000:]
    assert re.search(r"^train_grid\s+5$", planned.stdout, re.M)  # and everything made from it
    out = snakemake(workdir, "--cores", "2", "--", "results/digits/noise/random/0.20.npz")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "results/data/digits.npz: its content changed since it was made" in out.stderr
    load_prepared(prepared)  # intact again


def one_line_errors(stderr: str, prefix: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(prefix)]


def test_results_path_that_is_a_file_gives_one_line_error(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    out = snakemake(tmp_path, "--cores", "2")
    errors = one_line_errors(out.stderr, "Results error")
    assert out.returncode != 0 and len(errors) == 1, out.stderr
    assert str(tmp_path / "results") in errors[0] and "not a directory" in errors[0]


def in_private_mounts(mounts: str, args: list[str], workdir) -> subprocess.CompletedProcess:
    """Run Snakemake after ``mounts`` (shell commands) in a private mount namespace; skip where mounting fails."""
    import shlex

    command = " ".join(map(shlex.quote, SNAKEMAKE + ["--directory", str(workdir), *args]))
    out = subprocess.run(["unshare", "--mount", "bash", "-c", f"{{ {mounts}; }} || exit 99; exec {command}"],
                         capture_output=True, text=True, timeout=600)
    if out.returncode == 99:
        pytest.skip(f"no private mount in this sandbox: {out.stderr.strip()}")
    return out


needs_mounts = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                  reason="needs root and unshare for a private mount")


@needs_mounts
@pytest.mark.parametrize("folder", ["results", "results/digits/knn"])
def test_read_only_results_folder_gives_one_line_error(tmp_path, folder):
    """Root ignores permission bits, so the folder is a read-only tmpfs in a private mount namespace."""
    (tmp_path / folder).mkdir(parents=True)
    out = in_private_mounts(f"mount -t tmpfs -o ro,size=1m tmpfs {tmp_path / folder}", ["--cores", "2", "--dry-run"], tmp_path)
    errors = one_line_errors(out.stderr, "Results error")
    assert out.returncode != 0 and len(errors) == 1, out.stdout + out.stderr
    assert f"{tmp_path / folder} is not writable" in errors[0]


def test_a_folder_removed_by_another_job_during_the_check_is_no_problem(tmp_path, monkeypatch):
    """A folder the walk listed and another process then removed is not an unwritable one.

    Cluster jobs re-read the Snakefile; before they skipped its check, one found a resume folder removed by a
    train_subset job, called it "not writable" and failed at random.
    """
    from labelnoise import runtime

    (tmp_path / "results" / "digits").mkdir(parents=True)
    walk = os.walk
    monkeypatch.setattr(os, "walk", lambda top: [*walk(top), (str(tmp_path / "results" / "gone"), [], [])])
    assert runtime.results_dir_problem(tmp_path / "results") is None


@needs_mounts
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(small_digits_run, tmp_path):
    workdir = copy_run(small_digits_run, tmp_path)
    knn = workdir / "results" / "digits" / "knn"
    out = in_private_mounts(f"mount -t tmpfs -o size=8k tmpfs {knn} && dd if=/dev/zero of={knn}/fill bs=1k count=8",
                            ["--cores", "2", "--force", "results/digits/knn/random.csv"], workdir)
    assert out.returncode != 0
    log = (workdir / "results" / "logs" / "knn_baseline" / "digits" / "random.log").read_text()
    assert log.splitlines()[-1].endswith("ResultWriteError: cannot write results/digits/knn/random.csv: No space left on device"), log
    assert "Traceback" not in log


def test_misspelt_top_level_config_key_gives_one_line_error(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("seedz: 3\n")
    out = subprocess.run(
        SNAKEMAKE + [str(typo), "--directory", str(tmp_path), "--cores", "2", "--dry-run"],
        capture_output=True, text=True, timeout=300,
    )
    errors = one_line_errors(out.stderr, "Config error")
    assert out.returncode != 0 and len(errors) == 1 and "seedz" in errors[0], out.stderr
    assert not (tmp_path / "results").exists()


def copy_run(run_results, tmp_path):
    """A copy of the shared small run's working directory (results and .snakemake metadata)."""
    shutil.copytree(run_results.parent, tmp_path / "run", symlinks=True)
    return tmp_path / "run"


def overlay(tmp_path, text: str):
    """A config file layered over the small digits configuration."""
    path = tmp_path / "overlay.yaml"
    path.write_text(text)
    return str(path)


def test_a_diverging_training_job_fails_in_one_line_and_leaves_nothing(tmp_path):
    out = snakemake(tmp_path, "--cores", "2", "--configfile", *map(str, CONFIGS), overlay(tmp_path, "train: {lr: 100000}\n"),
                    "--", "results/digits/clean/model.pt")
    log = (tmp_path / "results" / "logs" / "train_clean" / "digits.log").read_text()
    assert out.returncode != 0 and "TrainingDiverged: seed 1 of 1" in log.splitlines()[-1] and "lower train.lr" in log, log
    assert "Traceback" not in log and not (tmp_path / "results" / "digits" / "clean").exists()


def test_a_clean_model_of_another_fc_dim_is_rebuilt_before_anything_is_made_from_it(small_digits_run, tmp_path):
    """A model.pt made under other settings, copied in with its record and without Snakemake's metadata."""
    workdir = copy_run(small_digits_run, tmp_path)
    other = overlay(tmp_path, "clean_model: {arch: paper_cnn, width: 0.5, fc_dim: 32}\n")
    made = snakemake(tmp_path / "other", "--cores", "2", "--configfile", *map(str, CONFIGS), other, "--", "results/digits/clean/model.pt")
    assert made.returncode == 0, made.stderr[-3000:]
    for name in ("model.pt", ".model.pt.record.json"):
        shutil.copy2(tmp_path / "other" / "results" / "digits" / "clean" / name, workdir / "results" / "digits" / "clean")
    shutil.rmtree(workdir / ".snakemake")
    out = snakemake(workdir, "--cores", "2", "results/digits/clean/embeddings.npz")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "it was made with clean_model.fc_dim = 32, the config says 256" in out.stderr, out.stderr[-3000:]
    assert np.load(workdir / "results" / "digits" / "clean" / "embeddings.npz")["features"].shape[1] == 256


def test_a_config_change_reruns_what_it_shapes_without_snakemake_metadata(small_digits_run, tmp_path):
    shutil.copytree(small_digits_run, tmp_path / "results", symlinks=True)  # results only, no .snakemake/
    same = snakemake(tmp_path, "--cores", "2", "--dry-run")
    assert same.returncode == 0 and "Nothing to be done" in same.stdout + same.stderr, same.stdout[-3000:]
    changed = snakemake(tmp_path, "--cores", "2", "--dry-run", "--configfile", *map(str, CONFIGS),
                        overlay(tmp_path, "knn: {K: 7}\n"))
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", changed.stdout, re.M))
    assert changed.returncode == 0 and planned.get("knn_baseline") == "5" and "train_grid" not in planned, changed.stdout[-3000:]


def tree_digest(folder) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` with its bytes and modification time: what a dry run must leave as it is."""
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_dry_run_and_a_refused_run_write_nothing_and_explicit_defaults_rerun_nothing(small_digits_run, tmp_path):
    workdir = copy_run(small_digits_run, tmp_path)
    before = tree_digest(workdir / "results")
    defaults = overlay(tmp_path, "train: {lr_schedule: constant, optimizer: sgd, lr: 0.005, momentum: 0.9, weight_decay: 0.001}\n"
                                 "noise: {kmeans_n_init: 4, flip_shift: 1, human: {file: null}}\n"
                                 "analytic: {tie: strict, case: simplified}\n")
    same = snakemake(workdir, "--cores", "2", "--dry-run", "--configfile", *map(str, CONFIGS), defaults)
    assert same.returncode == 0 and "Nothing to be done" in same.stdout + same.stderr, same.stdout[-3000:]
    changed = snakemake(workdir, "--cores", "2", "--dry-run", "--configfile", *map(str, CONFIGS),
                        overlay(tmp_path, "train: {lr: 0.004}\n"))
    assert changed.returncode == 0 and "train_grid" in changed.stdout, changed.stdout[-3000:]
    refused = snakemake(workdir, "--cores", "2", "--configfile", *map(str, CONFIGS), overlay(tmp_path, "knn: {K: 0}\n"))
    assert refused.returncode != 0 and one_line_errors(refused.stderr, "Config error"), refused.stderr[-3000:]
    assert tree_digest(workdir / "results") == before


SWAPS = {  # a table of each kind, replaced (cp -p: an older modification time) by another table of its kind
    "results/digits/train/random/0.20.csv": "results/digits/train/flip/0.40.csv",
    "results/digits/scaling/0.5/random/0.20.csv": "results/digits/train/random/0.20.csv",  # the full set's rows
    "results/digits/agreement/random.csv": "results/digits/agreement/flip.csv",
    "results/digits/knn/random.csv": "results/digits/knn/flip.csv",
    "results/digits/analytic/random.csv": "results/digits/analytic/flip.csv",
    "results/digits/analytic/instance_realised.csv": "results/digits/analytic/random.csv",
    "results/digits/noise/confusion_matrix.csv": "results/digits/analytic/flip_fit.csv",
}


def test_a_swapped_table_of_any_kind_is_rebuilt_and_no_wrong_file_is_left(small_digits_run, tmp_path):
    workdir = copy_run(small_digits_run, tmp_path)
    for target, source in SWAPS.items():
        shutil.copy2(small_digits_run.parent / source, workdir / target)
    shutil.rmtree(workdir / ".snakemake")
    planned = snakemake(workdir, "--cores", "2", "--dry-run")
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", planned.stdout, re.M))
    for rule in ("train_grid", "train_subset", "knn_agreement", "knn_baseline", "analytic", "analytic_realised",
                 "confusion_matrix", "summary", "fig11"):
        assert rule in jobs, (rule, planned.stdout[-3000:])
    out = snakemake(workdir, "--cores", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    assert table_differences(small_digits_run, workdir / "results") == []


def test_a_target_for_an_unconfigured_level_is_refused_listing_the_configured_ones(tmp_path):
    out = snakemake(tmp_path, "--cores", "2", "--dry-run", "results/digits/train/random/0.2.csv")
    errors = one_line_errors(out.stderr, "Target error")
    assert out.returncode != 0 and errors == [
        "Target error: random level 0.2 of dataset 'digits' is not configured (noise.levels.random); configured: 0.20"
    ], out.stderr[-3000:]
    assert not (tmp_path / "results").exists()


def test_a_malformed_config_file_is_named_with_its_line(tmp_path):
    (tmp_path / "config.yaml").write_text("seed: 0\ntargets: [digits\nseeds: 1\n")
    out = snakemake(tmp_path, "--cores", "2", "--dry-run")
    errors = one_line_errors(out.stderr, "Config error")
    assert out.returncode != 0 and len(errors) == 1, out.stderr[-3000:]
    assert errors[0].startswith("Config error: config file config.yaml is not valid YAML: ") and "line 3, column" in errors[0]


@pytest.mark.parametrize("problem", ["length", "range", "clean", "pickle"])
def test_a_bad_human_label_file_fails_in_one_line_and_leaves_nothing(prepared_digits, tmp_path, problem):
    """A label file of the wrong length, with a label out of range, disagreeing with the clean labels, or a pickle
    that would run code: one line naming the file, no noise file, and the code never runs."""
    import torch

    shutil.copytree(prepared_digits / "results", tmp_path / "results")
    data = load_prepared(tmp_path / "results" / "data" / "digits.npz")
    clean = data.labels[data.train_idx].astype(np.int64)
    labels, marker = clean.copy(), tmp_path / "pwned"
    content = {"clean_label": clean, "aggre_label": labels}
    if problem == "length":
        content["aggre_label"] = labels[:-3]
    elif problem == "range":
        labels[5] = 10
    elif problem == "clean":
        content["clean_label"] = (clean + 1) % 10
    elif problem == "pickle":
        content["aggre_label"] = _RunsCode(str(marker))
    torch.save(content, tmp_path / "human.pt")
    text = f"noise: {{human: {{file: {tmp_path / 'human.pt'}, sets: {{aggre: aggre_label}}}}}}\n"
    out = snakemake(tmp_path, "--cores", "2", "--configfile", *map(str, CONFIGS), overlay(tmp_path, text),
                    "--", "results/digits/noise/human/aggre.npz")
    log = (tmp_path / "results" / "logs" / "human_noise" / "digits" / "aggre.log").read_text()
    assert out.returncode != 0 and "Traceback" not in log, log
    assert log.splitlines()[-1].split(" ", 4)[-1].startswith("DataError: ") and "human.pt" in log.splitlines()[-1], log
    assert not (tmp_path / "results" / "digits" / "noise" / "human" / "aggre.npz").exists() and not marker.exists()


def test_a_label_file_replaced_by_one_with_an_older_modification_time_reruns_its_noise(prepared_digits, tmp_path):
    """``cp -p``, ``rsync -a``, ``tar x``: a replaced label file keeps an old mtime; its content decides, also without
    .snakemake (the noise file's record carries the label file's MD5)."""
    import torch

    shutil.copytree(prepared_digits / "results", tmp_path / "results")
    data = load_prepared(tmp_path / "results" / "data" / "digits.npz")
    clean = data.labels[data.train_idx].astype(np.int64)
    first, second = clean.copy(), clean.copy()
    second[:50] = (second[:50] + 1) % 10  # another label set
    path = tmp_path / "human.pt"
    torch.save({"clean_label": clean, "aggre_label": first}, path)
    text = f"noise: {{human: {{file: {path}, sets: {{aggre: aggre_label}}}}}}\n"
    args = ["--configfile", *map(str, CONFIGS), overlay(tmp_path, text), "--", "results/digits/noise/human/aggre.npz"]
    assert snakemake(tmp_path, "--cores", "2", *args).returncode == 0
    made = np.load(tmp_path / "results" / "digits" / "noise" / "human" / "aggre.npz")["noisy_labels"]
    assert np.array_equal(made[0], first)
    old = path.stat()
    torch.save({"clean_label": clean, "aggre_label": second}, path)
    os.utime(path, ns=(old.st_atime_ns - 10**12, old.st_mtime_ns - 10**12))  # older than the noise file
    shutil.rmtree(tmp_path / ".snakemake")
    assert snakemake(tmp_path, "--cores", "2", *args).returncode == 0
    remade = np.load(tmp_path / "results" / "digits" / "noise" / "human" / "aggre.npz")["noisy_labels"]
    assert np.array_equal(remade[0], second)


class _RunsCode:
    """Pickles to a call of os.system: loading it without a safe unpickler would create ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def prepared_digits(tmp_path_factory):
    """A folder whose results/ holds the prepared digits of the small configuration (made once for the module)."""
    workdir = tmp_path_factory.mktemp("prepared_digits")
    out = snakemake(workdir, "--cores", "2", "--configfile", *map(str, CONFIGS), "--", "results/data/digits.npz")
    assert out.returncode == 0, out.stderr[-2000:]
    return workdir
