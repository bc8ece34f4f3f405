"""The gates report of one trained run: model gates, data gates on its inputs, verdict, provenance.

`evaluate_run` reads the run's best.pt and its preprocessed evaluation and
validation splits (whole hosts, at most `max_eval_samples` rows each), and
returns the report written to results/gates/<run>.json plus a per-sample
score table (results/gates/<run>.scores.parquet) that the run comparison and
the selection function's thresholds use.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.core.provenance import config_sha256, provenance
from stronglens.gates.metrics import auroc_with_ci
from stronglens.gates.model_free import data_gates, host_subsample
from stronglens.gates.model_gates import model_gates
from stronglens.gates.settings import DataGateSettings, GateSettings
from stronglens.gates.verdict import DATA_GATES, gate_record, verdict
from stronglens.storage.split_store import SplitData, hard_negative_pairs, load_split, require_both_classes
from stronglens.train.scoring import RunScorer


def sample(data: SplitData, max_rows: int, seed: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """Whole hosts of a split, at most ~max_rows images, read from the memmap in index order, with their
    ring-median profiles before subtraction (None when the folder has none)."""
    rows = host_subsample(data.index["host_id"].to_numpy(), max_rows, seed) if "host_id" in data.index else \
        np.arange(len(data.index))[:max_rows]
    return data.read(rows), data.index.iloc[rows].reset_index(drop=True), data.read_profile(rows)


def eval_pairs(paired: SplitData | None, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    if paired is None:
        return None
    pairs = hard_negative_pairs(paired)
    if len(pairs) > max_pairs:
        from stronglens.core.rng import generator

        pairs = pairs[np.sort(generator(seed, "gates:pairs").choice(len(pairs), max_pairs, replace=False))]
    return paired.read(pairs[:, 0]), paired.read(pairs[:, 1])


def training_input_gates(run: dict, epoch: int, folder: Path, paired_folder: Path | None, data_cfg: DataGateSettings,
                         thresholds, seed: int) -> dict:
    """The model-free data gates on the run's training-time inputs at `epoch` (its best): the train split with
    the core dropout in force then and the epoch's hard negatives, as `stronglens.gates.training_inputs` builds
    them. No profile file exists for these images, so radial_pre_lr_auc is N/A here."""
    from stronglens.config.settings import parse_settings
    from stronglens.gates.training_inputs import training_time_sample
    from stronglens.train.settings import RunSettings

    settings = parse_settings(RunSettings, run, f"run {run.get('name')}")
    train = load_split(folder, "train")
    hard = pairs = None
    if settings.train.hard_negatives.ratio > 0 and paired_folder is not None:
        hard = load_split(paired_folder, "train")
        pairs = hard_negative_pairs(hard)
    x, index = training_time_sample(train, settings.train, settings.seed, max(epoch, 0), paired=hard, pairs=pairs,
                                    clip=settings.clip, max_samples=data_cfg.max_samples)
    gates = data_gates(x, index, data_cfg, thresholds, settings.clip, seed)
    return {"epoch": int(max(epoch, 0)), "n_hard_negatives": int((index["kind"] == "hard_negative").sum())
            if "kind" in index else 0, **gates}


def evaluate_run(checkpoint: Path, folder: Path, paired_folder: Path | None, cfg: GateSettings,
                 data_cfg: DataGateSettings, clip: float | None, seed: int, device: str = "cpu",
                 batch: int = 256) -> tuple[dict, pd.DataFrame]:
    """(report, scores) of one run; see the module docstring.

    device and batch (images per forward pass) are execution settings: they change no result.
    """
    t0 = time.perf_counter()
    scorer = RunScorer(checkpoint, device, batch)
    splits = {}
    for role in ("eval_split", "val_split"):
        data = load_split(folder, getattr(cfg, role))
        require_both_classes(data, getattr(cfg, role))
        splits[role] = sample(data, cfg.max_eval_samples, seed)
    x, index, profile = splits["eval_split"]
    paired = load_split(paired_folder, cfg.eval_split) if paired_folder else None
    pairs = eval_pairs(paired, int(index["label"].sum()) or 1, seed)
    result = model_gates(scorer, x, index, cfg, seed, pairs, clip)
    gates = result["gates"]
    data = data_gates(x, index, data_cfg, cfg.thresholds, clip, seed, profile)
    for name in DATA_GATES:
        g = data["gates"][name]
        gates[name] = {**gate_record(name, g["auc"], cfg.thresholds), "folds": g.get("folds"), "n": g["n"],
                       "fold_aucs": g["fold_aucs"], **{k: g[k] for k in ("reason", "note") if k in g}}
    x_val, index_val, _ = splits["val_split"]
    p_val = scorer(x_val)
    reported = result["reported"]
    p_eval = reported.pop("scores")
    reported["auroc_val"] = auroc_with_ci(p_val, index_val["label"].to_numpy(), what=f"{cfg.val_split} split")
    reported["data_gates_theta_e_bins"] = data["theta_e_bins"]
    reported["saturated_core_fraction"] = data["saturated_core_fraction"]
    training = None
    if cfg.training_inputs and scorer.combiner is None:
        training = training_input_gates(scorer.run, scorer.epoch, folder, paired_folder, data_cfg, cfg.thresholds, seed)
    report = {
        "run": scorer.run["name"],
        "eval_split": cfg.eval_split,
        "n_eval": int(len(index)),
        "n_eval_positive": int(index["label"].sum()),
        "n_val": int(len(index_val)),
        "verdict": verdict(gates),
        "gates": gates,
        "training_inputs": training,
        "reported": reported,
        "checkpoint": {"path": str(checkpoint), "sha256": scorer.sha256, "epoch": scorer.epoch},
        "run_config_sha256": config_sha256(scorer.run),
        "seconds": time.perf_counter() - t0,
    }
    scores = pd.concat([
        pd.DataFrame({"sample_id": idx["sample_id"], "host_id": idx.get("host_id"), "split": split, "label": idx["label"],
                      "theta_e_arcsec": idx.get("theta_e_arcsec"), "tier": idx.get("tier"), "p": p})
        for split, idx, p in ((cfg.eval_split, index, p_eval), (cfg.val_split, index_val, p_val))
    ], ignore_index=True)
    return report, scores


def with_provenance(report: dict, cfg: GateSettings, data_cfg: DataGateSettings, code_hash: str | None) -> dict:
    """The report with its provenance: the gate settings as configured, the code hash, versions."""
    return {**report, "provenance": provenance({"gates": as_dict(cfg), "data_gates": as_dict(data_cfg)}, code_hash)}
