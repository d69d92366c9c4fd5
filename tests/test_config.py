"""Configuration: defaults, per-dataset overrides, one-line errors naming the key."""

import copy
import re
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
    assert set(config["noise"]["levels"]) == {"random", "flip", "confusion", "concentrated", "instance"}
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
    config = validate_config({"noise": {"levels": {"random": [0.2, 0.6]}}})
    assert config["noise"]["levels"]["random"] == [0.2, 0.6]
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
        # values that used to fail only inside a job, after minutes of work
        ({"noise": {"levels": {"random": []}}}, "noise.levels.random"),
        ({"noise": {"levels": {"concentrated": []}}}, "noise.levels.concentrated"),
        ({"analytic": {"gamma_step": 1e-7}}, "analytic.gamma_step"),
        ({"datasets": {"mnist": {"source": "mnist5k", "test_fraction": 0.001}}}, "datasets.mnist.test_fraction"),
        ({"knn": {"K": 4001}}, "knn.K"),
        ({"appendix_a": {"K": [10, 5000]}}, "appendix_a.K"),
        ({"noise": {"levels": {"concentrated": [5, 401]}}}, "noise.levels.concentrated"),
        ({"figures": {"embedding": {"random_level": 0.3}}}, "figures.embedding.random_level"),
        ({"figures": {"softmax_examples": {"concentrated_level": 7}}}, "figures.softmax_examples.concentrated_level"),
        ({"scaling": {"level": 0.55}}, "scaling.level"),
        ({"scaling": {"fractions": [0.5, 0.25, 1.0]}}, "scaling.fractions"),
        ({"scaling": {"fractions": [0.0, 1.0]}}, "scaling.fractions[0]"),
        ({"agreement": {"K": [5, 3]}}, "agreement.K"),
        ({"agreement": {"K": [1, 4001]}}, "agreement.K"),
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
    view = dataset_settings(validate_config({"noise": {"levels": {"random": [0.2, 0.333, 0.6, 0.95]}}}), "mnist")
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
    from labelnoise.training import TrainConfig

    view = dataset_settings(validate_config({"train": {"stack_layout": "wide", "batched_seeds": True}}), "mnist")
    config = TrainConfig.from_settings(view)
    assert (config.stack_layout, config.batched_seeds) == ("wide", True)
    assert TrainConfig.from_settings(dataset_settings(validate_config({}), "mnist")).stack_layout == "auto"


def test_sizes_are_checked_against_the_data_before_any_job_runs():
    """mnist5k at test_fraction 0.2: 400 training samples per class, 4,000 in all; each bound holds exactly."""
    only_mnist = {"datasets": {"mnist": {"source": "mnist5k", "test_fraction": 0.2}}, "targets": ["mnist"]}
    fits = {"knn": {"K": 4000}, "appendix_a": {"K": [4000]}, "noise": {"levels": {"concentrated": [5, 400]}}}
    validate_config({**only_mnist, **fits})
    with pytest.raises(ConfigError, match=r"'knn.K' \(dataset 'mnist'\): K = 4001 exceeds the 4000 training samples"):
        validate_config({**only_mnist, "knn": {"K": 4001}})
    with pytest.raises(ConfigError, match=r"k = \[401\] exceeds the 400 training samples of the smallest class"):
        validate_config({**only_mnist, "noise": {"levels": {"concentrated": [5, 401]}}})
    with pytest.raises(ConfigError, match=r"test_fraction': 0.002 leaves a class without test samples"):
        validate_config({"datasets": {"mnist": {"source": "mnist5k", "test_fraction": 0.002}}, "targets": ["mnist"]})


@pytest.mark.parametrize("source", ["digits", "mnist5k"])
def test_the_class_counts_the_config_checks_are_those_of_the_data(source):
    from labelnoise.data import SOURCES, prepare_dataset, split_class_counts

    data = prepare_dataset(source, 0.3, np.random.default_rng(0))
    assert np.bincount(data.labels).tolist() == list(SOURCES[source].class_counts[0])
    for part, counts in split_class_counts(source, 0.3).items():
        assert np.bincount(data.part(part)[1]).tolist() == counts.tolist(), part


def test_numbers_written_with_an_exponent_are_numbers():
    """YAML 1.1 (PyYAML, Snakemake) reads 1e-3 as text; the README writes 'lr 1e-3'."""
    config = validate_config(yaml.safe_load("train: {lr: 1e-3, weight_decay: 5E-4}\nanalytic: {gamma_step: 2.5e-2}\n"))
    assert config["train"]["lr"] == 0.001 and config["train"]["weight_decay"] == 0.0005
    assert config["analytic"]["gamma_step"] == 0.025
    with pytest.raises(ConfigError, match="'train.lr'"):
        validate_config({"train": {"lr": "fast"}})


