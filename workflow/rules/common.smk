# Input functions and helpers shared by the rule files (stdlib only).
import json
import math
import os
import shlex
from types import SimpleNamespace

from stronglens.config.codehash import stage_code_hash
from stronglens.config.validation import (
    GATES_EXECUTION_KEYS,
    catalog_rows,
    execution_of,
    input_files,
    science_config,
    science_run,
    without,
)
from stronglens.config.selection_grid import resolved_grid
from stronglens.config.settings import settings_keys
from stronglens.selection.settings import SelectionFigureSettings, SelectionGatherSettings, SelectionShardSettings

SRC = str(Path(workflow.basedir) / "src")
RESULTS = config["results_dir"]


def as_json(obj):
    """Canonical JSON of a config slice: the params text Snakemake compares."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def out_args(wildcards, output):
    """`name=path` for every named output of a job: the stage's --out, so outputs are declared once, in the rule."""
    return " ".join(f"{name}={shlex.quote(path)}" for name, path in output.items())


def code(stage):
    """Hash of the library sources a stage imports (see stronglens.config.codehash)."""
    return stage_code_hash(SRC, stage)


def dataset_cfg(dataset):
    return config["datasets"][dataset]


def n_shards(dataset):
    ds = dataset_cfg(dataset)
    if ds["source"] == "parquet":
        return len(input_files(dataset, ds))
    return math.ceil(n_rows(dataset) / ds["shard_size"])


def n_rows(dataset):
    ds = dataset_cfg(dataset)
    return catalog_rows(dataset, ds) if ds["source"] == "cutouts" else ds["n_pairs"]


def pairings(dataset):
    """Manifest variants a dataset has: cutouts are unpaired only."""
    return ["unpaired"] if dataset_cfg(dataset)["source"] == "cutouts" else ["paired", "unpaired"]


def gate_inputs(kind):
    """data_gates inputs: every pairing's split arrays (kind 'npy') or indexes (kind 'index.parquet')."""

    def inputs(wc):
        return [
            f"{RESULTS}/data/{wc.dataset}/{p}/{wc.mode}/{s}.{kind}"
            for p in pairings(wc.dataset)
            for s in SPLITS
        ]

    return inputs


def gate_folders(wc):
    return " ".join(f"--input {p} {RESULTS}/data/{wc.dataset}/{p}/{wc.mode}" for p in pairings(wc.dataset))


def cutout_catalog(wc):
    return os.path.expanduser(dataset_cfg(wc.dataset)["catalog"])


def cutout_root_arg(wc):
    root = dataset_cfg(wc.dataset)["cutout_root"]
    return f"--root {shlex.quote(os.path.expanduser(root))}" if root else ""


def check_manifest(wc):
    """check_pairs reads the paired manifest, or the unpaired one for an unpaired source."""
    return f"{RESULTS}/data/{wc.dataset}/manifest-{pairings(wc.dataset)[0]}.parquet"


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


SPLITS = ["train", "val", "test"]  # stronglens.storage.split_store.SPLITS


def split_outputs(folder):
    """A preprocessed folder's outputs, named as the preprocess stage declares them: <split>, <split>_index."""
    out = {}
    for split in SPLITS:
        out[split] = f"{folder}/{split}.npy"
        out[f"{split}_index"] = f"{folder}/{split}.index.parquet"
    return out
MANIFEST_KEYS = ("split_by", "splits", "subsample", "tier_weights")
CHECK_KEYS = ("check_pairs_sample", "max_abs_nmgy")


SHARDING_KEYS = ("n_pairs", "shard_size")


def survey_cfg(dataset):
    """The slice of a dataset block that every shard of the simulated survey depends on.

    n_pairs and shard_size enter a shard only through its row range
    (`shard_rows`), so raising n_pairs re-simulates only the shards it touches.
    """
    block = dataset_cfg(dataset)
    return {k: v for k, v in block.items() if k not in MANIFEST_KEYS + CHECK_KEYS + SHARDING_KEYS}


def shard_rows(wildcards):
    """'start stop' global row range of one shard."""
    ds = dataset_cfg(wildcards.dataset)
    start = int(wildcards.part) * ds["shard_size"]
    return f"{start} {min(n_rows(wildcards.dataset), start + ds['shard_size'])}"


DATA_GATES = ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc")


def data_gate_thresholds():
    """The data gates' slice of gates.thresholds: the one table both data and model gates read."""
    return {k: config["gates"]["thresholds"][k] for k in DATA_GATES}


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
    targets += [f"{RESULTS}/runs/{run}/{name}" for run in RUNS for name in RUN_OUTPUTS.values()]
    targets += [f"{RESULTS}/gates/{run}.json" for run in RUNS]
    if RUNS:
        targets.append(f"{RESULTS}/experiments.tsv")
    targets += [f"{RESULTS}/selection/{run}/summary.json" for run in SELECTION_RUNS]
    targets += figure_targets()
    targets.append(f"{RESULTS}/pipeline_info/config.yaml")
    return targets


def figure_targets():
    """Every figure the report shows: per run, per selection run, and across runs."""
    targets = [f"{RESULTS}/figures/{run}/{name}.png" for run in RUNS for name in RUN_FIGURES]
    targets += [f"{RESULTS}/figures/{run}/{name}.png" for run in SELECTION_RUNS for name in SELECTION_FIGURES]
    if RUNS:
        targets += [f"{RESULTS}/figures/runs.png", f"{RESULTS}/figures/experiments.html"]
    return targets


