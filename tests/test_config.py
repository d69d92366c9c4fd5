"""Configuration: defaults, per-dataset overrides, one-line errors naming the key."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import yaml

from labelnoise.config import (
    ConfigError, analytic_gammas, dataset_settings, format_level, load_config_file, parse_level, validate_config,
)


def test_defaults_fill_an_empty_config():
    config = validate_config({})
    assert config["targets"] == ["mnist"] and config["seeds"] >= 1
    assert set(config["noise"]["levels"]) == {"random", "flip", "confusion", "concentrated"}
    assert config["clean_model"]["fc_dim"] == 256  # the 256-d embedding of the paper


def test_shipped_configs_are_valid():
    config = load_config_file("config.yaml")
    assert config["datasets"]["mnist"]["source"] == "mnist5k"
    paper = load_config_file("configs/paper.yaml")
    assert paper["targets"] == ["mnist", "cifar10"]
    mnist, cifar = dataset_settings(paper, "mnist"), dataset_settings(paper, "cifar10")
    assert (mnist["seeds"], cifar["seeds"]) == (10, 7)  # the paper's seeds per level
    assert mnist["grid_model"] == {"arch": "paper_cnn", "width": 1.0, "fc_dim": 500}  # Section 5 net
    assert cifar["grid_model"]["arch"] == "allcnn_c" and cifar["analytic"]["case"] == "general"
    assert max(mnist["noise"]["levels"]["random"]) == 0.99 and max(mnist["noise"]["levels"]["flip"]) == 0.8
    assert mnist["noise"]["levels"]["concentrated"] == [10, 8, 6, 5, 4, 3, 2]


def test_rule_params_hold_only_what_they_name():
    from labelnoise.config import pick_settings

    view = dataset_settings(validate_config({}), "mnist")
    picked = pick_settings(view, ["train", "noise.flip_shift"])
    assert picked == {"name": "mnist", "seed": 0, "train": view["train"], "noise": {"flip_shift": 1}}


def test_partial_levels_keep_the_other_defaults():
    config = validate_config({"noise": {"levels": {"random": [0.1]}}})
    assert config["noise"]["levels"]["random"] == [0.1]
    assert config["noise"]["levels"]["flip"]  # still the default


def test_dataset_overrides_are_deep_merged():
    config = validate_config({
        "datasets": {"digits": {"source": "digits", "seeds": 1, "train": {"max_epochs": 3}}},
        "targets": ["digits"],
    })
    view = dataset_settings(config, "digits")
    assert view["seeds"] == 1 and view["train"]["max_epochs"] == 3
    assert view["train"]["batch_size"] == config["train"]["batch_size"]
    assert view["source"] == "digits" and view["name"] == "digits"


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"noise": {"levels": {"random": [0.2, 1.5]}}}, "noise.levels.random[1]"),
        ({"noise": {"levels": {"flip": [-0.1]}}}, "noise.levels.flip[0]"),
        ({"noise": {"levels": {"gaussian": [0.2]}}}, "noise.levels"),
        ({"analytic": {"K": [0, 3]}}, "analytic.K[0]"),
        ({"targets": ["svhn"]}, "targets"),
        ({"datasets": {"x": {"source": "svhn"}}, "targets": ["x"]}, "datasets.x.source"),
        ({"trian": {}}, "<top level>"),
        ({"datasets": {"mnist": {"source": "mnist5k", "analytic": {"K": [-1]}}}}, "analytic.K[0]"),
        ({"noise": {"confusion_matrix": [[0.5, 0.6], [0.0, 1.0]]}}, "noise.confusion_matrix"),
        ({"noise": {"levels": {"random": [0.5, 0.5000000000001]}}}, "noise.levels.random"),
        ({"train": {"stack_layout": "tall"}}, "train.stack_layout"),
    ],
)
def test_invalid_values_name_the_key(bad, key):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(bad))
    message = str(err.value)
    assert f"'{key}'" in message and "\n" not in message


def test_level_names_round_trip():
    assert format_level("random", 0.5) == "0.50" and format_level("flip", 0.925) == "0.925"
    assert format_level("concentrated", 5) == "5"
    for noise, value in [("random", 0.45), ("flip", 0.925), ("concentrated", 10)]:
        assert parse_level(noise, format_level(noise, value)) == value


def test_analytic_grid_contains_every_experimental_level():
    view = dataset_settings(validate_config({"noise": {"levels": {"random": [0.333, 0.95]}}}), "mnist")
    grid = analytic_gammas(view, "random")
    assert np.all(np.diff(grid) > 0) and grid[0] == 0.0 and grid[-1] == 1.0
    assert np.isin([0.333, 0.95], grid).all()


def test_cli_prints_the_resolved_config_and_fails_cleanly(tmp_path):
    out = subprocess.run([sys.executable, "-m", "labelnoise.config", "config.yaml"], capture_output=True, text=True)
    assert out.returncode == 0 and yaml.safe_load(out.stdout)["train"]["patience"] >= 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: 0\n")
    out = subprocess.run([sys.executable, "-m", "labelnoise.config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.strip() == "config error: config key 'seeds': 0 is less than the minimum of 1"


def test_train_settings_reach_the_train_config():
    from labelnoise.config import train_config

    view = dataset_settings(validate_config({"train": {"stack_layout": "wide", "batched_seeds": True}}), "mnist")
    config = train_config(view)
    assert (config.stack_layout, config.batched_seeds) == ("wide", True)
    assert train_config(dataset_settings(validate_config({}), "mnist")).stack_layout == "auto"
