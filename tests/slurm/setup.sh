#!/usr/bin/env bash
# System packages for the Slurm and report tests: Debian's slurm-wlm and munge
# (a real single-node Slurm, tests/slurm/cluster.sh) and chromium (the report
# renders headless). .ci/run calls this before the test command. Needs root and
# apt; without them it says so and the tests that need these packages skip.
set -euo pipefail

packages=(slurm-wlm munge chromium)
missing=()
for tool in slurmctld slurmd munged chromium; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if (( ${#missing[@]} == 0 )); then
    echo "setup: slurm-wlm, munge and chromium already installed"
    exit 0
fi
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "setup: not root or no apt-get; the Slurm and Chromium tests will be skipped (missing: ${missing[*]})" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null
echo "setup: installed ${packages[*]}"
