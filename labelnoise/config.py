"""The workflow configuration: validation, per-dataset views, level names.

The schema (``labelnoise/config.schema.yaml``, :mod:`labelnoise.schema`) is
the one place that defines every key, its default and its meaning.
:func:`validate_config` fills the defaults and stops with a one-line
:class:`ConfigError` naming the offending key; :func:`dataset_settings` returns
one dataset's view, its overrides deep-merged over the global sections and
validated again.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from labelnoise import noise_types
from labelnoise.selection import PROTOCOLS, check_reported
from labelnoise.schema import (
    SCHEMA_PATH, ConfigError, first_non_finite, key_path, read_schema, schema_error, strict_validator,
)

STUDY_SECTIONS = ("seeds", "clean_model", "grid_model", "train", "clean_train", "noise", "analytic", "figures", "knn", "appendix_a",
                  "agreement", "scaling")

# A number in YAML 1.2 that YAML 1.1 (PyYAML, Snakemake) reads as a string: 1e-3, 5E+4, .5e-2.
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _schema_validate(config: dict, schema_path: Path) -> None:
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path))  # fills in the defaults
    except WorkflowError as err:
        cause = err.__cause__ or err.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise ConfigError(f"config is invalid: {err}") from None
        best = jsonschema.exceptions.best_match([cause])
        raise ConfigError(f"config key '{key_path(best.absolute_path)}': {best.message}") from None
    error = schema_error(read_schema(str(schema_path)), config)
    if error:
        raise ConfigError(f"config key '{key_path(error[0])}': {error[1]}")


def _read_exponent_numbers(node: object) -> object:
    """Turn strings such as '1e-3' (numbers to YAML 1.2 and to a reader, strings to YAML 1.1) into floats, in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
            node[key] = float(value)
        else:
            _read_exponent_numbers(value)
    return node


