"""docs/configuration.md is written from the configuration schema, never by hand, and shows every key of it."""

from pathlib import Path

import pytest

from labelnoise.schema import CONFIGURATION_PAGE, configuration_markdown, read_schema

ROOT = Path(__file__).resolve().parents[1]


def test_committed_configuration_page_is_the_schema_s():
    assert (ROOT / CONFIGURATION_PAGE).read_text() == configuration_markdown(), (
        "docs/configuration.md differs from labelnoise/config.schema.yaml: run python -m labelnoise.schema > docs/configuration.md")


def _keys(node: object, seen: set) -> set[str]:
    """Every key name the schema defines under ``properties``, wherever it stands ($defs included)."""
    if isinstance(node, dict):
        seen.update(node.get("properties", {}))
        for child in node.values():
            _keys(child, seen)
    elif isinstance(node, list):
        for child in node:
            _keys(child, seen)
    return seen


def test_every_key_of_the_schema_has_a_row():
    schema = read_schema()
    page = configuration_markdown()
    for key in _keys(schema, set()):
        assert f"| `{key}` |" in page, key


TOY = {
    "title": "toy", "description": "A toy | schema.", "type": "object",
    "properties": {
        "seed": {"type": "integer", "minimum": 0, "default": 0, "description": "Base seed."},
        "new_key": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": None, "description": "Added later."},
        "mode": {"enum": ["auto", True, False], "default": "auto"},
        "levels": {"type": "array", "items": {"$ref": "#/$defs/level"}, "minItems": 2, "uniqueItems": True, "default": [0.1, 0.2]},
        "a": {"$ref": "#/$defs/section", "default": {"width": 1}},
        "b": {"$ref": "#/$defs/section", "default": {}},
        "named": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}, "additionalProperties": {"$ref": "#/$defs/entry"}},
        "sets": {"type": "object", "additionalProperties": {"type": ["string", "null"]}, "propertyNames": {"pattern": "^[a-z]+$"}},
        "overrides": {"type": "object", "propertyNames": {"enum": ["seed", "mode"]}, "default": {}},
        "either": {"anyOf": [{"type": "integer", "minimum": 1}, {"enum": ["all"]}], "default": "all"},
    },
    "$defs": {
        "level": {"type": "number", "minimum": 0, "maximum": 1},
        "section": {"type": "object", "required": ["width"], "description": "A net.",
                    "if": {"properties": {"arch": {"const": "cnn"}}}, "then": {"required": ["fc"]},
                    "properties": {"arch": {"enum": ["cnn", "mlp"], "default": "cnn"}, "width": {"type": "number"},
                                   "fc": {"type": "integer", "minimum": 2},
                                   "inner": {"type": "object", "default": {}, "properties": {"deep": {"type": "boolean", "default": True}}}}},
        "entry": {"type": "object", "properties": {"source": {"enum": ["x", "y"]}, "seed": {"type": "integer"}}, "required": ["source"]},
    },
}


def test_refs_type_lists_enums_and_mappings_are_written_readably():
    page = configuration_markdown(TOY)
    lines = page.splitlines()
    assert lines[0] == "# toy" and "A toy \\| schema." in page  # a pipe in a description does not break the table
    assert "| `new_key` | number or null, > 0 | `null` | Added later. |" in page  # a key the generator was never told of
    assert "| `mode` | one of `auto`, `true`, `false` | `auto` |  |" in page
    assert "| `levels` | array of (number, ≥ 0, ≤ 1), at least 2 items, no repeats | `[0.1, 0.2]` |  |" in page
    assert "| `a` | section (keys below) | `{width: 1}` | A net. |" in page
    assert "## `a`, `b`" in lines  # one section for a definition two keys share
    assert "| `width` | number; required |  |  |" in page
    assert "When `arch` is `cnn` or left out: `fc` is required." in page
    assert "### `a.inner`" in lines and "| `deep` | boolean | `true` |  |" in page  # nested sections, a level deeper
    assert "| `named` | mapping with names matching `^[a-z]+$`, name -> a section (below) |  |  |" in page
    assert "### `named.<name>`" in lines
    assert "| `seed` | integer |  | as the top-level `seed`, for this entry alone |" in page
    assert "| `sets` | mapping with names matching `^[a-z]+$`, name -> string or null |  |  |" in page
    assert "| `overrides` | mapping with keys among `seed`, `mode` | `{}` |  |" in page
    assert "| `either` | integer, ≥ 1 or one of `all` | `all` |  |" in page


#: The JSON Schema keywords config.schema.yaml uses; any other key of a schema node is a slip of the YAML.
KEYWORDS = {"$schema", "$ref", "$defs", "title", "description", "type", "enum", "const", "default", "properties", "required",
            "additionalProperties", "propertyNames", "items", "minItems", "maxItems", "uniqueItems", "minimum", "maximum",
            "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "if", "then", "else"}


def _stray_keys(node: dict, path: str) -> list[str]:
    stray = [f"{path}: {key!r}" for key in node if key not in KEYWORDS]
    for key in ("properties", "$defs"):
        for name, child in node.get(key, {}).items():
            stray += _stray_keys(child, f"{path}.{name}")
    for key in ("items", "additionalProperties", "propertyNames", "if", "then", "else"):
        if isinstance(node.get(key), dict):
            stray += _stray_keys(node[key], f"{path}.{key}")
    return stray


def test_every_schema_node_holds_only_json_schema_keywords():
    """A description cut at a comma (YAML flow mapping) would show cut on the configuration page."""
    assert _stray_keys(read_schema(), "schema") == []
