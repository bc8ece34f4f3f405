# Helpers that every workflow file includes (stdlib only). Four parts, in order: constants, paths, config slices with
# input functions, targets. Every results/ path is written once, in PATHS, and named with path().
import json
import math
import os
import re
import shlex
from types import SimpleNamespace

from stronglens.config.codehash import stage_code_hash
from stronglens.config.selection_grid import resolved_grid
from stronglens.config.settings import settings_keys
from stronglens.config.validation import (
    GATES_EXECUTION_KEYS,
    UNPAIRED_SOURCES,
    catalog_rows,
    comparison_pairs,
    realism_catalog,
    realism_runs,
    execution_of,
    input_files,
    pretrained_parent,
    science_config,
    science_run,
    without,
)
from stronglens.data.settings import ManifestSettings
from stronglens.realism.settings import RealismSettings
from stronglens.selection.settings import SelectionFigureSettings, SelectionGatherSettings, SelectionShardSettings
from stronglens.sources.settings import SourceLibrarySettings
from stronglens.survey.settings import SkySettings, SurveySettings

# -- constants ---------------------------------------------------------------------------------------

SRC = str(Path(workflow.basedir) / "src")
RESULTS = config["results_dir"]
CAPTIONS = "../report"

SPLITS = ["train", "val", "test"]  # stronglens.storage.split_store.SPLITS
RUN_OUTPUTS = {"best": "best.pt", "history": "history.csv", "run_info": "run_info.json",
               "gate_history": "gate_history.csv", "timing": "timing.csv"}  # stronglens.train.loop.RUN_OUTPUTS
RUN_FIGURES = ("training", "roc", "gates", "theta_e_auroc", "core_sensitivity", "gallery", "gate_history")
SELECTION_FIGURES = ("selection_heatmaps", "selection_marginals", "selection_tornado", "selection_gallery", "selection_gap")
DATA_GATES = ("core_lr_auc", "radial_lr_auc", "radial_pre_lr_auc", "annulus_lr_auc")  # stronglens.gates.verdict

SELECTION_RUNS = list(RUNS) if config["selection"]["runs"] is None else config["selection"]["runs"]
REALISM_RUNS = realism_runs(config)
REALISM_FIGURES = ("realism_recall", "realism_embedding", "realism_diagnostics")
COMPARISONS = comparison_pairs(config, RUNS)
ENSEMBLE_RUNS = [r for r in RUNS if RUNS[r].get("ensemble")]  # combined, not trained (rule ensemble)
TRAINED_RUNS = [r for r in RUNS if r not in ENSEMBLE_RUNS]


def name_pattern(names):
    """A wildcard constraint matching exactly these run names (longest first; nothing when empty)."""
    return "|".join(sorted(names, key=len, reverse=True)) or "(?!x)x"


RUN_PATTERN = name_pattern(RUNS)
TRAINED_PATTERN = name_pattern(TRAINED_RUNS)
ENSEMBLE_PATTERN = name_pattern(ENSEMBLE_RUNS)

# -- paths -------------------------------------------------------------------------------------------

# Every output under results/, by kind. {field}s left unfilled by path() stay Snakemake wildcards.
PATHS = {
    "source_library": "sources/library.npz",
    "sources_figure": "figures/sources/{file}",
    "shard": "data/{dataset}/pairs/part-{part}.parquet",
    "survey_summary": "data/{dataset}/summary.json",
    "manifest": "data/{dataset}/manifest-{pairing}.parquet",
    "folder": "data/{dataset}/{pairing}/{mode}",
    "split": "data/{dataset}/{pairing}/{mode}/{split}.{ext}",
    "check": "checks/{dataset}/{check}.json",
    "data_gates": "gates/data/{dataset}-{mode}.json",
    "run_settings": "settings/runs/{run}.json",
    "run": "runs/{run}/{file}",
    "gates": "gates/{run}.json",
    "scores": "gates/{run}.scores.parquet",
    "experiments": "experiments.tsv",
    "compare": "compare/{a}--{b}.json",
    "decision": "decision.json",
    "selection_shard": "selection/{run}/shard-{scatteritem}.parquet",
    "selection": "selection/{run}/{file}",
    "realism": "realism/{run}.json",
    "realism_arrays": "realism/{run}.npz",
    "figure": "figures/{run}/{file}",
    "overview": "figures/{file}",
    "pipeline_info": "pipeline_info/{file}",
    "log": "logs/{rule}/{job}.log",
    "benchmark": "benchmarks/{rule}/{job}.tsv",
    "rule_log": "logs/{rule}.log",
    "rule_benchmark": "benchmarks/{rule}.tsv",
}


