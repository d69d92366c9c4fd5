"""The rules' environment works wherever Snakemake puts it: pins only, the library found from the workflow folder."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from slurm.workflow import CONFIGS, REPO

ENV_FILE = REPO / "envs" / "labelnoise.yaml"


def env_pins() -> list[str]:
    spec = yaml.safe_load(ENV_FILE.read_text())
    return next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict) and "pip" in item)


def test_the_env_file_holds_no_path():
    """Snakemake copies the file into .snakemake/conda/<hash>.yaml before building it: a relative path would break."""
    text = ENV_FILE.read_text()
    assert "-e " not in text and ".." not in text.split("dependencies:", 1)[1]
    assert all("==" in pin and "/" not in pin for pin in env_pins())


@pytest.mark.slow
def test_rules_run_in_a_fresh_environment_built_from_the_env_pins_alone(tmp_path):
    """A new venv with exactly the env file's pins (no labelnoise installed) runs the workflow's first rules."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # --no-compile: the jobs compile what they import; byte-compiling every installed module would double the install
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile", *env_pins()],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert subprocess.run([str(python), "-c", "import labelnoise"], cwd=tmp_path, capture_output=True).returncode != 0
    workdir = tmp_path / "work"
    out = subprocess.run(
        [str(python), "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", *map(str, CONFIGS),
         "--directory", str(workdir), "--cores", "2", "results/digits/clean/softmax.npz"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (workdir / "results" / "digits" / "clean" / "softmax.npz").exists()
