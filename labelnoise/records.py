"""What made each result file: the one guard against stale, swapped or changed results.

Every file a rule writes gets a record beside it (``dir/.name.record.json``):
the rule and wildcards that wrote it, the settings it was made under (the
rule's ``params.settings``: the config keys it reads, the noise levels a
collecting rule gathers), the SHA-256 of every input file it was made from,
and its own SHA-256. While Snakemake builds its DAG, the workflow compares
every record under ``results/`` with what the config would make now
(:func:`stale_results`): a file whose record is missing or unreadable, names
another path, holds other content, other settings, or inputs other than the
files now in their place, is forced to be rebuilt, and with it what depends on
it. As a DVC lock file or Bazel's action cache keys an output by its
dependencies' hashes, a file is current only with the very inputs it was made
from, so trust chains: a file copied with its record from a run that differed
anywhere upstream is rebuilt.

Why records and not Snakemake's own triggers: those live in ``.snakemake/``,
outside ``results/``, and see neither a copied-in file with an old
modification time nor a results folder moved without its metadata; a record
travels with the file and is judged by content. Jobs trust their inputs:
the check is made once, for the whole run, when the workflow starts. A
deliberately forged record (one written to match another file) is out of scope.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

from labelnoise.io import atomic_path

#: How a record's reason begins when the file is stale because an input it was made from changed.
INPUT_CHANGED = "it was made from another"
#: Folders of results/ that hold no rule outputs, by depth below results/: logs and benchmarks at its top, and each
#: dataset's resume checkpoints of killed jobs (results/<dataset>/resume/).
UNRECORDED_FOLDERS = {0: ("logs", "benchmarks"), 1: ("resume",)}


def record_path(path: str | os.PathLike) -> Path:
    """Where the record of the result file ``path`` lives: a hidden file beside it."""
    path = Path(path)
    return path.parent / f".{path.name}.record.json"


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plain(value: object) -> object:
    """``value`` as JSON reads it back (tuples as lists, keys as strings): records compare like for like."""
    return json.loads(json.dumps(value, sort_keys=True))


def write_records(snakemake) -> None:
    """Record every output file of a finished Snakemake job (the last call of each workflow script)."""
    inputs = {os.path.normpath(path): file_digest(path) for path in snakemake.input if os.path.isfile(path)}
    for output in snakemake.output:
        path = Path(output)
        if not path.is_file():
            continue
        stat = path.stat()
        record = {
            "path": os.path.normpath(output),
            "rule": snakemake.rule,
            "wildcards": dict(snakemake.wildcards.items()),
            "settings": plain(snakemake.params.settings),
            "inputs": inputs,
            "sha256": file_sha256(path),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }
        if record_path(path).is_dir():  # a folder in the record's place is no record: replace it
            shutil.rmtree(record_path(path))
        with atomic_path(record_path(path)) as tmp:
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def read_record(path: str | os.PathLike) -> dict | None:
    """The record of the result file ``path``, or None where it has none that can be read."""
    try:
        record = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


@functools.lru_cache(maxsize=None)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, once per (path, size, modification time)."""
    record = read_record(path)
    if record and (record.get("size"), record.get("mtime_ns")) == (size, mtime_ns) and record.get("sha256"):
        return record["sha256"]  # its own record vouches for it: the file is not read again
    return file_sha256(path)


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the file ``path``, from its record where size and modification time show it unchanged."""
    stat = os.stat(path)
    return _digest(os.path.normpath(path), stat.st_size, stat.st_mtime_ns)


def first_difference(made: object, expected: object, key: str = "") -> tuple[str, object, object] | None:
    """(dotted key, made value, expected value) of the first setting that differs, or None."""
    if isinstance(made, dict) and isinstance(expected, dict):
        for name in sorted(made.keys() | expected.keys()):
            found = first_difference(made.get(name), expected.get(name), f"{key}.{name}" if key else name)
            if found:
                return found
        return None
    return None if made == expected else (key, made, expected)


def stale_reason(path: Path, expected_settings: Callable[[str, dict], object | None]) -> str | None:
    """Why the result file ``path`` is not what this config would make (None if it is).

    ``expected_settings(rule, wildcards)``: the settings that rule would record
    now, or None when the config no longer makes such a file (then any record
    will do: the run does not use it).
    """
    record = read_record(path)
    if record is None or not {"rule", "wildcards", "settings"} <= record.keys():
        if not record_path(path).exists():
            return "it has no record (made by an older version of this workflow, or not by it)"
        return "its record cannot be read"
    if record.get("path") != os.path.normpath(path):
        return f"it was written as {record.get('path')} (a copied or swapped file)"
    expected = expected_settings(record["rule"], record["wildcards"])
    if expected is None:  # a file this config does not make (a removed dataset): not read, not hashed
        return None
    if file_digest(path) != record.get("sha256"):
        return "its content changed since it was made (a copied or swapped file)"
    difference = first_difference(record["settings"], plain(expected))
    if difference:
        key, was, now = difference
        return f"it was made with {key} = {json.dumps(was)}, the config says {json.dumps(now)}"
    if not isinstance(record.get("inputs"), dict):
        return "its record names no inputs (made by an older version of this workflow)"
    for source, digest in sorted(record["inputs"].items()):
        if os.path.isfile(source) and file_digest(source) != digest:
            return f"{INPUT_CHANGED} {source} than the one there now (copied from another run, or remade)"
    return None


def result_files(results: str | os.PathLike) -> Iterable[Path]:
    """Every rule output under ``results`` (records, logs, benchmarks, resume checkpoints and partial files aside)."""
    results = Path(results)
    for root, folders, files in os.walk(results):
        unrecorded = UNRECORDED_FOLDERS.get(len(Path(root).relative_to(results).parts), ())
        folders[:] = [name for name in folders if not name.startswith(".") and name not in unrecorded]
        for name in sorted(files):
            if not name.startswith("."):  # records, and the partial files of running writers
                yield Path(os.path.normpath(os.path.join(root, name)))


def stale_results(results: str | os.PathLike, expected_settings: Callable[[str, dict], object | None]) -> dict[str, str]:
    """Result files under ``results`` that this config would not make as they are: path -> reason."""
    stale = {}
    for path in result_files(results):
        reason = stale_reason(path, expected_settings)
        if reason:
            stale[str(path)] = reason
    return stale