def path(kind, **fields):
    """results/<PATHS[kind]>, the given fields filled in; the others stay {wildcards} for Snakemake."""
    template = PATHS[kind]
    values = {name: fields.get(name, f"{{{name}}}") for name in re.findall(r"{(\w+)}", template)}
    unknown = set(fields) - set(values)
    if unknown:
        raise ValueError(f"path {kind!r} has no field(s) {sorted(unknown)} (template {template})")
    return f"{RESULTS}/{template.format(**values)}"


def job_log(rule, job=None):
    """results/logs/<rule>/<job>.log (job may hold wildcards, e.g. '{dataset}'); logs/<rule>.log for a single job."""
    return path("log", rule=rule, job=job) if job else path("rule_log", rule=rule)


def job_benchmark(rule, job=None):
    """results/benchmarks/<rule>/<job>.tsv, or benchmarks/<rule>.tsv for a single job."""
    return path("benchmark", rule=rule, job=job) if job else path("rule_benchmark", rule=rule)


def run_folder(run, pairing=None):
    """Preprocessed folder a run reads (its own pairing, or the one given)."""
    r = RUNS[run]
    return path("folder", dataset=r["dataset"], pairing=pairing or r["pairing"], mode=r["preprocessing"])


def split_files(folder, splits, exts=("npy", "index.parquet")):
    """The array and index file of each split of a preprocessed folder."""
    return [f"{folder}/{s}.{ext}" for s in splits for ext in exts]


def split_outputs(**fields):
    """A preprocessed folder's outputs, named as the preprocess stage declares them: <split>, <split>_index,
    <split>_profile."""
    out = {}
    for split in SPLITS:
        out[split] = path("split", split=split, ext="npy", **fields)
        out[f"{split}_index"] = path("split", split=split, ext="index.parquet", **fields)
        out[f"{split}_profile"] = path("split", split=split, ext="profile.npy", **fields)
    return out


def figure_outputs(names, category):
    """PNG (in the report, captioned) and PDF of each named figure of one run."""
    out = {}
    for name in names:
        out[name] = report(
            path("figure", file=f"{name}.png"),
            caption=f"{CAPTIONS}/{name}.rst",
            category=category,
            subcategory="{run}",
            labels={"run": "{run}", "figure": name.replace("_", " ")},
        )
        out[f"{name}_pdf"] = path("figure", file=f"{name}.pdf")
    return out


def out_args(wildcards, output):
    """`name=path` for every named output of a job: the stage's --out, so outputs are declared once, in the rule."""
    return " ".join(f"{name}={shlex.quote(p)}" for name, p in output.items())


# -- config slices and input functions ---------------------------------------------------------------

# Each stage gets exactly the keys its settings class reads (stronglens.<stage>.settings).
MANIFEST_KEYS = settings_keys(ManifestSettings)
SURVEY_KEYS = settings_keys(SurveySettings)
SKY_KEYS = settings_keys(SkySettings)
SOURCE_KEYS = settings_keys(SourceLibrarySettings)
# The selection block serves three rules: what changes the injections and scores, what only the tables
# read, and what the figures read. batch and device are execution settings (the shard rule's resources).
SELECTION_SHARD_KEYS = settings_keys(SelectionShardSettings)
SELECTION_GATHER_KEYS = settings_keys(SelectionGatherSettings)
SELECTION_FIGURE_KEYS = settings_keys(SelectionFigureSettings)
# The realism block less its targets (runs, lens_catalog) and execution keys (batch, device: the rule's resources).
REALISM_KEYS = settings_keys(RealismSettings)


