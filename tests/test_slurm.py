"""The workflow at test size through a real single-node SLURM cluster (Debian's slurm-wlm, started here).

tests/slurm/start_slurm.sh starts munged, slurmctld and slurmd on localhost;
Snakemake submits every job with the real snakemake-executor-plugin-slurm
(`--profile tests/slurm/profile`); squeue then proves each job ran as a SLURM
job. Needs root and the packages slurm-wlm and munge (`make test` installs them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, job_counts, scratch_workflow

SLURM = REPO / "tests" / "slurm"


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slurm")
    start = subprocess.run([str(SLURM / "start_slurm.sh"), str(folder)], capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, f"the test SLURM cluster did not start:\n{start.stderr[-3000:]}"
    key, conf = start.stdout.strip().splitlines()[-1].split("=", 1)
    assert key == "SLURM_CONF"
    env = {**os.environ, "SLURM_CONF": conf, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    yield env
    subprocess.run([str(SLURM / "stop_slurm.sh"), str(folder)], capture_output=True, timeout=120)


def run_snakemake(wd: Path, env: dict, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Snakemake in `wd`; killed (it ignores SIGTERM while it waits on jobs) if it overruns."""
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=wd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"snakemake through SLURM overran {timeout} s:\n{out[-4000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def test_test_config_runs_through_slurm(slurm_env, tmp_path):
    wd = scratch_workflow(tmp_path / "wf")
    plan = run_snakemake(wd, slurm_env, "--configfile", "config/test.yaml", "-n", "all", timeout=120)
    assert plan.returncode == 0, plan.stdout[-3000:]
    expected = job_counts(plan.stdout)
    done = run_snakemake(wd, slurm_env, "--configfile", "config/test.yaml", "--profile", str(SLURM / "profile"), "all",
                         timeout=1500)
    assert done.returncode == 0, done.stdout[-6000:]
    assert "Nothing to be done" in run_snakemake(wd, slurm_env, "--configfile", "config/test.yaml", "-n", "all",
                                                 timeout=120).stdout
    # Every job but the local rules (`all`, `run_settings`) was a SLURM job that completed; the plugin names
    # each by its rule.
    jobs = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%T|%k"], env=slurm_env, capture_output=True, text=True,
                          check=True).stdout.split()
    ran: dict[str, int] = {}
    for line in jobs:
        state, comment = line.split("|", 1)
        assert state == "COMPLETED", line
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        ran[rule] = ran.get(rule, 0) + 1
    for local in ("all", "run_settings"):
        expected.pop(local)
    assert ran == expected, (ran, expected)
    assert (wd / "results" / "figures" / "runs.png").is_file()
