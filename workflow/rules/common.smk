# Input functions and helpers shared by the rule files (stdlib only).
import json
import math
import sys

from stronglens.codehash import stage_code_hash
from stronglens.configcheck import input_files

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
    if ds["source"] == "parquet":
        return len(input_files(dataset, ds))
    return math.ceil(ds["n_pairs"] / ds["shard_size"])


def datasets_from(source):
    """Regex matching the names of datasets with this source (never matches if none)."""
    names = [n for n, ds in config["datasets"].items() if ds["source"] == source]
    return "|".join(names) if names else "(?!x)x"


def ingest_input(wildcards):
    return input_files(wildcards.dataset, dataset_cfg(wildcards.dataset))[int(wildcards.part)]


def shard_paths(wildcards):
    return expand(
        f"{RESULTS}/data/{wildcards.dataset}/pairs/part-{{part}}.parquet",
        part=range(n_shards(wildcards.dataset)),
    )


SPLITS = ["train", "val", "test"]
MANIFEST_KEYS = ("split_by", "splits", "subsample", "tier_weights")
CHECK_KEYS = ("check_pairs_sample", "max_abs_nmgy")


def survey_cfg(dataset):
    """The slice of a dataset block that the simulated survey depends on."""
    block = dataset_cfg(dataset)
    return {k: v for k, v in block.items() if k not in MANIFEST_KEYS + CHECK_KEYS}


def manifest_cfg(dataset):
    """The slice of a dataset block that the manifest depends on."""
    return {k: dataset_cfg(dataset)[k] for k in MANIFEST_KEYS}


def all_targets():
    targets = [f"{RESULTS}/data/{name}/summary.json" for name in config["datasets"]]
    targets += [
        f"{RESULTS}/gates/data/{name}-{mode}.json"
        for name in config["datasets"]
        for mode in config["preprocessing"]
    ]
    return targets
