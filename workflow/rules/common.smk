# Input functions and helpers shared by the rule files (stdlib only).
import json
import math
import sys

from stronglens.codehash import stage_code_hash

PYTHON = sys.executable
SRC = str(Path(workflow.basedir) / "src")
RESULTS = config["results_dir"]


def as_json(obj):
    """Canonical JSON of a config slice: the params text Snakemake compares."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def code(stage):
    """Hash of the library sources a stage imports (see stronglens.codehash)."""
    return stage_code_hash(SRC, stage)


def dataset_cfg(dataset):
    return config["datasets"][dataset]


def n_shards(dataset):
    ds = dataset_cfg(dataset)
    return math.ceil(ds["n_pairs"] / ds["shard_size"])


def shard_paths(wildcards):
    return expand(
        f"{RESULTS}/data/{wildcards.dataset}/pairs/part-{{part}}.parquet",
        part=range(n_shards(wildcards.dataset)),
    )


def all_targets():
    return [f"{RESULTS}/data/{name}/summary.json" for name in config["datasets"]]
