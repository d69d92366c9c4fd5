"""Provenance records: every .npz / model.pt says what made it, and a consumer refuses a stale or swapped one."""

from __future__ import annotations

import copy
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from labelnoise.checkpoint import load_checkpoint, save_checkpoint
from labelnoise.config import rule_settings, validate_config, dataset_settings
from labelnoise.io import NonFiniteResult, ResultFileError, ResultWriteError, load_csv, save_npz
from labelnoise.provenance import check_inputs, check_record, read_record

CONFIG = validate_config({"datasets": {"digits": {"source": "digits", "test_fraction": 0.3}}, "targets": ["digits"]})


def job(rule, config=CONFIG, inputs=(), **wildcards):
    """A stand-in for the ``snakemake`` object a workflow script receives."""
    wildcards.setdefault("dataset", "digits")
    return SimpleNamespace(rule=rule, input=list(inputs), config=config,
                           wildcards=SimpleNamespace(**wildcards, items=lambda: wildcards.items()))


@pytest.fixture()
def workdir(tmp_path):
    """Result paths are relative to the working directory, as in a Snakemake job."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def test_a_record_names_the_rule_wildcards_settings_and_inputs(workdir):
    save_npz("results/digits/noise/random/0.20.npz", check_inputs(job("make_noise", noise="random", level="0.20")),
             noisy_labels=np.zeros((2, 3), int))
    record = read_record("results/digits/noise/random/0.20.npz")
    assert record["path"] == "results/digits/noise/random/0.20.npz" and record["rule"] == "make_noise"
    assert record["wildcards"] == {"dataset": "digits", "noise": "random", "level": "0.20"}
    assert record["settings"] == rule_settings(dataset_settings(CONFIG, "digits"), "make_noise")
    consumer = check_inputs(job("train_grid", inputs=["results/digits/noise/random/0.20.npz", "settings.json"],
                                noise="random", level="0.20"))
    assert list(consumer["inputs"]) == ["results/digits/noise/random/0.20.npz"]
    assert consumer["inputs"]["results/digits/noise/random/0.20.npz"]["rule"] == "make_noise"


def test_a_swapped_file_is_refused_naming_both_paths(workdir):
    save_npz("results/digits/noise/random/0.60.npz", check_inputs(job("make_noise", noise="random", level="0.60")),
             noisy_labels=np.zeros((2, 3), int))
    os.replace("results/digits/noise/random/0.60.npz", "results/digits/noise/random/0.20.npz")
    with pytest.raises(ResultFileError, match=r"^results/digits/noise/random/0.20.npz was written as "
                                              r"results/digits/noise/random/0.60.npz \(a copied or swapped file\); "
                                              r"rebuild it with `snakemake --cores all --force "):
        check_inputs(job("train_grid", inputs=["results/digits/noise/random/0.20.npz"], noise="random", level="0.20"))


def test_a_file_made_under_other_settings_is_refused_naming_the_setting(workdir):
    """A clean model of another fc_dim, and a file made from one (the nested record)."""
    other = copy.deepcopy(CONFIG)
    other["clean_model"]["fc_dim"] = 32
    model_path = "results/digits/clean/model.pt"
    save_checkpoint(model_path, {"arch": "paper_cnn", "width": 0.25, "fc_dim": 32, "n_classes": 10,
                                 "in_channels": 1, "image_size": 8}, {}, check_inputs(job("train_clean", config=other)))
    expected = r"results/digits/clean/model.pt was made with clean_model.fc_dim = 32, but the config says 256; rebuild"
    with pytest.raises(ResultFileError, match=expected):
        check_inputs(job("embed", inputs=[model_path]))
    check_inputs(job("embed", config=other, inputs=[model_path]))  # the config it was made under accepts it
    save_npz("results/digits/clean/embeddings.npz", check_inputs(job("embed", config=other, inputs=[model_path])),
             features=np.zeros((3, 32), np.float32))
    with pytest.raises(ResultFileError, match=r"embeddings.npz was made from results/digits/clean/model.pt with "
                                              r"clean_model.fc_dim = 32, but the config says 256"):
        check_inputs(job("kmeans", inputs=["results/digits/clean/embeddings.npz"], k="5"))


def test_files_without_a_record_or_damaged_ones_are_named_with_the_rebuild_command(workdir):
    np.savez("old.npz", features=np.zeros(3))
    with pytest.raises(ResultFileError, match=r"^old.npz has no provenance record .*--force old.npz"):
        read_record("old.npz")
    open("empty.npz", "wb").close()
    with pytest.raises(ResultFileError, match=r"^empty.npz cannot be read .*--force empty.npz"):
        read_record("empty.npz")
    with open("model.pt", "w") as handle:
        handle.write("not a checkpoint")
    with pytest.raises(ResultFileError, match=r"^model.pt is not a checkpoint of this workflow") as caught:
        read_record("model.pt")
    assert "weights_only" not in str(caught.value)  # never torch's unsafe advice
    assert read_record("table.csv") is None  # tables carry their coordinates as columns instead


def test_a_record_of_a_dataset_the_config_lacks_is_refused(workdir):
    config = validate_config({"datasets": {"mnist": {"source": "mnist5k"}}, "targets": ["mnist"]})
    record = {"path": "x.npz", "rule": "embed", "wildcards": {}, "settings": {"name": "digits", "seed": 0}, "inputs": {}}
    with pytest.raises(ResultFileError, match="dataset 'digits', which this config does not define"):
        check_record(record, "x.npz", config)


def test_non_finite_floats_are_never_written(tmp_path):
    with pytest.raises(NonFiniteResult, match=r"s.npz not written: 'softmax' holds 2 NaN or infinite values"):
        save_npz(tmp_path / "s.npz", softmax=np.array([0.5, np.nan, np.inf]), labels=np.arange(3))
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_round_trips_with_its_record(workdir):
    kwargs = {"arch": "paper_cnn", "width": 0.25, "fc_dim": 16, "n_classes": 10, "in_channels": 1, "image_size": 8}
    from labelnoise.models import build_model

    model = build_model(**kwargs)
    save_checkpoint("m.pt", kwargs, model.state_dict(), {"rule": "train_clean", "wildcards": {}, "settings": {}, "inputs": {}})
    loaded = load_checkpoint("m.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert read_record("m.pt")["path"] == "m.pt"


def test_an_unreadable_table_and_an_unwritable_folder_are_one_line_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ResultFileError, match=r"empty.csv cannot be read as a table .*--force"):
        load_csv(tmp_path / "empty.csv")
    (tmp_path / "file").write_text("")
    with pytest.raises(ResultWriteError, match=r"cannot write .*file/x.npz: "):
        save_npz(tmp_path / "file" / "x.npz", a=np.zeros(1))


def test_a_training_table_copied_to_another_level_is_refused(tmp_path):
    from labelnoise.tables import TABLE_COLUMNS, load_train_tables

    row = {column: 0 for column in TABLE_COLUMNS} | {"dataset": "digits", "noise": "random", "level": "0.60"}
    folder = tmp_path / "digits" / "train" / "random"
    folder.mkdir(parents=True)
    pd.DataFrame([row]).to_csv(folder / "0.60.csv", index=False)
    assert load_train_tables([folder / "0.60.csv"])["level"].tolist() == ["0.60"]
    pd.DataFrame([row]).to_csv(folder / "0.20.csv", index=False)
    with pytest.raises(ResultFileError, match=r"0.20.csv holds the rows of \[\('digits', 'random', '0.60'\)\], "
                                              r"not of \('digits', 'random', '0.20'\); rebuild it"):
        load_train_tables([folder / "0.20.csv"])
    pd.DataFrame([{"level": "0.20"}]).to_csv(folder / "0.20.csv", index=False)
    with pytest.raises(ResultFileError, match=r"0.20.csv lacks the columns \['dataset'"):
        load_train_tables([folder / "0.20.csv"])
