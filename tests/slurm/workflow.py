"""Helpers shared by the Slurm, report and fault tests: run the small digits workflow, compare tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
CONFIGS = [REPO / "tests" / "data" / "digits_workflow.yaml", REPO / "tests" / "slurm" / "digits_small.yaml"]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", *map(str, CONFIGS)]
#: Columns that measure time, not results: they differ between any two runs.
TIMING_COLUMNS = {"wall_s"}


def snakemake(workdir: Path, *args: str, timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    """Run Snakemake on the small digits configuration in ``workdir``."""
    return subprocess.run(
        SNAKEMAKE + ["--directory", str(workdir), *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def result_tables(results: Path) -> dict[str, pd.DataFrame]:
    """Every CSV result table under ``results`` (relative path -> table), timing columns dropped."""
    tables = {}
    for path in sorted(results.rglob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # text: compare bit for bit
        tables[str(path.relative_to(results))] = frame.drop(columns=[c for c in frame.columns if c in TIMING_COLUMNS])
    return tables


def table_differences(left: Path, right: Path, subset: bool = False) -> list[str]:
    """Tables (timing columns aside) that differ between two results folders; empty if all are identical.

    With ``subset``, ``right`` may hold fewer tables (a run of fewer targets).
    """
    a, b = result_tables(left), result_tables(right)
    problems = [] if subset else [f"{name}: only in {left}" for name in a.keys() - b.keys()]
    problems += [f"{name}: only in {right}" for name in b.keys() - a.keys()]
    for name in sorted(a.keys() & b.keys()):
        if not a[name].equals(b[name]):
            problems.append(f"{name}: differs")
    return problems
