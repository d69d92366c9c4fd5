"""Records: every result file says what made it, and a file this config would not make as it is is found."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from labelnoise.checkpoint import load_checkpoint, save_checkpoint
from labelnoise.io import NonFiniteResult, ResultFileError, ResultWriteError, load_csv, save_csv, save_npz
from labelnoise.records import record_path, result_files, stale_reason, stale_results, write_records

SETTINGS = {"name": "digits", "seed": 0, "train": {"lr": 0.005, "max_epochs": 7}}


def job(rule, outputs, settings=SETTINGS, **wildcards):
    """A stand-in for the ``snakemake`` object a workflow script receives."""
    wildcards.setdefault("dataset", "digits")
    return SimpleNamespace(rule=rule, output=list(outputs), input=[], params=SimpleNamespace(settings=settings),
                           wildcards=SimpleNamespace(**wildcards, items=lambda: wildcards.items()))


def expecting(settings=SETTINGS):
    return lambda rule, wildcards: settings


@pytest.fixture()
def workdir(tmp_path):
    """Result paths are relative to the working directory, as in a Snakemake job."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def made(path, frame, rule="train_grid", settings=SETTINGS, **wildcards):
    save_csv(path, frame)
    write_records(job(rule, [path], settings, **wildcards))


def test_a_record_names_the_path_rule_wildcards_settings_and_content(workdir):
    made("results/digits/train/random/0.20.csv", pd.DataFrame({"test_acc": [0.5]}), noise="random", level="0.20")
    record = json.loads(record_path("results/digits/train/random/0.20.csv").read_text())
    assert record_path("results/digits/train/random/0.20.csv").name == ".0.20.csv.record.json"
    assert record["path"] == "results/digits/train/random/0.20.csv" and record["rule"] == "train_grid"
    assert record["wildcards"] == {"dataset": "digits", "noise": "random", "level": "0.20"}
    assert record["settings"] == SETTINGS and len(record["sha256"]) == 64
    assert stale_reason(Path("results/digits/train/random/0.20.csv"), expecting()) is None


def test_a_file_made_under_other_settings_names_the_setting(workdir):
    path = "results/digits/train/random/0.20.csv"
    made(path, pd.DataFrame({"test_acc": [0.5]}), settings={**SETTINGS, "train": {"lr": 0.001, "max_epochs": 7}})
    assert stale_reason(Path(path), expecting()) == "it was made with train.lr = 0.001, the config says 0.005"
    assert stale_reason(Path(path), lambda rule, wildcards: None) is None  # a file this config makes no more


def test_a_swapped_table_is_found_by_its_content_whatever_its_modification_time(workdir):
    """``cp -p`` of another level's table onto this one: same settings, older mtime, other rows."""
    made("results/digits/train/random/0.20.csv", pd.DataFrame({"level": ["0.20"]}), noise="random", level="0.20")
    made("results/digits/train/random/0.60.csv", pd.DataFrame({"level": ["0.60"]}), noise="random", level="0.60")
    shutil.copy2("results/digits/train/random/0.60.csv", "results/digits/train/random/0.20.csv")
    assert stale_reason(Path("results/digits/train/random/0.20.csv"), expecting()).startswith(
        "its content changed since it was made")
    shutil.copy2("results/digits/train/random/.0.60.csv.record.json", "results/digits/train/random/.0.20.csv.record.json")
    assert stale_reason(Path("results/digits/train/random/0.20.csv"), expecting()) == (
        "it was written as results/digits/train/random/0.60.csv (a copied or swapped file)")


def test_a_copy_of_the_whole_folder_is_judged_by_content_not_by_time(workdir):
    made("results/digits/noise/random/0.20.csv", pd.DataFrame({"x": [1]}), rule="make_noise")
    shutil.copytree("results", "copy/results")  # new modification times, same bytes
    os.chdir("copy")
    assert stale_results("results", expecting()) == {}


def test_a_file_without_a_record_or_with_a_damaged_one_is_stale(workdir):
    save_npz("results/digits/clean/embeddings.npz", features=np.zeros(3))
    assert stale_reason(Path("results/digits/clean/embeddings.npz"), expecting()).startswith("it has no record")
    record_path("results/digits/clean/embeddings.npz").write_text("{not json")
    assert stale_reason(Path("results/digits/clean/embeddings.npz"), expecting()) == "its record cannot be read"


