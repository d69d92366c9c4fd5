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
    assert 'settings=settings("train_grid", "seeds", "grid_model", "train", "protocols")' in train_grid_rule and "train_grid.py" in train_grid_rule
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


# --- argument checks ("guards"): one check per kind of input, where a user's value enters ---------------------------

#: The most of the library's code lines that may be argument checks.
MAX_GUARD_SHARE = 0.07
#: The kinds of input with one check each, all in labelnoise/checks.py (name -> the kind).
ONE_CHECK_PER_KIND = {"check_k_list": "a list of K values", "check_labels": "labels in 0..L-1",
                      "check_softmax": "softmax rows", "check_tie": "the tie policy",
                      "check_confusion_matrix": "the confusion matrix"}


def _call_name(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def _is_check_name(name: str) -> bool:
    return name.startswith(("check_", "_check"))


def code_and_guard_lines(text: str) -> tuple[set[int], set[int]]:
    """(code lines, guard lines) of one module, as defined in
    :func:`test_guard_lines_are_at_most_seven_percent_of_the_library`."""
    tree = ast.parse(text)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    code = {number for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.strip().startswith("#") and number not in docstrings}
    guards = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and node.body and not node.orelse and all(isinstance(s, ast.Raise) for s in node.body):
            guards.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and _is_check_name(_call_name(node))):
            guards.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.FunctionDef) and _is_check_name(node.name):
            guards.add(node.lineno)
    return code, guards & code


def test_guard_lines_are_at_most_seven_percent_of_the_library():
    """Argument checks stay where a user's value enters (the config, checked once per run by labelnoise/config.py,
    and the public functions a researcher calls); inside, the library trusts its inputs.

    The measure, over every labelnoise/**/*.py: code lines are the non-blank lines that are neither comment-only
    nor part of a docstring (of a module, class or function). Guard lines are the code lines of an ``if``
    statement whose body is only ``raise`` statements (its test and its body; no ``else``), of any other
    ``raise`` statement, the ``def`` line of a function named ``check_*`` or ``_check*``, and the lines of every
    call to a function so named. Guard lines may be at most 7% of the code lines (12.0%, 700 of 5818, before
    the checks were brought to the edge)."""
    code = guards = 0
    for path in _library_files():
        module_code, module_guards = code_and_guard_lines(path.read_text())
        code, guards = code + len(module_code), guards + len(module_guards)
    assert guards <= MAX_GUARD_SHARE * code, f"{guards} guard lines of {code} code lines ({guards / code:.1%})"


def test_the_guard_measure_counts_what_its_definition_says():
    module = '''"""Doc."""


def check_x(value):  # def line: a guard
    """Doc."""
    if value < 0:
        raise ValueError(
            "negative")
    if value > 9:
        value = 9
        raise ValueError("big")
    return check_y(value,
                   1)
'''
    code, guards = code_and_guard_lines(module)
    assert code == {4, 6, 7, 8, 9, 10, 11, 12, 13} and guards == {4, 6, 7, 8, 11, 12, 13}


def _functions(tree: ast.AST):
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_each_kind_of_input_has_one_check_in_checks_py():
    """K lists, labels, softmax rows, the tie policy and the confusion matrix are each checked by one function of
    labelnoise/checks.py; no other function of the library is named like one of them."""
    defined = {node.name for node in _functions(ast.parse((LIBRARY / "checks.py").read_text()))}
    assert set(ONE_CHECK_PER_KIND) <= defined
    lookalike = re.compile(r"_?check_(k|tie|label|softmax|confusion|probabilit)")
    elsewhere = [f"{path.relative_to(LIBRARY)}:{node.name}" for path in _library_files() if path.name != "checks.py"
                 for node in _functions(ast.parse(path.read_text())) if lookalike.match(node.name)]
    assert not elsewhere, elsewhere


def test_the_checks_messages_are_written_once():
    """The words of each kind's check stand in labelnoise/checks.py only: nothing else re-implements one."""
    words = ["tie must be one of", "K must be", "K values must be", "must lie in 0..", "must be a 1-D integer array",
             "softmax must have shape", "confusion matrix must be square", "in TIE_POLICIES"]
    found = {word: [str(path.relative_to(LIBRARY)) for path in _library_files() for _ in range(path.read_text().count(word))]
             for word in words}
    assert all(places == ["checks.py"] for places in found.values()), found


def test_only_the_tie_check_and_the_method_check_list_allowed_values():
    """'must be one of' (a check of a value against a list of allowed ones) stands in two checks: the tie policy's
    (labelnoise.checks.check_tie) and the analytic engine's method (labelnoise.analytic.inputs.check_method)."""
    places = []
    for path in _library_files():
        for node in _functions(ast.parse(path.read_text())):
            if "must be one of" in ast.get_source_segment(path.read_text(), node):
                places.append(node.name)
    assert sorted(places) == ["check_method", "check_tie"], places


def test_the_kinds_checks_are_called_at_entry_points_only():
    """check_k_list, check_labels, check_softmax, check_tie and check_confusion_matrix are called by public
    functions (a researcher's entry points) or by the argument-check helpers of the config and of public functions
    (private functions named _check*), never by a private helper inside, and never by a plot (its tables come from
    the workflow)."""
    inside = []
    for path in _library_files():
        for function in _functions(ast.parse(path.read_text())):
            calls = {_call_name(node) for node in ast.walk(function) if isinstance(node, ast.Call)} & set(ONE_CHECK_PER_KIND)
            if calls and ((function.name.startswith("_") and not function.name.startswith("_check"))
                          or path.parent.name == "plots"):
                inside.append(f"{path.relative_to(LIBRARY)}:{function.name} calls {sorted(calls)}")
    assert not inside, inside
