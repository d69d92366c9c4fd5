"""Trust that chains: a result is current only with the very inputs it was made from.

A folder copied together with its records from a run that differed only upstream of it (another batch size, another
split, another human label file) is rebuilt, and every table ends equal to an untouched run's; a record that is a
folder is a missing record; a noise file of another split is named by the first job that reads it. The untouched
run is the session's small digits run (tests/conftest.py); each donor run differs from it in one setting.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from slurm.workflow import snakemake, table_differences

pytestmark = pytest.mark.slow

DIGITS = "results/digits"


def _copy(run: Path, destination: Path) -> Path:
    """A copy of a run's working folder (its results/, without Snakemake's metadata); returns the copy."""
    shutil.copytree(run, destination / "results", symlinks=True)
    return destination


def _run(workdir: Path, *targets: str, config: tuple[str, ...] = ()) -> str:
    out = snakemake(workdir, "--cores", "2", *(("--config", *config) if config else ()), "--", *targets)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stderr


def _graft(donor: Path, target: Path, *folders_or_files: str) -> None:
    """Copy files or folders of the donor's results, each with its records, over the target's (cp -a)."""
    for name in folders_or_files:
        source, destination = donor / "results" / name, target / "results" / name
        if source.is_dir():
            shutil.rmtree(destination, ignore_errors=True)
            shutil.copytree(source, destination)
        else:
            for path in (source, source.parent / f".{source.name}.record.json"):
                shutil.copy2(path, destination.parent / path.name)


def _tables_equal_the_untouched_run(run: Path, workdir: Path) -> None:
    assert table_differences(run, workdir / "results", subset=True) == []


@pytest.fixture(scope="module")
def batch_64(small_digits_run, tmp_path_factory) -> Path:
    """The small digits run with another train.batch_size (the clean net trains with it too)."""
    workdir = _copy(small_digits_run, tmp_path_factory.mktemp("batch_64"))
    _run(workdir, f"{DIGITS}/agreement/random.csv", f"{DIGITS}/train.csv", config=("train={batch_size: 64}",))
    return workdir


@pytest.fixture(scope="module")
def other_split(small_digits_run, tmp_path_factory) -> Path:
    """The small digits run's random level on another split (test_fraction 0.4)."""
    workdir = _copy(small_digits_run, tmp_path_factory.mktemp("other_split"))
    _run(workdir, f"{DIGITS}/train/random/0.20.csv", config=("datasets={digits: {source: digits, test_fraction: 0.4}}",))
    return workdir


def test_agreement_tables_of_a_run_with_another_batch_size_are_rebuilt(small_digits_run, batch_64, tmp_path):
    workdir = _copy(small_digits_run, tmp_path)
    _graft(batch_64, workdir, "digits/agreement")
    log = _run(workdir, f"{DIGITS}/agreement/random.csv", "results/fig10_digits.pdf")
    assert "Records:" in log and "(copied from another run, or remade)" in log
    _tables_equal_the_untouched_run(small_digits_run, workdir)


def test_collected_training_tables_of_a_run_with_another_batch_size_are_rebuilt(small_digits_run, batch_64, tmp_path):
    workdir = _copy(small_digits_run, tmp_path)
    _graft(batch_64, workdir, "digits/train.csv", "digits/train_summary.csv")
    _run(workdir, "results/summary_digits.csv")
    _tables_equal_the_untouched_run(small_digits_run, workdir)


def test_training_and_noise_folders_of_another_split_are_rebuilt_without_a_shape_error(small_digits_run, other_split,
                                                                                       tmp_path):
    workdir = _copy(small_digits_run, tmp_path)
    _graft(other_split, workdir, "digits/train/random", "digits/noise/random")
    _run(workdir, f"{DIGITS}/train/random/0.20.csv", f"{DIGITS}/knn/random.csv", f"{DIGITS}/agreement/random.csv")
    _tables_equal_the_untouched_run(small_digits_run, workdir)
    _graft(other_split, workdir, "digits/train/random")  # the training tables alone: made from another data file
    _run(workdir, f"{DIGITS}/train/random/0.20.csv")
    record = json.loads((workdir / DIGITS / "train" / "random" / ".0.20.csv.record.json").read_text())
    data = json.loads((workdir / "results" / "data" / ".digits.npz.record.json").read_text())
    assert record["inputs"]["results/data/digits.npz"] == data["sha256"]  # remade from this run's data
    _tables_equal_the_untouched_run(small_digits_run, workdir)


def test_a_noise_file_of_another_split_is_named_by_the_first_job_that_reads_it(small_digits_run, other_split, tmp_path):
    from labelnoise.io import ResultFileError
    from labelnoise.noise import load_noise_file

    path = other_split / "results" / "digits" / "noise" / "random" / "0.20.npz"
    n_train = len(np.load(small_digits_run / "data" / "digits.npz")["train_idx"])
    with pytest.raises(ResultFileError, match=rf"holds labels of \d+ training samples, but the training set has {n_train}"):
        load_noise_file(path, n_train)


def test_human_label_tables_made_with_another_label_file_are_rebuilt(small_digits_run, tmp_path):
    labels = np.load(small_digits_run / "data" / "digits.npz")
    clean = labels["labels"][labels["train_idx"]]
    files = {}
    for name, share in (("h1", 0.1), ("h2", 0.4)):
        rng = np.random.default_rng(int(10 * share))
        noisy = np.where(rng.random(len(clean)) < share, rng.integers(0, 10, len(clean)), clean)
        files[name] = tmp_path / f"{name}.pt"
        torch.save({"aggre_label": noisy, "clean_label": clean}, files[name])
    target = f"{DIGITS}/train/human/aggre.csv"
    runs = {}
    for name in files:
        runs[name] = _copy(small_digits_run, tmp_path / name)
        _run(runs[name], target, config=(f"noise={{human: {{file: {files[name]}, sets: {{aggre: aggre_label}}}}}}",))
    untouched = (runs["h1"] / target).read_text()
    assert untouched != (runs["h2"] / target).read_text()
    _graft(runs["h2"], runs["h1"], "digits/train/human")
    log = _run(runs["h1"], target, config=(f"noise={{human: {{file: {files['h1']}, sets: {{aggre: aggre_label}}}}}}",))
    assert "Records:" in log, log[-3000:]
    table, reference = (runs["h1"] / target).read_text().splitlines(), untouched.splitlines()
    wall = reference[0].split(",").index("wall_s")
    assert [row.split(",")[:wall] for row in table] == [row.split(",")[:wall] for row in reference]


def test_a_record_that_is_a_folder_is_a_missing_record(small_digits_run, tmp_path):
    workdir = _copy(small_digits_run, tmp_path)
    record = workdir / "results" / "digits" / "knn" / ".random.csv.record.json"
    record.unlink()
    record.mkdir()
    log = _run(workdir, f"{DIGITS}/knn/random.csv")
    assert "its record cannot be read" in log or "Records:" in log
    assert record.is_file() and json.loads(record.read_text())["rule"] == "knn_baseline"
    _tables_equal_the_untouched_run(small_digits_run, workdir)
