"""Checks of the workflow config that a JSON schema cannot express (stdlib only).

The schema (workflow/schemas/config.schema.yaml) catches unknown keys, types
and ranges; `check_config` adds the cross-field rules and names the offending
key path in its error, e.g. ``datasets.synth.stamp_size``.
"""

from __future__ import annotations

import math


class ConfigError(ValueError):
    """A config value that the workflow cannot honour; the message names the key."""


SIMULATED_SOURCES = ("synthetic", "sky")  # datasets the workflow simulates itself
UNPAIRED_SOURCES = ("sky", "cutouts")  # one labelled image per row: no control image, no pairs


def _ordered_range(value, key: str) -> None:
    if isinstance(value, list) and len(value) == 2 and value[0] > value[1]:
        raise ConfigError(f"{key}: range {value} has its lower bound above its upper bound")


def _check_ranges(block: dict, prefix: str) -> None:
    for name, value in block.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict):
            _check_ranges(value, key)
        else:
            _ordered_range(value, key)


def _check_dataset(name: str, ds: dict) -> None:
    prefix = f"datasets.{name}"
    _check_ranges(ds, prefix)
    total = sum(ds["splits"].values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(f"{prefix}.splits: fractions must sum to 1, got {total:g}")
    if ds["source"] == "parquet" and not ds.get("path"):
        raise ConfigError(f"{prefix}.path: source parquet needs a path (file, folder or glob of .parquet shards)")
    if ds["source"] == "cutouts" and not ds.get("catalog"):
        raise ConfigError(f"{prefix}.catalog: source cutouts needs a catalog (CSV or parquet)")
    if ds["source"] in SIMULATED_SOURCES and "n_pairs" not in ds:
        raise ConfigError(f"{prefix}.n_pairs: source {ds['source']} needs n_pairs")
    if ds["source"] in SIMULATED_SOURCES:
        fp = ds["footprint"]
        if fp["ra_min"] >= fp["ra_max"]:
            raise ConfigError(f"{prefix}.footprint.ra_min: must be below ra_max ({fp['ra_min']} >= {fp['ra_max']})")
        if fp["dec_min"] >= fp["dec_max"]:
            raise ConfigError(f"{prefix}.footprint.dec_min: must be below dec_max ({fp['dec_min']} >= {fp['dec_max']})")
        theta_max = ds["source_prior"]["theta_e"][1]
        half_width = ds["stamp_size"] * 0.262 / 2.0
        if theta_max * 2.0 > half_width:
            raise ConfigError(
                f"{prefix}.source_prior.theta_e: theta_E up to {theta_max}\" puts arcs (out to ~2 theta_E) "
                f"outside a {ds['stamp_size']}-pixel stamp (half-width {half_width:.2f}\")"
            )


def _check_preprocessing(config: dict) -> None:
    stamps = {name: ds["stamp_size"] for name, ds in config.get("datasets", {}).items()}
    for name, pp in config.get("preprocessing", {}).items():
        inner, outer = pp["annulus"]
        if inner >= outer:
            raise ConfigError(f"preprocessing.{name}.annulus: inner radius {inner} must be below outer radius {outer}")
        for ds_name, size in stamps.items():
            if outer > size / 2.0:  # the annulus must lie wholly inside the stamp
                raise ConfigError(
                    f"preprocessing.{name}.annulus: outer radius {outer} px does not fit in "
                    f"datasets.{ds_name}.stamp_size = {size} (half-width {size / 2.0:g} px)"
                )


def deep_merge(base: dict, override: dict) -> dict:
    """`base` with `override` laid over it; nested dicts merge, everything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        out[key] = deep_merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def resolve_run(config: dict, name: str) -> dict:
    """The full config of run `name`: its own keys, the training defaults with its overrides, and its clip.

    This dict is what the train rule gets as params (so only a change to it
    reruns the run) and what run_info.json and the checkpoints record.
    `replicates` is not part of it (`replicate_runs` expands it), so raising
    K adds runs without retraining the first ones. Core-dropout schedule
    entries given with `until_fraction` (of the run's epochs) get their
    `until_epoch` here, so a schedule scales with the run's length.
    """
    run = config["runs"][name]
    resolved = {k: v for k, v in run.items() if k not in ("train", "replicates")}
    resolved["name"] = name
    resolved["train"] = deep_merge(config.get("training", {}), run.get("train", {}))
    resolved["clip"] = config["preprocessing"].get(run["preprocessing"], {}).get("clip")
    resolved["train"] = scale_core_dropout(resolved["train"], f"runs.{name}.train")
    return resolved


def scale_core_dropout(train: dict, where: str) -> dict:
    """Schedule entries with `until_fraction` f get until_epoch = round(f x epochs) (at least 1); both given is an
    error naming the entry."""
    schedule = train.get("core_dropout", {}).get("schedule") or []
    if not any("until_fraction" in e for e in schedule):
        return train
    out = []
    for k, entry in enumerate(schedule):
        entry = dict(entry)
        if "until_fraction" in entry:
            if entry.get("until_epoch") is not None:
                raise ConfigError(f"{where}.core_dropout.schedule[{k}]: give until_epoch or until_fraction, not both")
            fraction = entry.pop("until_fraction")
            if fraction is not None:
                entry["until_epoch"] = max(1, round(float(fraction) * int(train["epochs"])))
        out.append(entry)
    return {**train, "core_dropout": {**train["core_dropout"], "schedule": out}}


def replicate_names(name: str, run: dict) -> list[str]:
    """Run names of a run's replicates: the run itself, then <name>_r2 .. <name>_rK (K = `replicates`)."""
    return [name] + [f"{name}_r{k}" for k in range(2, int(run.get("replicates", 1)) + 1)]


def replicate_runs(config: dict, name: str) -> dict[str, dict]:
    """Run `name` resolved, and its replicates: replicate k (k = 2..K) trains with seed + k - 1, all else equal,
    and records `replicate_of` (the run's name) and `replicate` (k). The run itself stays exactly as it was
    (same keys, same hash), so adding replicates never retrains it."""
    base = resolve_run(config, name)
    names = replicate_names(name, config["runs"][name])
    runs = {name: base}
    for k, rep in enumerate(names[1:], start=2):
        runs[rep] = {**base, "name": rep, "seed": int(base.get("seed", 0)) + k - 1, "replicate_of": name,
                     "replicate": k}
    return runs


PRETRAINED_RUN = "run:"


def pretrained_parent(run: dict) -> str | None:
    """The run whose best.pt a fine-tune starts from (`pretrained: run:<name>`), or None."""
    pretrained = run.get("pretrained") or ""
    return pretrained[len(PRETRAINED_RUN):] if pretrained.startswith(PRETRAINED_RUN) else None


def _check_run(config: dict, name: str, run: dict) -> None:
    prefix = f"runs.{name}"
    for key, table in (("dataset", "datasets"), ("preprocessing", "preprocessing")):
        if run[key] not in config.get(table, {}):
            known = ", ".join(config.get(table, {})) or "none"
            raise ConfigError(f"{prefix}.{key}: {run[key]!r} is not a key of {table} ({known})")
    modes = config["datasets"][run["dataset"]].get("preprocessing_modes")
    if modes is not None and run["preprocessing"] not in modes:
        raise ConfigError(f"{prefix}.preprocessing: {run['preprocessing']!r} is not one of dataset {run['dataset']!r}'s "
                          f"preprocessing_modes {modes}")
    source = config["datasets"][run["dataset"]]["source"]
    train = run["train"]
    if source in UNPAIRED_SOURCES and run["pairing"] == "paired":
        raise ConfigError(f"{prefix}.pairing: dataset {run['dataset']!r} (source {source}) is unpaired only")
    if source in UNPAIRED_SOURCES and train["hard_negatives"]["ratio"] > 0:
        raise ConfigError(f"{prefix}.train.hard_negatives.ratio: hard negatives need stamp/ctrl pairs, "
                          f"which dataset {run['dataset']!r} (source {source}) does not have")
    if train["micro_batch"] > train["batch_size"]:
        raise ConfigError(f"{prefix}.train.micro_batch: {train['micro_batch']} exceeds batch_size {train['batch_size']}")
    ends = [e.get("until_epoch") for e in train["core_dropout"]["schedule"]]
    if None in ends[:-1] or any(a >= b for a, b in zip(ends, ends[1:]) if b is not None):
        raise ConfigError(f"{prefix}.train.core_dropout.schedule: until_epoch must increase and only the last may be null")
    if run.get("pretrained") and pretrained_parent(run) is None:
        import os

        if not os.path.isfile(os.path.expanduser(run["pretrained"])):
            raise ConfigError(f"{prefix}.pretrained: weights file {run['pretrained']!r} does not exist (nothing is downloaded)")


# Training keys that say how a job runs, not what it computes: never hashed, never a rerun trigger.
EXECUTION_KEYS = ("threads", "device", "num_workers", "pin_memory", "eval_batch", "channels_last")


def science_run(run: dict) -> dict:
    """A resolved run without its execution keys: what the run's results depend on (and its SHA-256 covers)."""
    return {**run, "train": {k: v for k, v in run["train"].items() if k not in EXECUTION_KEYS}}


def execution_of(run: dict) -> dict:
    """The execution keys of a resolved run's training block (defaults of the train rule's threads/resources)."""
    return {k: run["train"][k] for k in EXECUTION_KEYS if k in run["train"]}


SELECTION_EXECUTION_KEYS = ("batch", "device")
GATES_EXECUTION_KEYS = ("batch", "device")
REALISM_EXECUTION_KEYS = ("batch", "device")


def without(block: dict, keys: tuple[str, ...]) -> dict:
    """A config block without the named keys (e.g. its execution settings)."""
    return {k: v for k, v in block.items() if k not in keys}


def science_config(config: dict) -> dict:
    """The config without execution settings (training threads, workers, device, ...; selection, gates and realism
    batch, device).

    This is what the audit snapshot records and hashes: changing how jobs run
    (a profile, --set-threads) leaves it, and every result, as it was.
    """
    import copy

    out = copy.deepcopy(config)
    for train in [out.get("training", {})] + [r.get("train", {}) for r in out.get("runs", {}).values()]:
        for key in EXECUTION_KEYS:
            train.pop(key, None)
    for block, keys in (("selection", SELECTION_EXECUTION_KEYS), ("gates", GATES_EXECUTION_KEYS),
                        ("realism", REALISM_EXECUTION_KEYS)):
        for key in keys:
            out.get(block, {}).pop(key, None)
    return out


def resolve_runs(config: dict, validate_train) -> dict[str, dict]:
    """Every run resolved (`resolve_run`, replicates expanded), its training settings validated, and cross-checked.

    `validate_train(settings)` validates one merged training block against
    workflow/schemas/training.schema.yaml (filling defaults) and raises on a
    bad value; its message is re-raised naming the run.
    """
    runs = {}
    for name in config.get("runs", {}):
        for rep, run in replicate_runs(config, name).items():
            try:
                validate_train(run["train"])
            except Exception as err:  # noqa: BLE001 - the validator's own error type varies
                raise ConfigError(f"runs.{name}.train: {err}") from None
            _check_run(config, name, run)
            if rep in runs:
                raise ConfigError(f"runs.{name}.replicates: replicate name {rep!r} is also a run of its own")
            runs[rep] = run
    for name, run in runs.items():
        _check_links(runs, name, run)
    return runs


def _check_links(runs: dict[str, dict], name: str, run: dict) -> None:
    """Fine-tune parents and ensemble members: existing runs, no cycle, compatible with the run."""
    prefix = f"runs.{run.get('replicate_of') or name}"
    parent = pretrained_parent(run)
    seen = [name]
    while parent is not None:
        if parent not in runs:
            raise ConfigError(f"{prefix}.pretrained: {PRETRAINED_RUN}{parent} names no run ({', '.join(runs)})")
        if parent in seen:
            raise ConfigError(f"{prefix}.pretrained: fine-tunes form a cycle ({' -> '.join(seen + [parent])})")
        if runs[parent].get("ensemble"):
            raise ConfigError(f"{prefix}.pretrained: {parent!r} is an ensemble, which has no single network to fine-tune")
        for key in ("model", "width"):
            if len(seen) == 1 and runs[parent].get(key) != run.get(key):
                raise ConfigError(f"{prefix}.pretrained: {parent!r} has {key} {runs[parent].get(key)!r}, this run "
                                  f"{run.get(key)!r}; a fine-tune needs the same network")
        seen.append(parent)
        parent = pretrained_parent(runs[parent])
    ens = run.get("ensemble")
    if not ens:
        return
    for member in ens["members"]:
        if member not in runs:
            raise ConfigError(f"{prefix}.ensemble.members: {member!r} names no run ({', '.join(runs)})")
        if runs[member].get("ensemble"):
            raise ConfigError(f"{prefix}.ensemble.members: {member!r} is itself an ensemble")
        for key in ("dataset", "preprocessing"):
            if runs[member][key] != run[key]:
                raise ConfigError(f"{prefix}.ensemble.members: {member!r} has {key} {runs[member][key]!r}, the "
                                  f"ensemble {run[key]!r}; members must score the same inputs")
    if run.get("replicate_of"):
        raise ConfigError(f"{prefix}.replicates: an ensemble is not trained, so it has no replicates")


def comparison_pairs(config: dict, runs: dict[str, dict]) -> list[tuple[str, str]]:
    """`comparisons` as (a, b) pairs of resolved runs (replicates included); an unknown name or a run compared with
    itself is an error naming the entry."""
    pairs = []
    for k, (a, b) in enumerate(config.get("comparisons") or []):
        for name in (a, b):
            if name not in runs:
                raise ConfigError(f"comparisons[{k}]: {name!r} is not a run ({', '.join(runs) or 'none'})")
        if a == b:
            raise ConfigError(f"comparisons[{k}]: compares run {a!r} with itself")
        pairs.append((a, b))
    return pairs


def input_files(name: str, ds: dict) -> list[str]:
    """Sorted input shards of a parquet dataset; an empty match is an error naming the key."""
    import glob
    import os

    pattern = os.path.expanduser(ds["path"])
    if os.path.isdir(pattern):
        pattern = os.path.join(pattern, "*.parquet")
    files = sorted(glob.glob(pattern))
    if not files:
        raise ConfigError(f"datasets.{name}.path: {ds['path']!r} matches no file")
    return files


def catalog_rows(name: str, ds: dict) -> int:
    """Number of rows of a cutout catalog (CSV lines, or parquet metadata); a missing file names the key."""
    import os

    path = os.path.expanduser(ds["catalog"])
    if not os.path.isfile(path):
        raise ConfigError(f"datasets.{name}.catalog: {ds['catalog']!r} does not exist")
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq  # only for cutout datasets

        return pq.read_metadata(path).num_rows
    import csv

    with open(path, newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def check_config(config: dict) -> None:
    """Raise ConfigError naming the key of the first cross-field inconsistency."""
    for name, ds in config.get("datasets", {}).items():
        _check_dataset(name, ds)
        if ds["source"] == "parquet":
            input_files(name, ds)
        if ds["source"] == "cutouts" and catalog_rows(name, ds) == 0:
            raise ConfigError(f"datasets.{name}.catalog: {ds['catalog']!r} has no rows")
    _check_preprocessing(config)
    for ds_name, ds in config.get("datasets", {}).items():
        unknown = [m for m in ds.get("preprocessing_modes") or [] if m not in config.get("preprocessing", {})]
        if unknown:
            raise ConfigError(f"datasets.{ds_name}.preprocessing_modes: {unknown[0]!r} is not a key of preprocessing "
                              f"({', '.join(config.get('preprocessing', {})) or 'none'})")
    for name in config.get("selection", {}).get("runs") or []:
        if name not in config.get("runs", {}):
            raise ConfigError(f"selection.runs: {name!r} is not a key of runs ({', '.join(config.get('runs', {})) or 'none'})")
    _check_realism(config)


CATALOG_SOURCES = ("sky", "cutouts")


def realism_catalog(config: dict) -> str | None:
    """The dataset a realism audit scores: realism.lens_catalog, else the first sky, else the first cutouts dataset."""
    named = config.get("realism", {}).get("lens_catalog")
    if named:
        return named
    datasets = config.get("datasets", {})
    for source in CATALOG_SOURCES:
        for name, ds in datasets.items():
            if ds["source"] == source:
                return name
    return None


def realism_runs(config: dict) -> list[str]:
    """Runs to audit: realism.runs, or every run when a lens catalog exists (none otherwise)."""
    named = config.get("realism", {}).get("runs")
    if named is not None:
        return list(named)
    return list(config.get("runs", {})) if realism_catalog(config) else []


def _check_realism(config: dict) -> None:
    runs, datasets = config.get("runs", {}), config.get("datasets", {})
    for name in config.get("realism", {}).get("runs") or []:
        if name not in runs:
            raise ConfigError(f"realism.runs: {name!r} is not a key of runs ({', '.join(runs) or 'none'})")
    if not realism_runs(config):
        return
    catalog = realism_catalog(config)
    if catalog is None:
        raise ConfigError("realism.runs: no lens catalog: add a sky or cutouts dataset, or set realism.lens_catalog")
    if catalog not in datasets:
        raise ConfigError(f"realism.lens_catalog: {catalog!r} is not a key of datasets ({', '.join(datasets)})")
    if datasets[catalog]["source"] not in CATALOG_SOURCES:
        raise ConfigError(f"realism.lens_catalog: dataset {catalog!r} has source {datasets[catalog]['source']!r}; "
                          f"a lens catalog is a {' or '.join(CATALOG_SOURCES)} dataset (labelled lenses with a tier)")
    size = datasets[catalog]["stamp_size"]
    for name in realism_runs(config):
        run_size = datasets[runs[name]["dataset"]]["stamp_size"]
        if run_size != size:
            raise ConfigError(f"realism.runs: run {name!r} sees {run_size} px stamps but the lens catalog {catalog!r} "
                              f"has {size} px (field stamp_size)")

