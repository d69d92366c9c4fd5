"""docs/extending.md works as written: each recipe's code blocks, added where it says, make a working noise type, data
source, figure, selection protocol and architecture; and each recipe lists exactly the files its blocks touch.

The noise type and the figure go through the workflow: their blocks are added to a copy of the project, which runs
the digits workflow for the toy noise's tables and the toy figure. The source, protocol and architecture are added
to the running library (a block appended to a module is that module's namespace, extended), then undone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "extending.md"
BLOCK = re.compile(r"```(?P<language>\w+)\n# (?P<action>append to|new file|add to the arch enum of|a config)(?: (?P<path>\S+))?.*?\n"
                   r"(?P<code>.*?)```", re.S)


def recipes() -> dict[str, dict]:
    """Recipe title -> the files it says it touches and its blocks (action, path, code)."""
    found = {}
    for section in GUIDE.read_text().split("\n## ")[1:]:
        title = section.splitlines()[0]
        touches = re.search(r"^Touches: (.*)$", section, re.M)
        found[title] = {
            "touches": set(re.findall(r"`([^`]+)`", touches.group(1).split("(")[0])) if touches else set(),
            "blocks": [(m["action"], m["path"], m["code"]) for m in BLOCK.finditer(section)],
        }
    return found


def test_each_recipe_lists_the_files_its_blocks_touch():
    found = recipes()
    assert set(found) == {"A noise type", "A data source", "A figure", "A selection protocol", "A model architecture"}
    for title, recipe in found.items():
        code_files = {path for action, path, _ in recipe["blocks"] if path and not path.startswith("report/")}
        assert code_files == recipe["touches"], title
        assert 1 <= len(recipe["touches"]) <= 3, title  # the bound: at most three files besides test and caption


@pytest.fixture
def add():
    """``add(module, registry, title)``: run the recipe's blocks for ``module`` in its namespace (what appending them
    to its file does); what they register in ``registry`` (a dict of the module) is removed after the test."""
    added = []

    def run(module, registry: str, title: str) -> None:
        before = set(getattr(module, registry))
        for action, path, code in recipes()[title]["blocks"]:
            if action == "append to" and path == module.__file__.removeprefix(str(REPO) + os.sep):
                exec(compile(code, str(GUIDE), "exec"), vars(module))
        added.append((getattr(module, registry), set(getattr(module, registry)) - before))

    yield run
    for registry, names in added:
        for name in names:
            del registry[name]


@pytest.fixture
def digits_split():
    from labelnoise.data import prepare_dataset
    from labelnoise.seeding import rng_for

    return prepare_dataset("digits", 0.3, rng_for(0, "extending"))


def test_a_toy_data_source_is_configured_prepared_and_split(add):
    from labelnoise import data
    from labelnoise.config import validated_settings

    add(data, "SOURCES", "A data source")
    config = {"targets": ["blobs"], "datasets": {"blobs": {"source": "blobs", "test_fraction": 0.3}},
              "appendix_a": {"K": [10, 20]}, "agreement": {"K": [1, 3, 11]}, "analytic": {"K": [1, 3, 11]},
              "noise": {"levels": {"concentrated": [5, 2]}}, "figures": {"embedding": {"concentrated_level": 5},
                                                                        "softmax_examples": {"concentrated_level": 5}}}
    view = validated_settings(config)["blobs"]
    prepared = data.prepare_dataset(view["source"], view["test_fraction"], np.random.default_rng(0))
    counts = data.split_class_counts("blobs", 0.3)
    for part in ("train", "val", "test"):
        assert np.bincount(prepared.part(part)[1]).tolist() == counts[part].tolist()
    assert prepared.class_names == ["dark", "mid", "bright"] and prepared.image_shape == (1, 8, 8)


def _short_training(digits_split, factory, selection="clean_val", seeds=(11,)):
    from labelnoise.training import TrainConfig, train_seeds

    images, labels = digits_split.part("train")
    config = TrainConfig.defaults(max_epochs=3, batch_size=128, batched_seeds=True, selection=selection)
    return train_seeds(factory, list(seeds), images, np.stack([labels] * len(seeds)), *digits_split.part("val"),
                       *digits_split.part("test"), config=config, log=lambda line: None)


def test_a_toy_protocol_picks_its_state_in_a_short_training(add, digits_split):
    from labelnoise import selection
    from labelnoise.models import build_model
    from labelnoise.tables import training_table

    add(selection, "PROTOCOLS", "A selection protocol")
    factory = lambda: build_model("paper_cnn", 1, 8, 10, width=0.25, fc_dim=32)  # noqa: E731
    results = _short_training(digits_split, factory, selection="epoch_two")
    picked = results[0].selections["epoch_two"]
    assert picked["epoch"] == 2 and picked["step"] == 2 * results[0].steps_run // 3
    assert results[0].best_epoch == 2 and results[0].selections["final"]["epoch"] == 3  # it is the one reported
    labels = digits_split.part("train")[1]
    table = training_table(results, [11], labels[None], np.zeros((1, len(labels)), bool), labels,
                           dict(dataset="digits", noise="random", level="0.00", nominal_gamma=0.0), "epoch_two")
    assert table["epoch_two_test_acc"].iloc[0] == pytest.approx(picked["test_acc"])


def test_a_toy_architecture_trains_stacked_and_the_schema_lists_the_registry(add, digits_split):
    from labelnoise import models
    from labelnoise.schema import read_schema

    assert sorted(read_schema()["$defs"]["model"]["properties"]["arch"]["enum"]) == list(models.available_architectures())
    add(models, "_ARCHITECTURES", "A model architecture")
    factory = lambda: models.build_model("tiny_mlp", 1, 8, 10, width=0.5)  # noqa: E731
    stacked = _short_training(digits_split, factory, seeds=(11, 12))
    alone = _short_training(digits_split, factory, seeds=(12,))
    assert stacked[1].test_acc == alone[0].test_acc > 0.5  # a stack of two equals each seed trained alone


@pytest.fixture(scope="module")
def extended_project(tmp_path_factory) -> Path:
    """A copy of the project with the noise type and the figure of the guide added where the recipes say."""
    copy = tmp_path_factory.mktemp("extended") / "project"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".git", ".venv", "results", ".snakemake", "__pycache__",
                                                              "*.egg-info", ".pytest_cache", "reference"))
    for title in ("A noise type", "A figure"):
        for action, path, code in recipes()[title]["blocks"]:
            if action == "append to":
                with open(copy / path, "a") as handle:
                    handle.write("\n\n" + code)
            elif action == "new file":
                (copy / path).write_text(code)
    (copy / "toy.yaml").write_text(recipes()["A noise type"]["blocks"][1][2])
    return copy


def _snakemake(project: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(project / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(project / "tests" / "data" / "digits_workflow.yaml"), str(project / "toy.yaml"), *args]
    environment = dict(os.environ, PYTHONPATH=str(project))  # the copy's labelnoise, with the toy noise type
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=environment, cwd=project)


@pytest.mark.slow
def test_a_toy_noise_type_and_a_toy_figure_run_through_the_workflow(extended_project, tmp_path):
    planned = _snakemake(extended_project, tmp_path, "--dry-run", "--cores", "2")
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert "results/fig14_digits.pdf" in planned.stdout and "results/digits/train/flip2/0.40.csv" in planned.stdout
    targets = ["results/digits/train/flip2/0.20.csv", "results/digits/train/flip2/0.40.csv",
               "results/digits/analytic/flip2_fit.csv", "results/fig14_digits.pdf"]
    out = _snakemake(extended_project, tmp_path, "--cores", "2", *targets)
    assert out.returncode == 0, out.stderr[-5000:]
    stored = np.load(tmp_path / "results" / "digits" / "noise" / "flip2" / "0.40.npz")
    changed = stored["noisy_labels"][0] != stored["clean_labels"]
    assert np.array_equal(stored["noisy_labels"][0][changed], (stored["clean_labels"][changed] + 2) % 10)
    assert changed.mean() == pytest.approx(0.4, abs=1 / len(changed))
    table = pd.read_csv(tmp_path / "results" / "digits" / "train" / "flip2" / "0.40.csv")
    assert table["realised_gamma"].iloc[0] == pytest.approx(changed.mean()) and table["test_acc"].iloc[0] > 0.3
    fit = pd.read_csv(tmp_path / "results" / "digits" / "analytic" / "flip2_fit.csv")
    assert fit["best"].sum() == 1
    assert (tmp_path / "results" / "fig14_digits.png").stat().st_size > 10_000
    assert (tmp_path / "results" / ".fig14_digits.pdf.record.json").is_file()
