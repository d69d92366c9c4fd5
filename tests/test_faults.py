"""Faults: a killed training job, corrupted prepared data, non-determinism, unwritable results, config typos."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from slurm.workflow import SNAKEMAKE, snakemake, table_differences

pytestmark = pytest.mark.slow

TABLE = "results/digits/train/random/0.20.csv"


def test_killed_training_job_leaves_nothing_complete_and_a_rerun_finishes_it(tmp_path):
    log = tmp_path / "results" / "logs" / "train_grid" / "digits" / "random" / "0.20.log"
    proc = subprocess.Popen(
        SNAKEMAKE + ["--directory", str(tmp_path), "--cores", "1", TABLE],
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
    dry = snakemake(tmp_path, "--dry-run", "--cores", "1", TABLE)
    assert dry.returncode == 0 and "train_grid" in dry.stdout, dry.stdout + dry.stderr
    # ... and, once the lock the killed Snakemake left is released, the rerun finishes it
    assert snakemake(tmp_path, "--unlock").returncode == 0
    rerun = snakemake(tmp_path, "--cores", "1", "--rerun-incomplete", TABLE)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert table.exists() and not list(table.parent.glob(".*.part*"))


def test_corrupted_prepared_data_is_detected_by_checksum(small_digits_run, tmp_path):
    shutil.copytree(small_digits_run.parent, tmp_path / "run", symlinks=True)
    workdir = tmp_path / "run"
    prepared = workdir / "results" / "data" / "digits.npz"
    with np.load(prepared, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays["labels"] = arrays["labels"].copy()
    arrays["labels"][0] = (arrays["labels"][0] + 1) % 10  # one label silently changed, old checksum kept
    np.savez_compressed(prepared, **arrays)
    out = snakemake(workdir, "--cores", "1", "--forcerun", "make_noise", "--", "results/digits/noise/random/0.20.npz")
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if "DataError:" in line]
    assert errors and all("checksum" in line for line in errors), out.stderr[-3000:]
    assert "Traceback" not in (workdir / "results" / "logs" / "make_noise" / "digits" / "random" / "0.20.log").read_text()


def test_two_cpu_runs_with_the_same_seed_give_identical_tables(small_digits_run, tmp_path):
    out = snakemake(tmp_path, "--cores", "2", "results/summary_digits.csv")  # every table, no figures
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(list((tmp_path / "results").rglob("*.csv"))) > 15
    assert table_differences(small_digits_run, tmp_path / "results", subset=True) == []


def one_line_errors(stderr: str, prefix: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(prefix)]


def test_results_path_that_is_a_file_gives_one_line_error(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    out = snakemake(tmp_path, "--cores", "1")
    errors = one_line_errors(out.stderr, "Results error")
    assert out.returncode != 0 and len(errors) == 1, out.stderr
    assert str(tmp_path / "results") in errors[0] and "not a directory" in errors[0]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private mount")
def test_read_only_results_folder_gives_one_line_error(tmp_path):
    """Root ignores permission bits, so `results` is a read-only tmpfs in a private mount namespace."""
    import shlex

    (tmp_path / "results").mkdir()
    command = " ".join(map(shlex.quote, SNAKEMAKE + ["--directory", str(tmp_path), "--cores", "1", "--dry-run"]))
    out = subprocess.run(
        ["unshare", "--mount", "bash", "-c",
         f"mount -t tmpfs -o ro,size=1m tmpfs {shlex.quote(str(tmp_path / 'results'))} || exit 99; exec {command}"],
        capture_output=True, text=True, timeout=300,
    )
    if out.returncode == 99:
        pytest.skip(f"no read-only mount in this sandbox: {out.stderr.strip()}")
    errors = one_line_errors(out.stderr, "Results error")
    assert out.returncode != 0 and len(errors) == 1, out.stdout + out.stderr
    assert str(tmp_path / "results") in errors[0] and "not writable" in errors[0]


def test_misspelt_top_level_config_key_gives_one_line_error(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("seedz: 3\n")
    out = subprocess.run(
        SNAKEMAKE + [str(typo), "--directory", str(tmp_path), "--cores", "1", "--dry-run"],
        capture_output=True, text=True, timeout=300,
    )
    errors = one_line_errors(out.stderr, "Config error")
    assert out.returncode != 0 and len(errors) == 1 and "seedz" in errors[0], out.stderr
    assert not (tmp_path / "results").exists()