def test_a_malformed_yaml_file_is_named_with_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 0\ntrain: {lr: 0.1\nseeds: 2\n")
    out = subprocess.run([sys.executable, "-m", "labelnoise.config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(f"config error: config file {bad} is not valid YAML: ") and "line 3, column 6" in out.stderr
    out = subprocess.run([sys.executable, "-m", "labelnoise.config", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.strip().endswith("missing.yaml: No such file or directory")


def test_human_label_sets_are_read_only_where_a_file_is_given():
    from labelnoise.config import noise_levels

    sets = {"aggre": "aggre_label"}
    without_file = dataset_settings(validate_config({"noise": {"human": {"sets": sets}}}), "mnist")
    assert "human" not in noise_levels(without_file)  # a config may name the sets and leave the file to the user
    with_file = dataset_settings(validate_config({"noise": {"human": {"file": "labels.pt", "sets": sets}}}), "mnist")
    assert noise_levels(with_file)["human"] == ["aggre"]
    with pytest.raises(ConfigError, match=r"'noise.human.sets'.*needs the label sets"):
        validate_config({"noise": {"human": {"file": "labels.pt"}}})


def test_the_cifar10_cpu_config_is_the_papers_cifar10_study():
    view = dataset_settings(load_config_file("configs/cifar10_cpu.yaml"), "cifar10")
    assert view["source"] == "cifar10" and view["seeds"] >= 2
    assert view["clean_model"] == {"arch": "paper_cnn", "width": 1.0, "fc_dim": 256}  # Appendix A's net, full width
    assert view["grid_model"]["arch"].startswith("allcnn_c") and view["analytic"]["case"] == "general"
    assert view["appendix_a"]["K"][0] == 10 and view["appendix_a"]["K"][-1] == 300  # K from 10 to 300, as the paper
    assert set(view["noise"]["human"]["sets"].values()) == {"aggre_label", "worse_label"}  # CIFAR-10N's ends, 9% and 40%
    clean = view["clean_train"]  # Appendix A's net as the paper trained it: clean labels, Adam, no augmentation
    assert (clean["optimizer"], clean["lr_schedule"], clean["hflip"], clean["translate"]) == ("adam", "constant", False, 0)
    assert clean["selection"] == "clean_val" and clean["max_epochs"] > view["train"]["max_epochs"]


def test_the_reported_selection_is_one_every_noise_type_has():
    assert dataset_settings(validate_config({"train": {"selection": "label_wave"}}), "mnist")["train"]["selection"] == "label_wave"
    with pytest.raises(ConfigError, match=r"'train.selection'"):
        validate_config({"train": {"selection": "noisy_val"}})  # measured for class-conditional noise only (Fig. 13)


def test_a_default_written_out_gives_the_same_rule_params_in_the_same_order():
    """Snakemake's params trigger compares the params as written: a default given explicitly must rerun nothing."""
    import json

    from labelnoise.config import pick_settings

    implicit = dataset_settings(validate_config({}), "mnist")
    explicit = dataset_settings(validate_config({"train": {"lr": 0.005, "batch_size": 64}, "seeds": 2}), "mnist")
    for keys in (["seeds", "grid_model", "train"], ["clean_model", "clean_train"], ["seeds", "noise.flip_shift"],
                 ["analytic", "noise.flip_shift", "noise.levels"]):
        assert json.dumps(pick_settings(implicit, keys)) == json.dumps(pick_settings(explicit, keys)), keys


@pytest.mark.parametrize("config, key", [
    ({"seeds": 1.0}, "seeds"),
    ({"train": {"max_epochs": 3.0}}, "train.max_epochs"),
    ({"grid_model": {"arch": "paper_cnn", "width": 0.25, "fc_dim": 64.0}}, "grid_model.fc_dim"),
    ({"knn": {"K": 11.0}}, "knn.K"),
    ({"agreement": {"K": [1, 3, 21.0]}}, "agreement.K[2]"),
])
def test_integer_valued_floats_are_refused_at_parse(config, key):
    """JSON Schema counts 3.0 as an integer; the jobs would crash on it, so the parse refuses it, naming the key."""
    with pytest.raises(ConfigError, match=rf"^config key '{re.escape(key)}': .* is not of type 'integer'$"):
        validate_config(config)


def test_nested_command_line_values_are_read_as_the_types_the_schema_wants():
    """Snakemake passes a nested --config value with every scalar as text ('0.3', 'true', 'null')."""
    config = validate_config({"datasets": {"mnist": {"source": "mnist5k", "test_fraction": "0.3",
                                                     "train": {"lr": "1e-3", "eval_every": "null"}}},
                              "knn": {"K": "7"}, "train": {"batched_seeds": "true", "device": "cpu"},
                              "noise": {"human": {"sets": {"aggre": "aggre_label"}}}})
    mnist = config["datasets"]["mnist"]
    assert mnist["test_fraction"] == 0.3 and mnist["train"] == {"lr": 0.001, "eval_every": None}
    assert config["knn"]["K"] == 7 and config["train"]["batched_seeds"] is True and config["train"]["device"] == "cpu"
    assert config["noise"]["human"]["sets"] == {"aggre": "aggre_label"}  # text where the schema wants text
    with pytest.raises(ConfigError, match=r"config key 'seeds': '2.5' is not of type 'integer'"):
        validate_config({"seeds": "2.5"})


@pytest.mark.parametrize("section, key, message", [
    ("train", {"lr": float("nan")}, "config key 'train.lr': must be a finite number, got nan"),
    ("train", {"weight_decay": float("inf")}, "config key 'train.weight_decay': must be a finite number, got inf"),
    ("noise", {"flip_shift": 10}, "config key 'noise.flip_shift' (dataset 'mnist'): 10 maps every label of mnist5k's 10 "
                                  "classes to itself; use 1 to 9"),
    ("noise", {"confusion_matrix": [[0.5, 0.5], [0.5, 0.5]]},
     "config key 'noise.confusion_matrix' (dataset 'mnist'): 2 rows, but mnist5k has 10 classes"),
])
def test_values_that_would_fail_a_job_are_refused_at_parse_naming_the_key(section, key, message):
    with pytest.raises(ConfigError) as caught:
        validate_config({section: key})
    assert str(caught.value) == message
