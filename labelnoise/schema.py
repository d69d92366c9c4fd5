"""The configuration schema (``labelnoise/config.schema.yaml``): every key, its default and its meaning, in one file.

The workflow validates a whole config against it once, when it starts
(:mod:`labelnoise.config`); a library user takes the same defaults from
:func:`section_defaults` (``TrainConfig.defaults()``). The file ships inside
the package, so an installed ``labelnoise`` has it; ``schemas/`` links to it
for Snakemake's layout. :func:`configuration_markdown` writes every key, its
type, default and description as docs/configuration.md:

    python -m labelnoise.schema > docs/configuration.md
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


# The configuration's documentation (docs/configuration.md), written from the schema: python -m labelnoise.schema

CONFIGURATION_PAGE = "docs/configuration.md"
#: A schema's constraints in words, in this order; a count's noun takes an s unless the count is 1.
BOUNDS = (("minimum", "≥ {}"), ("exclusiveMinimum", "> {}"), ("maximum", "≤ {}"), ("exclusiveMaximum", "< {}"),
          ("minLength", "at least {} character"), ("maxLength", "at most {} character"), ("pattern", "matching `{}`"),
          ("minItems", "at least {} item"), ("maxItems", "at most {} item"), ("uniqueItems", "no repeats"))


def _inline(value: object) -> str:
    """``value`` as YAML on one line: ``auto``, ``[1, 3]``, ``{arch: paper_cnn, width: 0.5}``, ``null``."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=math.inf, allow_unicode=True).strip()
    return text.removesuffix("\n...").strip()


def _resolve(schema: dict, node: dict) -> tuple[dict, str | None]:
    """``node`` with its ``$ref`` followed (the node's own keys, such as its default, win), and the reference."""
    if not isinstance(node, dict):  # a boolean schema: true takes anything, false nothing
        return {}, None
    if "$ref" not in node:
        return node, None
    target = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{key: value for key, value in node.items() if key != "$ref"}}, node["$ref"]


def _bounds(node: dict) -> str:
    words = [text.format(node[key]) + ("s" if text.endswith(("item", "character")) and node[key] != 1 else "")
             for key, text in BOUNDS if key in node and node[key] is not False]
    return ", ".join(words)


def _kind(schema: dict, node: dict) -> str:
    """A key's type in words: ``integer ≥ 1``, ``one of `sgd`, `adam```, ``array of (number ≥ 0), no repeats``, ``section``."""
    node, _ = _resolve(schema, node)
    if "enum" in node or "const" in node:
        kind = "one of " + ", ".join(f"`{_inline(value)}`" for value in node.get("enum", [node.get("const")]))
    elif "type" not in node and ("anyOf" in node or "oneOf" in node):
        kind = " or ".join(_kind(schema, alternative) for alternative in node.get("anyOf", node.get("oneOf")))
    else:
        types = node.get("type", "any value")
        kind = " or ".join(_type_words(schema, node, name) for name in (types if isinstance(types, list) else [types]))
    bounds = _bounds(node)
    return f"{kind}, {bounds}" if bounds else kind


def _type_words(schema: dict, node: dict, kind: str) -> str:
    if kind == "array" and isinstance(node.get("items"), dict):
        items = _kind(schema, node["items"])
        return f"array of ({items})" if " " in items else f"array of {items}"
    if kind != "object":
        return kind
    if "properties" in node:
        return "section (keys below)"
    names = node.get("propertyNames", {})
    keys = (" with keys among " + ", ".join(f"`{name}`" for name in names["enum"]) if "enum" in names
            else f" with names matching `{names['pattern']}`" if "pattern" in names else "")
    entry = node.get("additionalProperties")
    if isinstance(entry, dict):
        value = _resolve(schema, entry)[0]
        return f"mapping{keys}, name -> " + ("a section (below)" if "properties" in value else _kind(schema, value))
    return f"mapping{keys}" if keys else "object"


def _condition(node: dict) -> str:
    """A section's ``if``/``then`` rule in words (``if`` tests only the keys given)."""
    if "if" not in node:
        return ""
    tests = node["if"].get("properties", {})
    required = node.get("then", {}).get("required")
    if required and tests and all("const" in test for test in tests.values()) and set(node["then"]) == {"required"}:
        when = " and ".join(f"`{key}` is `{_inline(test['const'])}` or left out" for key, test in tests.items())
        return f"When {when}: " + ", ".join(f"`{key}`" for key in required) + (" is" if len(required) == 1 else " are") + " required."
    return f"If `{_inline(node['if'])}` holds, `{_inline(node.get('then', {}))}` must too; else `{_inline(node.get('else', {}))}`."


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _sections(schema: dict, node: dict, path: tuple, found: dict) -> dict:
    """Every object with keys of its own under ``node``, in reading order: {name: ([key paths], node)}; a definition
    that several keys share (``clean_model``, ``grid_model``) is one section; a mapping's entries are ``path.<name>``."""
    node, ref = _resolve(schema, node)
    if "properties" in node:
        paths = found.setdefault(ref or key_path(path), ([], node))[0]
        paths.append(path)
        if len(paths) > 1:
            return found
        for key, child in node["properties"].items():
            _sections(schema, child, path + (key,), found)
    if isinstance(node.get("additionalProperties"), dict):
        _sections(schema, node["additionalProperties"], path + ("<name>",), found)
    return found


def _section_lines(schema: dict, paths: list[tuple], node: dict) -> list[str]:
    """One section of the page: its heading, description, table of keys and conditional rule."""
    title = "Top level" if paths == [()] else ", ".join(f"`{key_path(path)}`" for path in paths)
    lines = ["#" * min(1 + len(paths[0]) + (not paths[0]), 6) + f" {title}", ""]
    if paths[0] and node.get("description"):
        lines += [_cell(node["description"]), ""]
    top = schema["properties"]
    rows = []
    for key, child in node["properties"].items():
        child = _resolve(schema, child)[0]
        kind = _kind(schema, child) + ("; required" if key in node.get("required", []) else "")
        default = f"`{_cell(_inline(child['default']))}`" if "default" in child else ""
        about = child.get("description") or (f"as the top-level `{key}`, for this entry alone" if paths[0] and key in top else "")
        rows.append(f"| `{key}` | {_cell(kind)} | {default} | {_cell(about)} |")
    lines += ["| key | type | default | description |", "| --- | --- | --- | --- |", *rows, ""]
    condition = _condition(node)
    return lines + ([condition, ""] if condition else [])


def configuration_markdown(schema: dict | None = None) -> str:
    """docs/configuration.md: every key of the schema with its type, default and description, each section a table."""
    schema = schema or read_schema()
    lines = [f"# {schema.get('title', 'Configuration')}", "",
             f"<!-- Written by `python -m labelnoise.schema > {CONFIGURATION_PAGE}` from labelnoise/config.schema.yaml: "
             "edit the schema, not this page (tests/test_configuration_doc.py compares them). -->", "",
             "Every key of a workflow configuration, from the schema that validates it "
             "([`labelnoise/config.schema.yaml`](../labelnoise/config.schema.yaml)). "
             "A key left out takes its default; a section's default `{}` means each of its keys takes its own.", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    for paths, node in _sections(schema, schema, (), {}).values():
        lines += _section_lines(schema, paths, node)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(configuration_markdown())
