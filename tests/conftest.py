"""Shared fixtures: small synthetic dataset blocks with the schema's defaults filled in."""

from __future__ import annotations

import copy
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
