"""The configuration schema (``labelnoise/config.schema.yaml``): every key, its default and its meaning, in one file.

The workflow validates a whole config against it once, when it starts
(:mod:`labelnoise.config`); a library user takes the same defaults from
:func:`section_defaults` (``TrainConfig.defaults()``). The file ships inside
the package, so an installed ``labelnoise`` has it; ``schemas/`` links to it
for Snakemake's layout.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key."""


@functools.lru_cache(maxsize=4)
def read_schema(path: str | Path = SCHEMA_PATH) -> dict:
    import yaml

    with open(path) as handle:
        return yaml.safe_load(handle)


def key_path(path) -> str:
    """A key's place in a config as written in messages: ``train.lr``, ``agreement.K[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def strict_validator(schema: dict):
    """A JSON-schema validator whose integers are integers: JSON Schema counts 3.0 as one, the code would not."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def section_defaults(section: str) -> dict:
    """The schema's default of every key of a section (``train``, ``knn``, ...)."""
    schema = read_schema()
    properties = schema["$defs"][section]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def schema_error(schema: dict, values: object) -> tuple[tuple, str] | None:
    """(key path, message) of the error that best explains why ``values`` break ``schema`` (strict integers), or None."""
    import jsonschema

    errors = list(strict_validator(schema).iter_errors(values))
    if not errors:
        return None
    best = jsonschema.exceptions.best_match(errors)
    return tuple(best.absolute_path), best.message


def first_non_finite(node: object, path: tuple = ()) -> tuple[tuple, float] | None:
    """(key path, value) of the first NaN or infinity in ``node``: JSON Schema lets them through every bound."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, float) and not math.isfinite(value):
            return path + (key,), value
        found = first_non_finite(value, path + (key,))
        if found:
            return found
    return None


def check_section(section: str, values: dict) -> None:
    """``values`` obey the schema's rules for ``section`` and are finite; ConfigError naming the first key that is not."""
    error = schema_error(read_schema()["$defs"][section], values)
    if error:
        raise ConfigError(f"{key_path((section, *error[0]))}: {error[1]}")
    non_finite = first_non_finite(values, (section,))
    if non_finite:
        raise ConfigError(f"{key_path(non_finite[0])}: must be a finite number, got {non_finite[1]!r}")
