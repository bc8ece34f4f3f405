"""Config validation: the schema and the cross-field checks name the offending key."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml
from helpers import REPO, validated

BASE = {"datasets": {"s": {"source": "synthetic", "n_pairs": 10}}, "preprocessing": {"p": {"mode": "raw_robust", "annulus": [20, 32]}}}


def bad(path: list, value) -> dict:
    cfg = copy.deepcopy(BASE)
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return cfg


def test_default_and_test_configs_are_valid():
    for name in ("config.yaml", "test.yaml"):
        cfg = validated(yaml.safe_load((REPO / "config" / name).read_text()))
        for ds in cfg["datasets"].values():
            assert ds["footprint"]["n_fields"] >= 1 and ds["source_prior"]["theta_e"][0] > 0  # defaults filled


@pytest.mark.parametrize(
    "path, value, key",
    [
        (["datasets", "s", "n_pairz"], 3, "n_pairz"),  # unknown key
        (["datasets", "s", "n_pairs"], -5, "n_pairs"),  # negative count
        (["datasets", "s", "lens_prior", "q"], [0.5, 1.2], "q"),  # q outside (0, 1]
        (["datasets", "s", "source_prior", "q"], [0.0, 1.0], "q"),
        (["datasets", "s", "stamp_size"], "big", "stamp_size"),
        (["typo_top_level"], 1, "typo_top_level"),
    ],
)
def test_schema_errors_name_the_key(path, value, key):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError, match=key):
        validated(bad(path, value))


@pytest.mark.parametrize(
    "path, value, key",
    [
        (["datasets", "s", "stamp_size"], 48, r"preprocessing\.p\.annulus"),  # stamp smaller than the annulus
        (["preprocessing", "p", "annulus"], [30, 20], r"preprocessing\.p\.annulus"),
        (["datasets", "s", "splits"], {"train": 0.5, "val": 0.2, "test": 0.2}, r"datasets\.s\.splits"),
        (["datasets", "s", "source_prior", "mag_r"], [25.0, 22.0], r"datasets\.s\.source_prior\.mag_r"),
        (["datasets", "s", "source_prior", "theta_e"], [0.5, 6.0], r"datasets\.s\.source_prior\.theta_e"),
    ],
)
def test_cross_field_errors_name_the_key(path, value, key):
    from stronglens.config.validation import ConfigError

    with pytest.raises(ConfigError, match=key):
        validated(bad(path, value))


RUN = {"dataset": "s", "pairing": "paired", "preprocessing": "p"}


def with_run(**fields) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg["runs"] = {"r": {**RUN, **fields}}
    return cfg


def test_a_run_inherits_training_and_overrides_only_what_it_names():
    cfg = copy.deepcopy(BASE)
    cfg["training"] = {"lr": 0.01, "hard_negatives": {"ratio": 0.3}}
    cfg["runs"] = {"a": dict(RUN), "b": {**RUN, "train": {"lr": 0.001, "hard_negatives": {"start_epoch": 2}}}}
    runs = validated(cfg)["resolved_runs"]
    assert runs["a"]["train"]["lr"] == 0.01 and runs["b"]["train"]["lr"] == 0.001
    assert runs["b"]["train"]["hard_negatives"] == {**runs["a"]["train"]["hard_negatives"], "start_epoch": 2}
    assert runs["a"]["train"]["epochs"] == 10 and runs["a"]["model"] == "bottlenecked_resnet"  # schema defaults
    assert runs["a"]["clip"] == 10


@pytest.mark.parametrize(
    "fields, key",
    [
        ({"model": "vgg16"}, "vgg16"),  # unknown model: schema
        ({"dataset": "nope"}, r"runs\.r\.dataset"),
        ({"preprocessing": "nope"}, r"runs\.r\.preprocessing"),
        ({"pretrained": "/no/such/imagenet.pth"}, r"runs\.r\.pretrained.*nothing is downloaded"),
        ({"train": {"lr": -1}}, r"(?s)runs\.r\.train.*-1"),
        ({"train": {"learning_rate": 0.1}}, r"(?s)runs\.r\.train.*learning_rate"),
        ({"train": {"micro_batch": 512, "batch_size": 64}}, r"runs\.r\.train\.micro_batch"),
        ({"train": {"core_dropout": {"schedule": [{"radius": 5, "p": 0.5}, {"radius": 3, "p": 0.3}]}}},
         r"runs\.r\.train\.core_dropout\.schedule"),
    ],
)
def test_bad_runs_are_refused_naming_the_key(fields, key):
    from snakemake.exceptions import WorkflowError

    from stronglens.config.validation import ConfigError

    with pytest.raises((ConfigError, WorkflowError), match=key):
        validated(with_run(**fields))


def test_workflow_refuses_a_bad_config_at_start(tmp_path):
    cfg = bad(["datasets", "s", "lens_prior", "q"], [0.5, 1.5])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(path)], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "lens_prior" in proc.stdout + proc.stderr and "1.5" in proc.stdout + proc.stderr
