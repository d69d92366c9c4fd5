"""Fixtures shared across test modules, and how pytest-xdist shares the modules between its workers."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Modules that use the session's small digits run: one xdist group, so that it is made once.
SMALL_DIGITS_MODULES = {"test_faults", "test_report", "test_slurm"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Each module's tests on one worker (module fixtures such as a workflow run are made once); the modules that
    share the small digits run on one worker together."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        group = "small_digits" if module in SMALL_DIGITS_MODULES else module
        item.add_marker(pytest.mark.xdist_group(group))


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
