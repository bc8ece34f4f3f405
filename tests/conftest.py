"""Shared fixtures: small synthetic dataset blocks with the schema's defaults filled in; the end-to-end workflow run."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
TRAINING_SCHEMA = REPO / "workflow" / "schemas" / "training.schema.yaml"


def validated(config: dict) -> dict:
    """Validate a config as the Snakefile does (filling defaults); resolved runs go under "resolved_runs"."""
    from snakemake.utils import validate

    from stronglens.configcheck import check_config, resolve_runs

    config = copy.deepcopy(config)
    validate(config, str(SCHEMA))
    check_config(config)
    config["resolved_runs"] = resolve_runs(config, lambda train: validate(train, str(TRAINING_SCHEMA)))
    return config


@pytest.fixture
def dataset_block():
    """A factory for a validated synthetic dataset block; keyword args override the block."""

    def make(**overrides) -> dict:
        block = {"source": "synthetic", "stamp_size": 64, "n_pairs": 12, "shard_size": 6, "footprint": {"n_fields": 3}}
        block.update(overrides)
        return validated({"datasets": {"d": block}})["datasets"]["d"]

    return make


@pytest.fixture(scope="session")
def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run Snakemake with this interpreter's bin folder first on PATH (jobs call `python`)."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, env=env)


def scratch_workflow(wd: Path) -> Path:
    """A copy of the workflow files in `wd` (the library linked, results empty)."""
    wd.mkdir(parents=True, exist_ok=True)
    for item in ("Snakefile", "workflow", "config", "profiles", "Makefile"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, wd / item)
    (wd / "src").symlink_to(REPO / "src")
    return wd


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """The real workflow run once on config/test.yaml (`all`), shared by the end-to-end tests."""
    wd = scratch_workflow(tmp_path_factory.mktemp("wf"))
    proc = snakemake(wd, "--configfile", "config/test.yaml", "--cores", "2", "all")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return wd


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    lines = output.split("Job stats:", 1)[1].splitlines()
    counts = {}
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def dry_run_with(workdir: Path, tmp_path: Path, change) -> dict[str, int]:
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    change(cfg)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(workdir, "--configfile", str(path), "-n", "all")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return job_counts(proc.stdout + proc.stderr)
