"""Fixtures shared across test modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_digits_run(tmp_path_factory) -> Path:
    """The whole workflow run once locally on the small digits configuration; returns its results folder.

    Shared by the Slurm comparison, the report and the determinism tests. Tests
    must not change it: copy it first.
    """
    from slurm.workflow import snakemake

    workdir = tmp_path_factory.mktemp("small_digits_local")
    out = snakemake(workdir, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    return workdir / "results"
