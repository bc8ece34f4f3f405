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


@pytest.fixture(scope="session")
def source_library(tmp_path_factory):
    """The default real-galaxy source library, built once (a few seconds) and written to a temporary file."""
    from stronglens.sources.deep_field import deep_field_rgb, linear_bands
    from stronglens.sources.library import build_library, load_library, save_library
    from stronglens.sources.segmentation import segment_galaxies
    from stronglens.sources.settings import SourceLibrarySettings

    s = SourceLibrarySettings()
    path = tmp_path_factory.mktemp("sources") / "library.npz"
    save_library(build_library(segment_galaxies(linear_bands(deep_field_rgb(), s.display_gamma), s), s, 42), path, {})
    return load_library(path)