def _parse_scalar(text: str) -> object:
    """A command-line scalar as a YAML 1.2 reader takes it: 0.3, 5, 1e-3, true, null."""
    import yaml

    if _EXPONENT_NUMBER.fullmatch(text.strip()):
        return float(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _read_typed_strings(node: object, schema: dict, root: dict | None = None, section: str | None = None) -> object:
    """Strings where the schema wants another type, read as that type, in place.

    Snakemake reads a nested ``--config`` value (``datasets={mnist: {test_fraction: 0.3}}``) with YAML's base
    loader, which keeps every scalar a string; a file's values already have their types and are left alone.
    """
    root = root or schema
    schema = _resolve(schema, root)
    if section and schema.get("type") == "object" and not schema.get("properties"):  # a dataset's study overrides
        schema = _resolve(root["properties"][section], root)
    if schema.get("propertyNames", {}).get("enum") and not schema.get("properties"):  # clean_train: keys of train
        schema = root["$defs"]["train"]
    if isinstance(node, dict):
        for key, value in node.items():
            sub = schema.get("properties", {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is None:
                continue
            if isinstance(value, str):
                node[key] = _typed(value, sub, root)
            else:
                _read_typed_strings(value, sub, root, key if key in STUDY_SECTIONS else None)
    elif isinstance(node, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(node):
            if isinstance(value, str):
                node[index] = _typed(value, schema["items"], root)
            else:
                _read_typed_strings(value, schema["items"], root)
    return node


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(text: str, schema: dict, root: dict) -> object:
    """``text``, or the value it reads as where only that value fits ``schema``."""
    validator = strict_validator({**schema, "$defs": root.get("$defs", {})})
    if validator.is_valid(text):
        return text
    value = _parse_scalar(text)
    return value if not isinstance(value, str) and validator.is_valid(value) else text


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
    validated_settings(config, schema_path)
    return config


def validated_settings(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict[str, dict]:
    """Check ``config`` (defaults filled in place) and return every dataset's settings view, each validated once:
    the workflow's one validation, when it starts (rules/common.smk); jobs get their settings from it."""
    if not isinstance(config, dict):
        raise ConfigError("config must be a mapping of keys to values")
    _read_exponent_numbers(config)
    _read_typed_strings(config, read_schema(str(schema_path)))
    non_finite = first_non_finite(config)
    if non_finite:
        raise ConfigError(f"config key '{key_path(non_finite[0])}': must be a finite number, got {non_finite[1]!r}")
    _schema_validate(config, Path(schema_path))
    reserved = sorted(set(config["datasets"]) & {"data", "logs", "benchmarks"})
    if reserved:
        raise ConfigError(f"config key 'datasets': {reserved} would share a folder of results/ (data/, logs/, benchmarks/); "
                          "rename the dataset")
    unknown = [name for name in config["targets"] if name not in config["datasets"]]
    if unknown:
        raise ConfigError(f"config key 'targets': unknown dataset(s) {unknown}; known: {sorted(config['datasets'])}")
    return {name: dataset_settings(config, name, schema_path) for name in config["datasets"]}


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
    view["name"] = name
    view["clean_train"] = _clean_training(view, name)
    view["protocols"] = list(PROTOCOLS)  # what every training measures: part of the training rules' settings
    # The dataset's own keys (source, test_fraction, data_dir, ...), defaults filled by the schema.
    view.update({key: copy.deepcopy(value) for key, value in entry.items() if key not in STUDY_SECTIONS})
    _check_semantics(view, name)
    return view


def _clean_training(view: dict, name: str) -> dict:
    """The clean net's whole training section: ``train`` with the overrides of ``clean_train``, checked as a train section."""
    merged = {**view["train"], **view["clean_train"]}
    error = schema_error(read_schema()["$defs"]["train"], merged)
    if error:
        raise ConfigError(f"config key '{key_path(('clean_train', *error[0]))}': {error[1]} (in the settings of dataset "
                          f"'{name}')")
    return merged


def pick_settings(view: dict, paths: list[str]) -> dict:
    """The parts of a dataset view named by dotted ``paths`` (plus name and seed): the settings of one rule."""
    picked = {"name": view["name"], "seed": view["seed"]}
    for path in paths:
        source, target = view, picked
        *parents, leaf = path.split(".")
        for key in parents:
            source, target = source[key], target.setdefault(key, {})
        target[leaf] = copy.deepcopy(source[leaf])
    return sorted_keys(picked)


def sorted_keys(value: object) -> object:
    """``value`` with every mapping's keys in sorted order: the same settings give the same params whatever order
    a config wrote them in (a default written out explicitly must rerun nothing)."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def _refused(key: str, name: str, problem: str) -> ConfigError:
    """The one-line error naming config key ``key`` of dataset ``name``."""
    return ConfigError(f"config key '{key}' (dataset '{name}'): {problem}")


def _check_with(check: Callable, key: str, name: str, *args, **kwargs) -> None:
    """The library's own check of a config value (the same function its public entry points call), its ValueError
    turned into a ConfigError naming ``key``."""
    try:
        check(*args, **kwargs)
    except ValueError as err:
        raise _refused(key, name, str(err)) from None


def _check_semantics(view: dict, name: str) -> None:
    from labelnoise.checks import check_confusion_matrix
    from labelnoise.data import SOURCES, check_subset_fractions

    source = view["source"]
    if source not in SOURCES:
        raise _refused(f"datasets.{name}.source", name, f"unknown data source {source!r}; known: {sorted(SOURCES)}")
    for section in ("train", "clean_train"):
        _check_with(check_reported, f"{section}.selection", name, view[section]["selection"])
    noise = view["noise"]
    n_classes = len(SOURCES[source].class_counts[0])
    if noise["flip_shift"] % n_classes == 0:
        raise _refused("noise.flip_shift", name, f"{noise['flip_shift']} maps every label of {source}'s {n_classes} "
                                                 f"classes to itself; use 1 to {n_classes - 1}")
    matrix = noise.get("confusion_matrix")
    if matrix is not None and len(matrix) != n_classes:
        raise _refused("noise.confusion_matrix", name, f"{len(matrix)} rows, but {source} has {n_classes} classes")
    if matrix is not None:
        _check_with(check_confusion_matrix, "noise.confusion_matrix", name, matrix)  # a ragged matrix too
    if noise["human"]["file"] is not None and not noise["human"]["sets"]:
        raise _refused("noise.human.sets", name, "a label file needs the label sets to read from it")
    _check_levels(view, name)
    _check_with(check_subset_fractions, "scaling.fractions", name, view["scaling"]["fractions"])
    unnamed = [fraction for fraction in view["scaling"]["fractions"] if float(f"{fraction:g}") != fraction]
    if unnamed:
        raise _refused("scaling.fractions", name, f"{unnamed} need more than 6 significant digits (their folder names "
                                                  "would not read back); round them")
    missing = sorted(set(view["analytic"]["K"]) - set(view["agreement"]["K"]))
    if missing:
        raise _refused("agreement.K", name, f"lacks the analytic K {missing}, where Fig. 10 reads the agreement at the "
                                            "fitted K")
    _check_fits_data(view, name)


def _check_levels(view: dict, name: str) -> None:
    """Every noise type's levels, and the levels that figures and Fig. 11 name, against the noise types."""
    configured = view["noise"]["levels"]
    unknown = sorted(set(configured) - set(noise_types.names(synthetic=True)))
    if unknown:
        raise _refused("noise.levels", name, f"unknown noise type(s) {unknown}; known: {noise_types.names(synthetic=True)}")
    for noise_type, values in configured.items():
        kind = noise_types.get(noise_type).level
        if (kind == "gamma" and max(values) > 1) or (kind == "k" and any(v != int(v) or v < 2 for v in values)):
            raise _refused(f"noise.levels.{noise_type}", name, f"{values} are not "
                           f"{'fractions in [0, 1]' if kind == 'gamma' else 'cluster counts k >= 2'}")
    levels = noise_levels(view)
    for noise_type, names in levels.items():
        if len(set(names)) != len(names):
            raise _refused(f"noise.levels.{noise_type}", name, f"levels {configured[noise_type]} collide in file names")
    for figure, options in view["figures"].items():
        for key, value in options.items():
            noise_type = key.removesuffix("_level")
            if key.endswith("_level") and format_level(noise_type, value) not in levels[noise_type]:
                raise _refused(f"figures.{figure}.{key}", name, f"{value} is not a configured {noise_type} level; "
                                                               f"configured: {configured[noise_type]}")
    if scaling_level(view) not in levels["random"]:
        raise _refused("scaling.level", name, f"{view['scaling']['level']} is not a configured random level; "
                                              f"configured: {configured['random']}")


def _check_fits_data(view: dict, name: str) -> None:
    """Split sizes, K and k that the dataset's size cannot hold are refused before any job runs."""
    from labelnoise.checks import check_k_list
    from labelnoise.data import split_class_counts

    counts = split_class_counts(view["source"], view["test_fraction"])
    for part, title in (("val", "clean validation"), ("test", "test")):
        if counts[part].min() < 1:
            smallest = int((counts["train"] + counts["val"] + counts["test"]).min())
            raise ConfigError(f"config key 'datasets.{name}.test_fraction': {view['test_fraction']} leaves a class "
                              f"without {title} samples ({view['source']} has {smallest} in its smallest class); raise it")
    n_train, smallest_class = int(counts["train"].sum()), int(counts["train"].min())
    _check_with(check_k_list, "knn.K", name, [view["knn"]["K"]], n_train)
    _check_with(check_k_list, "appendix_a.K", name, view["appendix_a"]["K"], n_train)
    _check_with(check_k_list, "agreement.K", name, view["agreement"]["K"], n_train, increasing=True)
    too_many = [k for k in view["noise"]["levels"]["concentrated"] if k > smallest_class]
    if too_many:
        raise _refused("noise.levels.concentrated", name, f"k = {too_many} exceeds the {smallest_class} training "
                                                          "samples of the smallest class")


def format_level(noise: str, value: Any) -> str:
    """A level as written in file names: '0.50' for gamma levels, 'k' for cluster counts, the label set's name."""
    kind = noise_types.get(noise).level
    if kind == "name":
        return str(value)
    if kind == "k":
        return str(int(value))
    text = f"{float(value):.2f}"
    return text if abs(float(text) - float(value)) < 1e-12 else np.format_float_positional(float(value), trim="-")


def parse_level(noise: str, text: str) -> float | int | str:
    """Inverse of :func:`format_level`."""
    kind = noise_types.get(noise).level
    if kind == "name":
        return text
    return int(text) if kind == "k" else float(text)


def noise_levels(view: dict) -> dict[str, list[str]]:
    """Level names per noise type of a dataset view, in the registry's order; human noise only where a label file
    is configured."""
    configured = view["noise"]["levels"]
    levels = {noise: [format_level(noise, v) for v in configured[noise]] for noise in noise_types.names() if noise in configured}
    if view["noise"]["human"]["file"] is not None:
        levels["human"] = list(view["noise"]["human"]["sets"])
    return levels


def load_config_file(path: str | Path) -> dict:
    """Read a YAML config file and validate it (defaults filled)."""
    return validate_config(read_yaml_file(path) or {})


def read_yaml_file(path: str | Path) -> object:
    """The content of a YAML file; ConfigError naming the file, line and column of a syntax error."""
    import yaml

    try:
        with open(path) as handle:
            return yaml.safe_load(handle)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML: {getattr(err, 'problem', None) or err}{where}") from None


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


def model_kwargs(view: dict, section: str, image_shape: tuple[int, int, int], n_classes: int) -> dict:
    """Arguments of :func:`labelnoise.models.build_model` for ``clean_model`` or ``grid_model``."""
    return dict(in_channels=image_shape[0], image_size=image_shape[1], n_classes=n_classes, **view[section])


def scaling_level(view: dict) -> str:
    """The random-noise level (its name) whose CNN accuracy Fig. 11 shows: ``scaling.level``, or the highest configured."""
    level = view["scaling"]["level"]
    return format_level("random", max(view["noise"]["levels"]["random"]) if level is None else level)


def analytic_gammas(view: dict, noise: str) -> np.ndarray:
    """The analytic gamma grid: a regular grid on [0, 1] plus every experimental level of ``noise``."""
    step = view["analytic"]["gamma_step"]
    grid = np.round(np.arange(0.0, 1.0 + step / 2, step), 12)
    levels = np.asarray(view["noise"]["levels"].get(noise, []), dtype=float)
    return np.unique(np.clip(np.concatenate([grid, levels]), 0.0, 1.0))


if __name__ == "__main__":
    raise SystemExit(main())
