"""Fixtures shared across test modules, and the environment of the workflow runs the tests start.

The suite runs on two pytest-xdist workers (pyproject.toml), each test module on one worker (``--dist
loadscope``: a module's fixtures, such as its workflow run, are made once).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from filelock import FileLock

# Two workers each run Snakemake jobs whose torch threads fill the two cores. OpenMP threads that spin while they
# wait for their peers then steal the cores from the other worker's jobs and every run slows several-fold; passive
# waiting yields the core instead. Inherited by every process the tests start (Snakemake, its jobs, Slurm jobs).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The modules that run the workflow, longest first (measured with the suite's --durations). Each module goes whole to
# one of the two workers, in collection order, and a worker takes the next module when it runs out: the longest go
# out first and the short ones fill in at the end (longest-first list scheduling), so both workers end together.
LONGEST_FIRST = ["test_faults", "test_workflow", "test_workflow_paper", "test_records_chain", "test_slurm",
                 "test_workflow_cifar", "test_env", "test_extending", "test_report", "test_resume"]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))  # stable: the rest in order


@pytest.fixture(scope="session")
def small_digits_run(tmp_path_factory, worker_id) -> Path:
    """The whole workflow run once locally on the small digits configuration; returns its results folder.

    Shared by the Slurm comparison, the report and the determinism tests. Tests
    must not change it: copy it first. Under pytest-xdist the first worker to
    need it makes it and the others wait for it (the file-lock recipe of
    pytest-xdist's documentation), so that the modules using it can run on
    different workers.
    """
    if worker_id == "master":  # not distributed
        return _make_small_digits_run(tmp_path_factory.mktemp("small_digits_local"))
    shared = tmp_path_factory.getbasetemp().parent  # common to all workers of this session
    record = shared / "small_digits_run.json"
    with FileLock(str(record) + ".lock"):
        if record.is_file():
            return Path(json.loads(record.read_text())["results"])
        results = _make_small_digits_run(shared / "small_digits_local")
        record.write_text(json.dumps({"results": str(results)}))
        return results


def _make_small_digits_run(workdir: Path) -> Path:
    from slurm.workflow import snakemake

    out = snakemake(workdir, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    return workdir / "results"
