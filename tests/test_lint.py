"""Snakemake conventions: lint clean, resources on every rule, logs and benchmarks, pinned environments."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
RULE_FILES = sorted((REPO / "rules").glob("*.smk"))
TRAINING_RULES = {"train_clean", "train_grid", "train_subset"}
#: Rules whose jobs take long enough that their timings are worth keeping.
HEAVY_RULES = {"train_clean", "train_grid", "train_subset", "analytic", "embed", "kmeans", "fig1", "knn_agreement"}


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, for every rule in rules/*.smk."""
    blocks = {}
    for path in RULE_FILES:
        text = path.read_text()
        for match in re.finditer(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", text, re.S | re.M):
            blocks[match.group(1)] = match.group(2)
    return blocks


def directive(block: str, name: str) -> str:
    """The body of one directive (``resources``, ``log``, ...) of a rule's text, or ''."""
    match = re.search(rf"^    {name}:(.*?)(?=^    \w+:|\Z)", block, re.S | re.M)
    return match.group(1) if match else ""


def test_lint_is_clean(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(REPO / "tests" / "data" / "digits_workflow.yaml")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0 and "Lints for" not in out.stdout + out.stderr, out.stdout + out.stderr


def test_every_rule_declares_threads_memory_and_runtime():
    blocks = rule_blocks()
    assert {"prepare_data", "train_grid", "fig5", "summary"} <= set(blocks)
    missing = {}
    for rule, block in blocks.items():
        resources = directive(block, "resources")
        lacks = [key for key in ("mem_mb", "runtime") if not re.search(rf"^\s+{key}=", resources, re.M)]
        if not re.search(r"^    threads:", block, re.M):
            lacks.append("threads")
        if lacks:
            missing[rule] = lacks
    assert not missing, f"rules without resources: {missing}"


def test_training_rules_declare_a_gpu_resource():
    blocks = rule_blocks()
    for rule in TRAINING_RULES:
        assert re.search(r"^\s+gpu=", directive(blocks[rule], "resources"), re.M), rule


def test_every_rule_logs_under_results_logs_and_heavy_rules_are_benchmarked():
    blocks = rule_blocks()
    for rule, block in blocks.items():
        assert f'log_path("{rule}"' in directive(block, "log"), f"{rule} has no log under results/logs/{rule}"
    for rule in HEAVY_RULES:
        assert f'bench_path("{rule}"' in directive(blocks[rule], "benchmark"), f"{rule} has no benchmark"


def test_profiles_parse_and_name_the_slurm_executor():
    slurm = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert slurm["executor"] == "slurm" and slurm["retries"] >= 1 and slurm["latency-wait"] >= 10
    assert {"mem_mb", "runtime"} <= set(slurm["default-resources"])
    assert all(slurm["set-resources"][rule]["gpu"] >= 1 for rule in TRAINING_RULES)
    local = yaml.safe_load((REPO / "profiles" / "local" / "config.yaml").read_text())
    assert "executor" not in local and local["cores"] == "all"


def pins(requirements) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", requirement.strip())
        assert match, f"not an exact pin: {requirement!r}"
        found[match.group(1).lower()] = match.group(2)
    return found


def test_conda_environments_pin_the_same_versions_as_pyproject():
    declared = pins(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    assert "snakemake-executor-plugin-slurm" in declared
    for env in sorted((REPO / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        pip = next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict) and "pip" in item)
        assert pins(pip) == declared, env.name  # exact pins only: no "-e ..", no path


def test_workflow_files_are_formatted_with_the_pinned_snakefmt():
    """snakefmt (pinned in the test extra, line length in pyproject.toml) would change nothing."""
    from importlib.metadata import version

    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert f"snakefmt=={version('snakefmt')}" in pins
    out = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_snakefile_declares_its_minimum_snakemake():
    assert re.search(r'^min_version\("9\.\d+"\)$', (REPO / "Snakefile").read_text(), re.M)


def test_licence_and_citation_files():
    """An OSI licence (MIT) and a CITATION.cff that cites the paper and this workflow."""
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software" and citation["license"] == "MIT"
    assert citation["version"] == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    paper = citation["preferred-citation"]
    assert paper["title"] == "On the Resistance of Neural Nets to Label Noise"
    assert [author["family-names"] for author in paper["authors"]] == ["Drory", "Avidan", "Giryes"]


def test_every_rule_declares_its_own_settings():
    """Each rule's params name the config keys it reads under its own name (rules/common.smk:settings), which its
    records hold: a rule without them, or one that kept another rule's name, would be judged by other settings."""
    text = "".join(path.read_text() for path in RULE_FILES)
    declared = re.findall(r'settings=settings\("(\w+)"', text)
    rules = re.findall(r"^(?:rule (\w+):|use rule \w+ as (\w+) with:)", text, re.M)
    names = [plain or used for plain, used in rules if (plain or used) != "all"]
    assert sorted(declared) == sorted(names), set(declared) ^ set(names)


def test_scripts_read_the_config_only_through_their_recorded_settings():
    """A record holds its rule's params.settings. A script that read snakemake.config, or a param made from the config
    beside settings, would read keys its record does not hold, and changing them would never rebuild its output. The
    exceptions: where prepare_data reads the data from (data_dir, mirrors: its record holds the MD5s of the files read
    instead), and run_description's views, made from its settings (the whole resolved config)."""
    readers = {path.name for path in (REPO / "workflow_scripts").glob("*.py") if "snakemake.config" in path.read_text()}
    assert readers <= {"prepare_data.py"}, readers
    for rule, block in rule_blocks().items():
        params = [line for line in directive(block, "params").splitlines() if "=" in line and "settings=" not in line]
        from_config = [line.strip() for line in params if re.search(r"config|SETTINGS", line.split("#")[0])]
        assert rule == "run_description" or not from_config, (rule, from_config)