def test_logs_benchmarks_resume_checkpoints_and_partial_files_are_no_results(workdir):
    for name in ("logs/x/a.log", "benchmarks/x/a.tsv", "digits/resume/train_grid/a.pt", "digits/.a.csv.part.csv",
                 "digits/train/random/0.20.csv"):
        os.makedirs(os.path.dirname(f"results/{name}"), exist_ok=True)
        open(f"results/{name}", "w").close()
    assert [str(path) for path in result_files("results")] == ["results/digits/train/random/0.20.csv"]


def test_non_finite_floats_are_never_written(tmp_path):
    with pytest.raises(NonFiniteResult, match=r"s.npz not written: 'softmax' holds 2 NaN or infinite values"):
        save_npz(tmp_path / "s.npz", softmax=np.array([0.5, np.nan, np.inf]), labels=np.arange(3))
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_round_trips(workdir):
    kwargs = {"arch": "paper_cnn", "width": 0.25, "fc_dim": 16, "n_classes": 10, "in_channels": 1, "image_size": 8}
    from labelnoise.models import build_model

    model = build_model(**kwargs)
    save_checkpoint("m.pt", kwargs, model.state_dict())
    loaded = load_checkpoint("m.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    with open("bad.pt", "w") as handle:
        handle.write("not a checkpoint")
    with pytest.raises(ResultFileError, match=r"^bad.pt is not a checkpoint of this workflow") as caught:
        load_checkpoint("bad.pt")
    assert "weights_only" not in str(caught.value)  # never torch's unsafe advice


def test_an_unreadable_table_and_an_unwritable_folder_are_one_line_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ResultFileError, match=r"empty.csv cannot be read as a table .*--force"):
        load_csv(tmp_path / "empty.csv")
    (tmp_path / "file").write_text("")
    with pytest.raises(ResultWriteError, match=r"cannot write .*file/x.npz: "):
        save_npz(tmp_path / "file" / "x.npz", a=np.zeros(1))


SITECUSTOMIZE = '''
import os, sys
import labelnoise.config as config

def counted(validate):
    def wrapper(*args, **kwargs):
        with open(os.environ["VALIDATIONS_LOG"], "a") as log:
            log.write(f"{os.getpid()} {os.path.basename(sys.argv[0])}\\n")
        return validate(*args, **kwargs)
    return wrapper

config._schema_validate = counted(config._schema_validate)
'''


def test_the_config_is_validated_once_per_run_and_never_inside_a_job(tmp_path):
    """Every schema validation of a run that makes the prepared data and a noise file, counted per process."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "validations.log"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'hook'}{os.pathsep}{repo}", "VALIDATIONS_LOG": str(log)}
    out = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--configfile",
                          str(repo / "tests" / "data" / "digits_workflow.yaml"), "--directory", str(tmp_path),
                          "--cores", "1", "results/digits/noise/random/0.20.npz"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "make_noise" in out.stderr and (tmp_path / "results/digits/noise/random/0.20.npz").is_file()
    calls = log.read_text().splitlines()
    assert len({line.split()[0] for line in calls}) == 1, calls  # one process: Snakemake's, none of the jobs'
    assert len(calls) == 2, calls  # the config, then the one dataset's view


def test_an_unexpected_error_in_a_job_is_one_line_naming_its_inputs_with_the_traceback_in_its_log(tmp_path, capsys):
    import sys

    from labelnoise.runtime import job_logger

    log = tmp_path / "logs" / "fit_k" / "digits" / "random.log"
    snakemake = SimpleNamespace(rule="fit_k", log=[str(log)], input=["results/digits/analytic/random.csv"],
                                wildcards=SimpleNamespace(items=lambda: {"dataset": "digits"}.items()))
    previous = sys.excepthook
    try:
        job_logger(snakemake)
        try:
            raise ValueError("K values must increase")
        except ValueError as error:
            with pytest.raises(SystemExit):
                sys.excepthook(type(error), error, error.__traceback__)
    finally:
        sys.excepthook = previous
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        f"ValueError: K values must increase (unexpected, while reading results/digits/analytic/random.csv; "
        f"traceback in {log})"), lines
    assert "Traceback (most recent call last)" in log.read_text()
