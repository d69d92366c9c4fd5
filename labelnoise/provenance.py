"""What made each intermediate file, checked by every job that reads it.

Every ``.npz`` and ``model.pt`` a rule writes carries a provenance record: the
path it was written to, the rule and wildcards that wrote it, that rule's
settings (:data:`labelnoise.config.RULE_SETTINGS`) and the records of the
files it was made from. Before a job reads its inputs, :func:`check_inputs`
compares their records with the running configuration, so a stale file (made
under other settings, e.g. a clean model of another ``fc_dim``) or a swapped
one (another level's noise file copied into place) stops the job with one
line naming the file, the mismatch and how to rebuild it, instead of being
trained on or plotted silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from labelnoise.config import ConfigError, dataset_settings, rule_settings
from labelnoise.io import RECORD_KEY, ResultFileError, load_npz, rebuild_hint


def read_record(path: str | os.PathLike) -> dict | None:
    """The provenance record stored in an .npz or .pt result file (None for other formats)."""
    suffix = Path(path).suffix
    if suffix not in (".npz", ".pt"):
        return None
    if suffix == ".pt":
        from labelnoise.checkpoint import read_checkpoint

        text = read_checkpoint(path).get(RECORD_KEY)
    else:
        stored = load_npz(path, keys=[RECORD_KEY])
        text = str(stored[RECORD_KEY]) if RECORD_KEY in stored else None
    if text is None:
        raise ResultFileError(f"{path} has no provenance record (written by an older version of this workflow, "
                              f"or not by it); {rebuild_hint(path)}")
    return json.loads(text)


def _first_difference(made: object, expected: object, key: str = "") -> tuple[str, object, object] | None:
    """(dotted key, made value, expected value) of the first setting that differs, or None."""
    if isinstance(made, dict) and isinstance(expected, dict):
        for name in sorted(made.keys() | expected.keys()):
            found = _first_difference(made.get(name), expected.get(name), f"{key}.{name}" if key else name)
            if found:
                return found
        return None
    return None if made == expected else (key, made, expected)


def _check_settings(record: dict, path: str, config: dict, via: str = "") -> None:
    """``record`` (and the records nested in it) were made under ``config``'s settings."""
    dataset = record["settings"]["name"]
    try:
        view = dataset_settings(config, dataset)
    except ConfigError:
        raise ResultFileError(f"{path} was made{via} for dataset '{dataset}', which this config does not define; "
                              f"{rebuild_hint(path)}") from None
    expected = json.loads(json.dumps(rule_settings(view, record["rule"])))
    difference = _first_difference(record["settings"], expected)
    if difference:
        key, made, now = difference
        raise ResultFileError(f"{path} was made{via} with {key} = {json.dumps(made)}, but the config says "
                              f"{json.dumps(now)}; {rebuild_hint(path)}")
    for input_path, nested in record["inputs"].items():
        _check_settings(nested, path, config, via=f" from {input_path}")


def check_record(record: dict, path: str | os.PathLike, config: dict) -> None:
    """The file at ``path`` is the one its record says, made under ``config``; ResultFileError naming it if not."""
    path = os.path.normpath(path)
    if record["path"] != path:
        raise ResultFileError(f"{path} was written as {record['path']} (a copied or swapped file); {rebuild_hint(path)}")
    _check_settings(record, path, config)


def check_inputs(snakemake, external: tuple[str, ...] = ()) -> dict:
    """Check the records of a Snakemake job's inputs; return the record its outputs carry.

    The outputs' record names the job's rule, wildcards and settings and holds
    the records of every recorded input; the path is filled in by the writer
    (:func:`labelnoise.io.save_npz`, :func:`labelnoise.checkpoint.save_checkpoint`).
    ``external`` names inputs the user provides (a label file): they carry no record.
    """
    inputs = {}
    skipped = {os.path.normpath(snakemake.input[name]) for name in external}
    for path in snakemake.input:
        if os.path.normpath(path) in skipped:
            continue
        record = read_record(path)
        if record is not None:
            check_record(record, path, snakemake.config)
            inputs[os.path.normpath(path)] = record
    view = dataset_settings(snakemake.config, snakemake.wildcards.dataset)
    return {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "settings": rule_settings(view, snakemake.rule),
        "inputs": inputs,
    }
