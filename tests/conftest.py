"""Shared fixtures: small synthetic dataset blocks with the schema's defaults filled in; the end-to-end workflow run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import REPO, scratch_workflow, snakemake, validated


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


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """The real workflow run once on config/test.yaml (`all`), shared by the end-to-end tests."""
    wd = scratch_workflow(tmp_path_factory.mktemp("wf"))
    proc = snakemake(wd, "--configfile", "config/test.yaml", "--cores", "2", "all")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return wd
