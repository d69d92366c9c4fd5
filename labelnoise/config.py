"""The workflow configuration: validation, per-dataset views, level names.

``schemas/config.schema.yaml`` is the one place that defines every key, its
default and its meaning. :func:`validate_config` fills the defaults and stops
with a one-line :class:`ConfigError` naming the offending key;
:func:`dataset_settings` returns one dataset's view, its overrides deep-merged
over the global sections and validated again.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
STUDY_SECTIONS = ("seeds", "clean_model", "grid_model", "train", "noise", "analytic", "figures", "knn", "appendix_a")
GAMMA_NOISES = ("random", "flip", "confusion")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key."""


def _key_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _schema_validate(config: dict, schema_path: Path) -> None:
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path))
    except WorkflowError as err:
        cause = err.__cause__ or err.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise ConfigError(f"config is invalid: {err}") from None
        best = jsonschema.exceptions.best_match([cause])
        raise ConfigError(f"config key '{_key_path(best.absolute_path)}': {best.message}") from None


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """Fill defaults in place and check ``config``; ConfigError names the bad key."""
    if not isinstance(config, dict):
        raise ConfigError("config must be a mapping of keys to values")
    _schema_validate(config, Path(schema_path))
    unknown = [name for name in config["targets"] if name not in config["datasets"]]
    if unknown:
        raise ConfigError(f"config key 'targets': unknown dataset(s) {unknown}; known: {sorted(config['datasets'])}")
    for name in config["datasets"]:
        dataset_settings(config, name, schema_path)
    return config


def dataset_settings(config: dict, name: str, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """The study settings of dataset ``name``: global sections with its overrides merged in."""
    if name not in config["datasets"]:
        raise ConfigError(f"unknown dataset {name!r}; known: {sorted(config['datasets'])}")
    entry = config["datasets"][name]
    overrides = {key: value for key, value in entry.items() if key in STUDY_SECTIONS}
    view = {key: copy.deepcopy(config[key]) for key in ("seed", "targets", "datasets") + STUDY_SECTIONS}
    view = _deep_merge(view, overrides)
    try:
        _schema_validate(view, Path(schema_path))
    except ConfigError as err:
        raise ConfigError(f"{err} (in the settings of dataset '{name}')") from None
    _check_semantics(view, name)
    view["name"] = name
    # The dataset's own keys (source, test_fraction, data_dir, ...), defaults filled by the schema.
    view.update({key: copy.deepcopy(value) for key, value in entry.items() if key not in STUDY_SECTIONS})
    return view


def pick_settings(view: dict, paths: list[str]) -> dict:
    """The parts of a dataset view named by dotted ``paths`` (plus name and seed).

    A rule's params are a Snakemake rerun trigger: a rule that gets only the
    settings it reads is not rerun when an unrelated setting changes (editing
    a figure option must not retrain the networks).
    """
    picked = {"name": view["name"], "seed": view["seed"]}
    for path in paths:
        source, target = view, picked
        *parents, leaf = path.split(".")
        for key in parents:
            source, target = source[key], target.setdefault(key, {})
        target[leaf] = copy.deepcopy(source[leaf])
    return picked


def _check_semantics(view: dict, name: str) -> None:
    noise = view["noise"]
    matrix = noise.get("confusion_matrix")
    if matrix is not None:
        from labelnoise.noise import check_confusion_matrix

        try:
            check_confusion_matrix(np.asarray(matrix, dtype=float))
        except ValueError as err:
            raise ConfigError(f"config key 'noise.confusion_matrix' (dataset '{name}'): {err}") from None
    for noise_type, values in noise["levels"].items():
        names = [format_level(noise_type, value) for value in values]
        if len(set(names)) != len(names):
            raise ConfigError(f"config key 'noise.levels.{noise_type}' (dataset '{name}'): levels {values} collide in file names")


def format_level(noise: str, value: Any) -> str:
    """A level as written in file names: '0.50' for gamma levels, 'k' for concentrated."""
    if noise == "concentrated":
        return str(int(value))
    text = f"{float(value):.2f}"
    return text if abs(float(text) - float(value)) < 1e-12 else np.format_float_positional(float(value), trim="-")


def parse_level(noise: str, text: str) -> float | int:
    """Inverse of :func:`format_level`."""
    return int(text) if noise == "concentrated" else float(text)


def noise_levels(view: dict) -> dict[str, list[str]]:
    """Level names per noise type of a dataset view."""
    return {noise: [format_level(noise, v) for v in values] for noise, values in view["noise"]["levels"].items()}


def load_config_file(path: str | Path) -> dict:
    """Read a YAML config file and validate it (defaults filled)."""
    import yaml

    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    return validate_config(config)


def main(argv: list[str] | None = None) -> int:
    """``python -m labelnoise.config [config.yaml]``: print the resolved configuration."""
    import sys

    import yaml

    args = sys.argv[1:] if argv is None else argv
    try:
        config = load_config_file(args[0] if args else "config.yaml")
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 1
    yaml.safe_dump(config, sys.stdout, sort_keys=False, default_flow_style=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def train_config(view: dict):
    """The :class:`~labelnoise.training.TrainConfig` of a dataset view."""
    from labelnoise.training import TrainConfig

    return TrainConfig(**{key: value for key, value in view["train"].items() if key != "threads"})


def model_kwargs(view: dict, section: str, image_shape: tuple[int, int, int], n_classes: int) -> dict:
    """Arguments of :func:`labelnoise.models.build_model` for ``clean_model`` or ``grid_model``."""
    return dict(in_channels=image_shape[0], image_size=image_shape[1], n_classes=n_classes, **view[section])


def analytic_gammas(view: dict, noise: str) -> np.ndarray:
    """The analytic gamma grid: a regular grid on [0, 1] plus every experimental level of ``noise``."""
    step = view["analytic"]["gamma_step"]
    grid = np.round(np.arange(0.0, 1.0 + step / 2, step), 12)
    levels = np.asarray(view["noise"]["levels"].get(noise, []), dtype=float)
    return np.unique(np.clip(np.concatenate([grid, levels]), 0.0, 1.0))
