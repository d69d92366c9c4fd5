"""Cluster submission for real: a job of every heavy rule of the small digits workflow through `snakemake --profile
profiles/slurm`, its tables compared with the session's local run.

A single-node Slurm (munged, slurmctld, slurmd from Debian's slurm-wlm) is
started on 127.0.0.1 by tests/slurm/cluster.sh and stopped by PID files at the
end. The node declares two stand-in GPUs, so the profile's `gpu: 1` requests
of the training rules are scheduled as on a GPU cluster (torch runs on the
CPU). Differences from a production cluster, passed on the command line: no
accounting database, so no account (`--slurm-no-account`) and squeue instead of
sacct for job states; short status-check waits. Needs root, slurm-wlm and munge
(tests/slurm/setup.sh); skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from slurm.workflow import REPO, snakemake, table_differences

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
NEEDED = ("slurmctld", "slurmd", "sbatch", "squeue", "munged", "munge", "unmunge")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(shutil.which(tool) is None for tool in NEEDED),
        reason="Slurm test needs Debian's slurm-wlm and munge (bash tests/slurm/setup.sh installs them)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="Slurm test starts slurmd, which needs root"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-node Slurm; its state, logs and PID files in a temp folder."""
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(CLUSTER), "start", str(state)], capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield state
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(state)], capture_output=True, text=True, timeout=60)


#: A job of every heavy rule (SUBMITTED_RULES) and of local ones (make_noise, fit_k, Fig. 5): each rule once or twice,
#: not the whole grid, whose other levels and figures are more jobs of the same rules.
TARGETS = ["results/fig5_digits.pdf", "results/fig1_digits.pdf", "results/digits/appendix_a/summary.csv",
           "results/digits/agreement/random.csv", "results/digits/scaling/0.5/random/0.20.csv",
           "results/digits/analytic/instance_realised.csv", "results/digits/clean/softmax.npz",
           "results/digits/clean/train_softmax.npz"]


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The small digits workflow's heavy rules submitted through the SLURM profile; (results folder, output, seconds)."""
    workdir = tmp_path_factory.mktemp("small_digits_slurm")
    start = time.monotonic()
    out = snakemake(
        workdir,
        "--profile", str(REPO / "profiles" / "slurm"),
        "--slurm-no-account",
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs",
        "--latency-wait", "5",
        "--", *TARGETS,
        timeout=1800,  # a stuck job fails the test; its time is printed (-s), not asserted
    )
    seconds = time.monotonic() - start
    print(f"Slurm workflow run: {seconds:.0f} s")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return workdir / "results", out.stdout + out.stderr, seconds


def slurm_jobs() -> dict[str, dict[str, str]]:
    """Slurm's record of the jobs it ran (kept for MinJobAge), job id -> fields of `scontrol show job`."""
    out = subprocess.run(["scontrol", "show", "job", "--oneliner"], capture_output=True, text=True, check=True)
    jobs = {}
    for line in out.stdout.splitlines():
        fields = dict(re.findall(r"(\S+?)=(\S*)", line))
        jobs[fields["JobId"]] = fields
    return jobs


#: Rules whose jobs are worth a node; every other rule is a `localrule` (seconds of work on the submitting node).
SUBMITTED_RULES = {"prepare_data", "train_clean", "embed", "embed_test", "softmax_clean", "kmeans", "train_grid",
                   "train_subset", "softmax_clean_train", "analytic", "analytic_realised", "appendix_a", "knn_baseline",
                   "knn_agreement", "fig1"}


def test_only_the_heavy_jobs_went_through_slurm(cluster, slurm_run):
    results, output, _ = slurm_run
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    jobs = slurm_jobs()
    assert submitted and set(submitted) <= set(jobs)
    assert all(jobs[job]["JobState"] == "COMPLETED" for job in submitted)
    # the plugin names the rule in the job comment: exactly the heavy rules were submitted ...
    rules = [re.match(r"rule_(\w+?)_wildcards", jobs[job]["Comment"]).group(1) for job in submitted]
    assert set(rules) == SUBMITTED_RULES
    # ... each of their jobs once, and the small ones ran on the submitting node
    planned = {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1], re.M)}
    assert len(submitted) == sum(count for rule, count in planned.items() if rule in SUBMITTED_RULES)
    assert {"fit_k", "fig5", "make_noise"} <= planned.keys() - SUBMITTED_RULES
    # Slurm's own completion record (JobCompType=jobcomp/filetxt)
    record = (cluster / "log" / "jobcomp.txt").read_text()
    assert set(submitted) <= set(re.findall(r"JobId=(\d+) .*JobState=COMPLETED", record))
    assert len(list((results.parent / ".snakemake" / "slurm_logs" / "rule_train_grid").rglob("*.log"))) == 2


def test_training_jobs_requested_a_gpu(cluster, slurm_run):
    """The profile's set-resources reached sbatch: exactly the training jobs held a (stand-in) GPU."""
    _, output, _ = slurm_run
    jobs = slurm_jobs()
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    with_gpu = {job for job in submitted if "gpu" in jobs[job].get("TresPerJob", "")}
    training = {job for job in submitted if re.match(r"rule_train_(grid|clean|subset)_", jobs[job]["Comment"])}
    assert len(training) == 4 and with_gpu == training  # train_clean, train_grid random and instance 0.2, train_subset


def test_slurm_outputs_equal_a_local_run(slurm_run, small_digits_run):
    results, _, _ = slurm_run
    assert table_differences(small_digits_run, results, subset=True) == []
    assert len(list(results.rglob("*.csv"))) >= 10