def figures_paired_inputs(wc):
    """The run's paired evaluation split (gallery), when its dataset has pairs."""
    if not has_pairs(wc.run):
        return []
    split = config["gates"]["eval_split"]
    return [f"{run_folder(wc.run, 'paired')}/{split}.{ext}" for ext in ("npy", "index.parquet")] + shard_paths(
        SimpleNamespace(dataset=RUNS[wc.run]["dataset"])
    )


def figures_paired_arg(wc):
    return f"--paired {shlex.quote(run_folder(wc.run, 'paired'))}" if has_pairs(wc.run) else ""


SELECTION_RUNS = list(RUNS) if config["selection"]["runs"] is None else config["selection"]["runs"]


# Exact slices of the selection block, each the fields of the settings class its stage parses: what changes
# the injections and scores, what only the tables read, and what the figures read. batch and device are
# execution settings (the shard rule's resources).
SELECTION_SHARD_KEYS = settings_keys(SelectionShardSettings)
SELECTION_GATHER_KEYS = settings_keys(SelectionGatherSettings)
SELECTION_FIGURE_KEYS = settings_keys(SelectionFigureSettings)


def gates_science():
    """The gates block without its execution keys (batch, device: the gates rule's resources)."""
    return without(config["gates"], GATES_EXECUTION_KEYS)


def run_settings_file(wc):
    """The small JSON file of a run's science settings that the run_settings rule writes."""
    return f"{RESULTS}/settings/runs/{wc.run}.json"


def selection_cfg(keys):
    """The named keys of the selection block, its grid resolved (a preset's values are part of the params)."""
    block = {**config["selection"], "grid": resolved_grid(config["selection"])}
    return {k: block[k] for k in keys}


def selection_psf(wc):
    """The PSF model of the run's dataset, which the selection's arcs and hosts are rendered with."""
    ds = dataset_cfg(RUNS[wc.run]["dataset"])
    return {"psf_model": ds.get("psf_model", "gaussian"), "moffat_beta": ds.get("moffat_beta", 3.5)}


def selection_inputs(wc):
    """The run's best.pt, and with selection.hosts = dataset its manifest and shards (the hosts' pixels)."""
    inputs = {"checkpoint": f"{RESULTS}/runs/{wc.run}/best.pt"}
    if config["selection"]["hosts"] == "dataset":
        r = RUNS[wc.run]
        inputs["manifest"] = f"{RESULTS}/data/{r['dataset']}/manifest-{r['pairing']}.parquet"
        inputs["checks"] = [f"{RESULTS}/checks/{r['dataset']}/{c}.json" for c in ("splits", "pairs")]
        inputs["shards"] = shard_paths(SimpleNamespace(dataset=r["dataset"]))
    return inputs


def run_preprocessing(run):
    return config["preprocessing"][RUNS[run]["preprocessing"]]


RUN_PATTERN = "|".join(sorted(RUNS, key=len, reverse=True)) or "(?!x)x"


def has_pairs(run):
    return "paired" in pairings(RUNS[run]["dataset"])


def gates_inputs(wc):
    """Evaluation and validation splits of the run's folder, and the paired evaluation split for hard negatives."""
    g = config["gates"]
    files = [f"{run_folder(wc.run)}/{s}.{ext}" for s in (g["eval_split"], g["val_split"]) for ext in ("npy", "index.parquet")]
    if has_pairs(wc.run):
        files += [f"{run_folder(wc.run, 'paired')}/{g['eval_split']}.{ext}" for ext in ("npy", "index.parquet")]
    return sorted(set(files))


def gates_paired_arg(wc):
    return f"--paired {shlex.quote(run_folder(wc.run, 'paired'))}" if has_pairs(wc.run) else ""


RUN_OUTPUTS = {"best": "best.pt", "history": "history.csv", "run_info": "run_info.json"}  # stronglens.train.loop


def run_folder(run, pairing=None):
    """Preprocessed folder a run reads (its own pairing, or the one given)."""
    r = RUNS[run]
    return f"{RESULTS}/data/{r['dataset']}/{pairing or r['pairing']}/{r['preprocessing']}"


def uses_hard_negatives(run):
    return RUNS[run]["train"]["hard_negatives"]["ratio"] > 0


def train_inputs(wc):
    """train and val arrays + indexes of the run's folder, and the paired train split for hard negatives."""
    folders = [(run_folder(wc.run), ("train", "val"))]
    if uses_hard_negatives(wc.run):
        folders.append((run_folder(wc.run, "paired"), ("train",)))
    return sorted({f"{folder}/{s}.{ext}" for folder, splits in folders for s in splits for ext in ("npy", "index.parquet")})


def paired_arg(wc):
    return f"--paired {shlex.quote(run_folder(wc.run, 'paired'))}" if uses_hard_negatives(wc.run) else ""


RUN_FIGURES = ("training", "roc", "gates", "theta_e_auroc", "core_sensitivity", "gallery")
SELECTION_FIGURES = ("selection_heatmaps", "selection_marginals", "selection_tornado", "selection_gallery")
CAPTIONS = "../report"


def figure_outputs(names, category):
    """PNG (in the report, captioned) and PDF of each named figure of one run."""
    out = {}
    for name in names:
        out[name] = report(
            f"{RESULTS}/figures/{{run}}/{name}.png",
            caption=f"{CAPTIONS}/{name}.rst",
            category=category,
            subcategory="{run}",
            labels={"run": "{run}", "figure": name.replace("_", " ")},
        )
        out[f"{name}_pdf"] = f"{RESULTS}/figures/{{run}}/{name}.pdf"
    return out
