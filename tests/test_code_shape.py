"""The library stays readable: small files, short functions, nothing written twice (issue: one way to do each thing)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "labelnoise"
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
#: A run of this many identical (non-blank) lines in two places is a copy.
MIN_REPEATED_LINES = 6


def _library_files() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


def test_no_library_file_is_longer_than_the_bound():
    long = {str(path.relative_to(LIBRARY)): n for path in _library_files() if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES}
    assert not long, f"library files over {MAX_FILE_LINES} lines: {long}"


def test_no_library_function_is_longer_than_the_bound():
    long = []
    for path in _library_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(LIBRARY)}:{node.name} ({length} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def repeated_blocks(files: dict[str, str], size: int = MIN_REPEATED_LINES) -> list[list[tuple[str, int]]]:
    """Places (file, first line) where the same ``size`` lines of code (stripped) stand more than once.

    Blank lines and imports do not count: modules that draw with the same
    libraries import the same names.
    """
    places = defaultdict(list)
    for name, text in files.items():
        lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)
                 if line.strip() and not line.startswith(("import ", "from "))]
        for start in range(len(lines) - size + 1):
            window = tuple(line for _, line in lines[start:start + size])
            places[window].append((name, lines[start][0]))
    return [where for where in places.values() if len(where) > 1]


def test_repeated_blocks_are_found():
    block = "\n".join(f"x{i} = f({i})" for i in range(6))
    assert repeated_blocks({"a.py": block, "b.py": "y = 1\n" + block}) == [[("a.py", 1), ("b.py", 2)]]
    assert repeated_blocks({"a.py": block, "b.py": block.replace("x3", "z3")}) == []


def test_no_block_of_six_lines_is_repeated_in_the_library():
    files = {str(path.relative_to(LIBRARY)): path.read_text() for path in _library_files()}
    repeated = repeated_blocks(files)
    assert not repeated, f"the same {MIN_REPEATED_LINES} lines stand in several places: {repeated[:5]}"


REPO = LIBRARY.parent
#: The modules that hold the science: they take plain arguments and know nothing of the workflow's configuration.
SCIENCE = ["data.py", "noise.py", "checks.py", "models.py", "training.py", "device.py", "analytic", "knn.py", "agreement.py",
           "plots", "selection.py", "appendix_a.py", "seed_stack.py", "augment.py"]


def test_no_science_module_imports_the_workflow_configuration():
    files = [path for name in SCIENCE for path in ([LIBRARY / name] if name.endswith(".py") else (LIBRARY / name).rglob("*.py"))]
    importers = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in getattr(node, "names", [])] if isinstance(node, ast.Import) else []
            if "labelnoise.config" in names:
                importers.append(str(path.relative_to(LIBRARY)))
    assert not importers, importers


def test_the_noise_types_are_listed_in_one_place():
    """No code outside labelnoise/noise_types.py spells out a list of three or more noise types."""
    names = {"random", "flip", "confusion", "concentrated", "instance", "human"}
    code = [*LIBRARY.rglob("*.py"), *(REPO / "rules").glob("*.smk"), REPO / "Snakefile", *(REPO / "workflow_scripts").glob("*.py")]
    lists = []
    for path in code:
        if path.name == "noise_types.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if len({name for name in names if f'"{name}"' in line}) >= 3:
                lists.append(f"{path.relative_to(REPO)}:{number}")
    assert not lists, lists


def test_no_training_default_outside_the_schema():
    import dataclasses

    from labelnoise.schema import section_defaults
    from labelnoise.training import TrainConfig

    fields = {field.name: field for field in dataclasses.fields(TrainConfig)}
    assert [name for name, field in fields.items() if field.default is not dataclasses.MISSING] == ["eval_batch_size"]
    assert set(fields) - {"eval_batch_size"} == set(section_defaults("train")) - {"threads"}


def test_train_lr_crosses_six_files_from_the_config_file_to_the_optimiser():
    """config.yaml -> rules/common.smk (read once, validated, each rule's settings: the rna-seq workflow's common.smk)
    -> labelnoise/config.py (the validation and the per-rule pick) -> rules/train.smk (params: the keys it reads) ->
    workflow_scripts/train_grid.py (a TrainConfig) -> labelnoise/training.py (TrainConfig, the optimiser). Each hop
    is checked, and no other file handles it."""
    def code(path):
        lines = (line.split("  # ")[0] for line in (REPO / path).read_text().splitlines())  # comments dropped
        return "\n".join(line for line in lines if not line.lstrip().startswith("#"))

    assert "config" not in code("Snakefile").replace('"rules/common.smk"', "")  # the Snakefile is not on the way
    common = code("rules/common.smk")
    assert 'configfile: "config.yaml"' in common and "validated_settings(config" in common and "def settings(" in common
    assert "def validated_settings(" in code("labelnoise/config.py") and "def pick_settings(" in code("labelnoise/config.py")
    train_grid_rule = code("rules/train.smk").split("rule collect_grid")[0]
    assert 'settings=settings("train_grid", "seeds", "grid_model", "train")' in train_grid_rule and "train_grid.py" in train_grid_rule
    script = code("workflow_scripts/train_grid.py")
    assert "TrainConfig.from_settings(settings)" in script and "from labelnoise.training import TrainConfig, train_seeds" in script
    training = code("labelnoise/training.py")
    assert "class TrainConfig" in training and "lr=config.lr" in training
    readers = [str(path.relative_to(REPO)) for path in [*LIBRARY.rglob("*.py"), *(REPO / "workflow_scripts").glob("*.py")]
               if re.search(r"\bconfig\.lr\b", path.read_text())]
    assert readers == ["labelnoise/training.py"], readers


def test_no_statement_is_an_expression_written_for_its_side_effect():
    """``(a(), b())`` or ``x and f()`` as a statement hides a call in an expression: write the statements out."""
    hidden = []
    for path in _library_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Tuple, ast.List, ast.BoolOp, ast.IfExp,
                                                                      ast.ListComp, ast.SetComp, ast.DictComp)):
                hidden.append(f"{path.relative_to(LIBRARY)}:{node.lineno}")
    assert not hidden, hidden