def as_json(obj):
    """Canonical JSON of a config slice: the params text Snakemake compares."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def code(stage):
    """Hash of the library sources a stage imports (see stronglens.config.codehash)."""
    return stage_code_hash(SRC, stage)


def dataset_cfg(dataset):
    return config["datasets"][dataset]


def n_rows(dataset):
    ds = dataset_cfg(dataset)
    return catalog_rows(dataset, ds) if ds["source"] == "cutouts" else ds["n_pairs"]


def sources_cfg():
    """The sources block (the real-galaxy library's settings)."""
    return {k: config["sources"][k] for k in SOURCE_KEYS}


def sky_cfg(dataset):
    """The slice of a sky dataset block that every one of its shards depends on (SkySettings)."""
    return {k: dataset_cfg(dataset)[k] for k in SKY_KEYS}


def survey_library(wc):
    """The source library, for a synthetic survey whose arcs are real galaxies (none otherwise)."""
    uses = dataset_cfg(wc.dataset)["source_model"] == "real_galaxy"
    return {"library": path("source_library")} if uses else {}


def library_arg(wc, input):
    return f"--library {shlex.quote(input.library)}" if "library" in input.keys() else ""


def dataset_modes(dataset):
    """Preprocessing modes whose data gates a dataset gets: its preprocessing_modes, or every mode."""
    modes = dataset_cfg(dataset)["preprocessing_modes"]
    return list(config["preprocessing"]) if modes is None else modes


def sky_datasets():
    return [n for n, ds in config["datasets"].items() if ds["source"] == "sky"]


def n_shards(dataset):
    ds = dataset_cfg(dataset)
    if ds["source"] == "parquet":
        return len(input_files(dataset, ds))
    return math.ceil(n_rows(dataset) / ds["shard_size"])


def pairings(dataset):
    """Manifest variants a dataset has: cutouts and the stand-in sky are unpaired only."""
    return ["unpaired"] if dataset_cfg(dataset)["source"] in UNPAIRED_SOURCES else ["paired", "unpaired"]


def datasets_from(source):
    """Regex matching the names of datasets with this source (never matches if none)."""
    names = [n for n, ds in config["datasets"].items() if ds["source"] == source]
    return "|".join(names) if names else "(?!x)x"


def survey_cfg(dataset):
    """The slice of a dataset block that every shard of the simulated survey depends on (SurveySettings).

    n_pairs and shard_size enter a shard only through its row range
    (`shard_rows`), so raising n_pairs re-simulates only the shards it touches.
    """
    return {k: dataset_cfg(dataset)[k] for k in SURVEY_KEYS}


def shard_rows(wildcards):
    """'start stop' global row range of one shard."""
    ds = dataset_cfg(wildcards.dataset)
    start = int(wildcards.part) * ds["shard_size"]
    return f"{start} {min(n_rows(wildcards.dataset), start + ds['shard_size'])}"


def shard_paths(wildcards):
    return [path("shard", dataset=wildcards.dataset, part=part) for part in range(n_shards(wildcards.dataset))]


def ingest_input(wildcards):
    return input_files(wildcards.dataset, dataset_cfg(wildcards.dataset))[int(wildcards.part)]


def cutout_catalog(wc):
    return os.path.expanduser(dataset_cfg(wc.dataset)["catalog"])


def cutout_root_arg(wc):
    root = dataset_cfg(wc.dataset)["cutout_root"]
    return f"--root {shlex.quote(os.path.expanduser(root))}" if root else ""


def manifest_cfg(dataset):
    """The slice of a dataset block that the manifest depends on."""
    return {k: dataset_cfg(dataset)[k] for k in MANIFEST_KEYS}


def check_manifest(wc):
    """check_pairs reads the paired manifest, or the unpaired one for an unpaired source."""
    return path("manifest", dataset=wc.dataset, pairing=pairings(wc.dataset)[0])


def gate_inputs(kind):
    """data_gates inputs: every pairing's split arrays (kind 'npy') or indexes (kind 'index.parquet')."""

    def inputs(wc):
        return [path("split", dataset=wc.dataset, pairing=p, mode=wc.mode, split=s, ext=kind)
                for p in pairings(wc.dataset) for s in SPLITS]

    return inputs


def gate_folders(wc):
    return " ".join(f"--input {p} {path('folder', dataset=wc.dataset, pairing=p, mode=wc.mode)}" for p in pairings(wc.dataset))


def data_gate_thresholds():
    """The data gates' slice of gates.thresholds: the one table both data and model gates read."""
    return {k: config["gates"]["thresholds"][k] for k in DATA_GATES}


def gates_science():
    """The gates block without its execution keys (batch, device: the gates rule's resources)."""
    return without(config["gates"], GATES_EXECUTION_KEYS)


def run_preprocessing(run):
    return config["preprocessing"][RUNS[run]["preprocessing"]]


def has_pairs(run):
    return "paired" in pairings(RUNS[run]["dataset"])


def uses_hard_negatives(run):
    return RUNS[run]["train"]["hard_negatives"]["ratio"] > 0


def gated_in_training(run):
    """Gates during training with pairs to make validation hard negatives from (train.gates.every > 0)."""
    return (RUNS[run]["train"].get("gates") or {}).get("every", 0) > 0 and has_pairs(run)


def train_inputs(wc):
    """train and val arrays + indexes of the run's folder, the paired train split for hard negatives, and a
    fine-tune's parent best.pt (`pretrained: run:<name>`: built first, in the same workflow)."""
    files = split_files(run_folder(wc.run), ("train", "val"))
    if uses_hard_negatives(wc.run):
        files += split_files(run_folder(wc.run, "paired"), ("train",))
    if gated_in_training(wc.run):
        files += split_files(run_folder(wc.run, "paired"), ("train", "val"))
    parent = pretrained_parent(RUNS[wc.run])
    if parent:
        files.append(path("run", run=parent, file="best.pt"))
    return sorted(set(files))


def pretrained_arg(wc):
    """--pretrained-checkpoint for a fine-tune: the parent run's best.pt."""
    parent = pretrained_parent(RUNS[wc.run])
    return f"--pretrained-checkpoint {shlex.quote(path('run', run=parent, file='best.pt'))}" if parent else ""


def compare_selection_inputs(wc):
    """Both runs' completeness tables, when both have a selection function (else nothing: AUROC only)."""
    if wc.a in SELECTION_RUNS and wc.b in SELECTION_RUNS:
        return [path("selection", run=r, file="completeness.parquet") for r in (wc.a, wc.b)]
    return []


def decision_selection_inputs(wc):
    """The completeness table and summary of the run the sequential tree's step 3 reads, if it has one."""
    run = config["decisions"]["sequential"]["completeness_run"]
    if run not in SELECTION_RUNS:
        return []
    return [path("selection", run=run, file="completeness.parquet"), path("selection", run=run, file="summary.json")]


def ensemble_members(wc):
    """The member runs' best.pt of an ensemble run, in its order."""
    return [path("run", run=m, file="best.pt") for m in RUNS[wc.run]["ensemble"]["members"]]


def paired_arg(wc):
    needed = uses_hard_negatives(wc.run) or gated_in_training(wc.run)
    return f"--paired {shlex.quote(run_folder(wc.run, 'paired'))}" if needed else ""


def gates_inputs(wc):
    """Evaluation and validation splits of the run's folder, and the paired evaluation split for hard negatives."""
    g = config["gates"]
    files = split_files(run_folder(wc.run), (g["eval_split"], g["val_split"]), ("npy", "index.parquet", "profile.npy"))
    if has_pairs(wc.run):
        files += split_files(run_folder(wc.run, "paired"), (g["eval_split"],))
    if g["training_inputs"] and not RUNS[wc.run].get("ensemble"):  # the data gates on training-time inputs
        files += split_files(run_folder(wc.run), ("train",))
        if uses_hard_negatives(wc.run):
            files += split_files(run_folder(wc.run, "paired"), ("train",))
    return sorted(set(files))


def eval_paired_arg(wc):
    """--paired for gates and figures: the dataset's paired folder (evaluation hard negatives, gallery), if any."""
    return f"--paired {shlex.quote(run_folder(wc.run, 'paired'))}" if has_pairs(wc.run) else ""


def figures_paired_inputs(wc):
    """The run's paired evaluation split (gallery), when its dataset has pairs, and the raw shards."""
    if not has_pairs(wc.run):
        return []
    split = config["gates"]["eval_split"]
    return split_files(run_folder(wc.run, "paired"), (split,)) + shard_paths(SimpleNamespace(dataset=RUNS[wc.run]["dataset"]))


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
    inputs = {"checkpoint": path("run", run=wc.run, file="best.pt")}
    if "real_galaxy" in config["selection"]["source_models"]:
        inputs["library"] = path("source_library")
    if config["selection"]["hosts"] == "dataset":
        r = RUNS[wc.run]
        inputs["manifest"] = path("manifest", dataset=r["dataset"], pairing=r["pairing"])
        inputs["checks"] = [path("check", dataset=r["dataset"], check=c) for c in ("splits", "pairs")]
        inputs["shards"] = shard_paths(SimpleNamespace(dataset=r["dataset"]))
    return inputs


def realism_cfg():
    return {k: config["realism"][k] for k in REALISM_KEYS}


def catalog_cfg():
    """The lens catalog's settings (CatalogSettings): which dataset and split, its stamps, its PSF and gain."""
    name = realism_catalog(config)
    ds = dataset_cfg(name)
    return {"dataset": name, "source": ds["source"], "split": config["gates"]["eval_split"], "stamp_size": ds["stamp_size"],
            "gain_e_per_nmgy": ds.get("gain_e_per_nmgy", 100.0),
            "psf_model": "moffat" if ds["source"] == "sky" else ds.get("psf_model", "gaussian"),
            "moffat_beta": ds.get("moffat_beta", 3.5)}


def realism_inputs(wc):
    """best.pt, the catalog's manifest (after its checks), the run's manifest and the source library
    (real-galaxy injections)."""
    name = realism_catalog(config)
    r = RUNS[wc.run]
    inputs = {"checkpoint": path("run", run=wc.run, file="best.pt"),
              "catalog": path("manifest", dataset=name, pairing="unpaired"),
              "catalog_checks": [path("check", dataset=name, check=c) for c in ("splits", "pairs")],
              "run_manifest": path("manifest", dataset=r["dataset"], pairing=r["pairing"])}
    if "real_galaxy" in config["realism"]["source_models"]:
        inputs["library"] = path("source_library")
    return inputs


# -- targets -----------------------------------------------------------------------------------------


def figure_targets():
    """Every figure the report shows: per run, per selection run, and across runs."""
    targets = [path("figure", run=run, file=f"{name}.png") for run in RUNS for name in RUN_FIGURES]
    targets += [path("figure", run=run, file=f"{name}.png") for run in SELECTION_RUNS for name in SELECTION_FIGURES]
    targets += [path("figure", run=run, file=f"{name}.png") for run in REALISM_RUNS for name in REALISM_FIGURES]
    if RUNS:
        targets += [path("overview", file="runs.png"), path("overview", file="experiments.html")]
    return targets


def all_targets():
    targets = [path("source_library"), path("sources_figure", file="library.png")]
    targets += [path("survey_summary", dataset=name) for name in config["datasets"]]
    targets += [path("data_gates", dataset=name, mode=mode) for name in config["datasets"] for mode in dataset_modes(name)]
    targets += [path("run", run=run, file=file) for run in RUNS for file in RUN_OUTPUTS.values()]
    targets += [path("gates", run=run) for run in RUNS]
    if RUNS:
        targets += [path("experiments"), path("decision"), path("overview", file="decision.html")]
    targets += [path("compare", a=a, b=b) for a, b in COMPARISONS]
    targets += [path("selection", run=run, file="summary.json") for run in SELECTION_RUNS]
    targets += [path("realism", run=run) for run in REALISM_RUNS]
    targets += figure_targets()
    targets.append(path("pipeline_info", file="config.yaml"))
    return targets
