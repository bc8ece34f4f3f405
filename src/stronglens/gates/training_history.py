"""Gates during training: one row of gate values per gated epoch, and the stop criteria that read them.

The seeds ran their gates every 5 epochs while training and stopped runs on
them (seed 004 §5.2-5.3: core and radial LR AUC on 2000 samples, AUROC per
theta_E bin; seed 002 §2.4: stop when the core AUC > 0.70 or the annulus AUC
< 0.65 or the hard-negative mean p > 0.15 after epoch 15, or when the val loss
runs 0.3 above the train loss). `epoch_gates` computes one such row:

* data gates (no model) on `training_time_sample`, the train split as
  training sees it that epoch (core dropout, hard negatives): ``core_lr_auc``,
  ``radial_lr_auc``, ``annulus_lr_auc`` (5-fold host-grouped CV LR AUC,
  `stronglens.gates.model_free.feature_sets` / `cv_lr_auc`), and the same on
  the resolved stratum (``*_resolved``: positives with theta_E / psfsize_r >=
  resolved_x, all negatives); a feature set constant over the sample (the
  radial profile after residual_radial_profile, a core fully masked with
  zeros) measures nothing and gives NaN (N/A), never 0.5;
* model gates with the current model on the validation split (a fixed host
  sample of at most max_val_samples images): ``auroc``, AUROC per theta_E bin
  (``theta_e_auroc_<lo>_<hi>``, `stronglens.gates.model_gates.theta_e_strata`)
  with ``theta_e_min_auroc`` and ``theta_e_spread``; the core sensitivity
  curve ``core_auroc_r<R>`` (pixels r <= R set to 0), ``core_masked_drop`` =
  (AUROC(0) - AUROC(masked_radius)) / AUROC(0) and ``core_reliance`` =
  AUROC(0) - AUROC(reliance_radius); ``hardneg_mean_p`` and
  ``hardneg_auroc`` (positives against hard negatives made from the paired
  validation stamps and ctrls; NaN when the dataset has no pairs).

`gate_columns(cfg)` lists a row's keys in order (the header of
``gate_history.csv``); the Trainer adds ``train_loss``, ``val_loss``,
``loss_gap`` and ``stop_reason`` (the time a gated epoch's gates took goes to
the run's ``timing.csv``, so the gate history is byte-reproducible). `stop_reason` applies the
configured `StopCriteria` to a row.

Determinism: every draw is seeded from the run seed through
`stronglens.core.rng.generator` or `aug_seed`. The epoch enters where
training's own randomness does (that epoch's core dropout and hard
negatives); the validation sample and its hard negatives, the CV folds and
the training hosts (for epochs with as many hard negatives) are the same at
every epoch, so the history's trend is the inputs' and the model's, not
resampling noise. Computing the gates draws from no global RNG,
so a gated run trains exactly like an ungated one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from stronglens.core.rng import generator
from stronglens.data.interventions import hard_negative, mask_core
from stronglens.gates.model_free import constant_features, cv_lr_auc, feature_sets, host_subsample
from stronglens.gates.model_gates import theta_e_strata
from stronglens.gates.settings import DataGateSettings
from stronglens.gates.training_inputs import host_ids
from stronglens.storage.split_store import SplitData
from stronglens.train.settings import StopCriteria, TrainGateSettings

Scorer = Callable[[np.ndarray], np.ndarray]  # (N, C, H, W) float32 -> p(lens) in [0, 1]
DATA_GATE_NAMES = ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc")
TRAINER_COLUMNS = ("train_loss", "val_loss", "loss_gap", "stop_reason")
SCORE_CHUNK = 1024  # images masked and scored per call


def bin_key(lo: float, hi: float) -> str:
    return f"theta_e_auroc_{lo:g}_{hi:g}"


def radius_key(r: float) -> str:
    return f"core_auroc_r{r:g}"


def gate_columns(cfg: TrainGateSettings) -> list[str]:
    """The keys of an `epoch_gates` row in order, then the Trainer's (`TRAINER_COLUMNS`): the CSV header."""
    bins = cfg.theta_e_bins
    return ["epoch", "gate_n_samples", "gate_n_positive", "gate_n_hard_negative", *DATA_GATE_NAMES,
            "gate_n_resolved_positive", *(f"{g}_resolved" for g in DATA_GATE_NAMES),
            "n_val", "auroc", *(bin_key(lo, hi) for lo, hi in zip(bins[:-1], bins[1:])), "theta_e_min_auroc",
            "theta_e_spread", *(radius_key(r) for r in core_radii(cfg)), "core_masked_drop", "core_reliance",
            "n_val_hard", "hardneg_mean_p", "hardneg_auroc", *TRAINER_COLUMNS]


def core_radii(cfg: TrainGateSettings) -> list[float]:
    """The sensitivity-curve radii plus 0, masked_radius and reliance_radius, sorted and unique (pixels)."""
    return sorted({0.0, *(float(r) for r in cfg.core_radii), float(cfg.masked_radius), float(cfg.reliance_radius)})


def data_gate_settings(cfg: TrainGateSettings) -> DataGateSettings:
    return DataGateSettings(core_px=cfg.core_px, annulus_px=tuple(cfg.annulus_px), folds=cfg.folds,
                            max_samples=cfg.max_samples, theta_e_bins=tuple(cfg.theta_e_bins))


def resolved(index: pd.DataFrame, x_min: float) -> np.ndarray:
    """Boolean: positives with theta_E / psfsize_r >= x_min (False where either is missing)."""
    if "theta_e_arcsec" not in index or "psfsize_r" not in index:
        return np.zeros(len(index), bool)
    theta = pd.to_numeric(index["theta_e_arcsec"], errors="coerce").to_numpy(np.float64)
    psf = pd.to_numeric(index["psfsize_r"], errors="coerce").to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = theta / psf
    return (index["label"].to_numpy() == 1) & np.isfinite(ratio) & (ratio >= x_min)


def lr_auc(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> float:
    """Out-of-fold LR AUROC; NaN when the features are constant (N/A) or the sample holds one class or too few."""
    if constant_features(features) or len(np.unique(labels)) < 2:
        return math.nan
    return float(cv_lr_auc(features, labels, groups, folds, seed)["auc"])


def data_gate_values(x: np.ndarray, index: pd.DataFrame, cfg: TrainGateSettings, seed: int) -> dict:
    """core / radial / annulus LR AUC of a (training-time) sample, overall and on the resolved stratum."""
    labels = index["label"].to_numpy().astype(int)
    groups = host_ids(index)
    feats = feature_sets(np.asarray(x, np.float32), data_gate_settings(cfg))
    res = resolved(index, cfg.resolved_x)
    strat = res | (labels == 0)
    out: dict = {"gate_n_samples": int(len(labels)), "gate_n_positive": int(labels.sum()),
                 "gate_n_hard_negative": int((index["kind"] == "hard_negative").sum()) if "kind" in index else 0,
                 "gate_n_resolved_positive": int(res.sum())}
    for name in DATA_GATE_NAMES:
        out[name] = lr_auc(feats[name], labels, groups, cfg.folds, seed)
        out[f"{name}_resolved"] = (lr_auc(feats[name][strat], labels[strat], groups[strat], cfg.folds, seed)
                                   if res.any() else math.nan)
    return out


def auroc_or_nan(p: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return math.nan
    return float(roc_auc_score(labels, p))


def masked_scores(score: Scorer, data: SplitData, rows: np.ndarray, radius: float, chunk: int = SCORE_CHUNK) -> np.ndarray:
    """p of the images `rows` of a split (read from its memmap in chunks) with pixels r <= radius (pixels) set to 0."""
    parts = [np.asarray(score(mask_core(data.read(rows[s : s + chunk]), radius)), np.float64)
             for s in range(0, len(rows), chunk)]
    return np.concatenate(parts) if parts else np.empty(0)


def hard_negative_scores(score: Scorer, paired: SplitData, pairs: np.ndarray, seed: int, ring_px: float,
                         clip: float | None, chunk: int = SCORE_CHUNK) -> np.ndarray:
    """p of one hard negative per (stamp, ctrl) row of `pairs`, the k-th seeded by generator(seed, "gates:hardneg", k)
    as the gates stage makes them (`stronglens.gates.model_gates.eval_hard_negatives`)."""
    out = []
    for s in range(0, len(pairs), chunk):
        rows = pairs[s : s + chunk]
        stamps, ctrls = paired.read(rows[:, 0]), paired.read(rows[:, 1])
        hard = np.stack([hard_negative(a, b, generator(seed, "gates:hardneg", s + j), ring_px, clip)
                         for j, (a, b) in enumerate(zip(stamps, ctrls))])
        out.append(np.asarray(score(hard), np.float64))
    return np.concatenate(out) if out else np.empty(0)


def val_selection(val: SplitData, cfg: TrainGateSettings, seed: int, val_pairs: np.ndarray | None = None) -> tuple[
        np.ndarray, np.ndarray | None]:
    """(validation rows, hard-negative pair rows) the model gates use at every epoch.

    Rows: whole hosts, at most cfg.max_val_samples (`host_subsample`, seeded by
    `seed`); pairs: at most max_val_samples // 2 of `val_pairs` (a seeded choice,
    kept in order), None when there are none.
    """
    rows = host_subsample(host_ids(val.index), cfg.max_val_samples, seed)
    if val_pairs is None or len(val_pairs) == 0:
        return rows, None
    cap = max(1, cfg.max_val_samples // 2)
    if len(val_pairs) > cap:
        val_pairs = val_pairs[np.sort(generator(seed, "train-gates:val-pairs").choice(len(val_pairs), cap, replace=False))]
    return rows, val_pairs


def model_gate_values(score: Scorer, val: SplitData, rows: np.ndarray, cfg: TrainGateSettings, seed: int, *,
                      val_pairs: tuple[SplitData, np.ndarray] | None = None, clip: float | None = None,
                      p_val: np.ndarray | None = None) -> dict:
    """AUROC, theta_E strata, core sensitivity and hard-negative p of the current model on validation rows `rows`.

    p_val: the model's p on those rows when already computed (e.g. by the
    epoch's validation pass), else scored here. val_pairs: (paired validation
    split, (K, 2) stamp/ctrl rows) for the hard negatives, or None (N/A).
    """
    index = val.index.iloc[rows].reset_index(drop=True)
    labels = index["label"].to_numpy().astype(int)
    p = masked_scores(score, val, rows, 0.0) if p_val is None else np.asarray(p_val, np.float64)
    base = auroc_or_nan(p, labels)
    out: dict = {"n_val": int(len(labels)), "auroc": base}
    theta = (pd.to_numeric(index["theta_e_arcsec"], errors="coerce").to_numpy(np.float64)
             if "theta_e_arcsec" in index else np.full(len(index), np.nan))
    strata = theta_e_strata(p, labels, theta, list(cfg.theta_e_bins), cfg.min_positives_per_bin)
    bins = cfg.theta_e_bins
    for (lo, hi), b in zip(zip(bins[:-1], bins[1:]), strata["bins"].values()):
        out[bin_key(lo, hi)] = math.nan if b["auroc"] is None else b["auroc"]
    out["theta_e_min_auroc"] = math.nan if strata["min"] is None else strata["min"]
    out["theta_e_spread"] = math.nan if strata["spread"] is None else strata["spread"]
    curve = {r: base if r == 0 else auroc_or_nan(masked_scores(score, val, rows, r), labels) for r in core_radii(cfg)}
    out.update({radius_key(r): v for r, v in curve.items()})
    masked = curve[float(cfg.masked_radius)]
    out["core_masked_drop"] = (base - masked) / base if base > 0 else math.nan
    out["core_reliance"] = base - curve[float(cfg.reliance_radius)]
    if val_pairs is not None and len(val_pairs[1]):
        p_hard = hard_negative_scores(score, val_pairs[0], val_pairs[1], seed, cfg.hardneg_ring_px, clip)
        pos = p[labels == 1]
        out["n_val_hard"] = int(len(p_hard))
        out["hardneg_mean_p"] = float(p_hard.mean())
        out["hardneg_auroc"] = auroc_or_nan(np.concatenate([pos, p_hard]),
                                            np.r_[np.ones(len(pos), int), np.zeros(len(p_hard), int)])
    else:
        out.update({"n_val_hard": 0, "hardneg_mean_p": math.nan, "hardneg_auroc": math.nan})
    return out


def epoch_gates(epoch: int, sample: tuple[np.ndarray, pd.DataFrame], score: Scorer, val: SplitData,
                cfg: TrainGateSettings, seed: int, *, val_rows: np.ndarray | None = None,
                val_pairs: tuple[SplitData, np.ndarray] | None = None, clip: float | None = None,
                p_val: np.ndarray | None = None) -> dict:
    """One gate row at 0-based `epoch`: data gates on `sample`, model gates of `score` on `val`.

    sample: (x, index) from `training_time_sample` at this epoch; score: the
    current model as a `Scorer`; val / val_rows: the validation split and the
    rows gated (default: all); val_pairs: (paired validation split, stamp/ctrl
    rows) for the hard negatives, None when the dataset has no pairs (then
    hardneg_* are NaN); clip: the preprocessing clip (hard negatives are
    re-clipped to it); p_val: the model's p on val_rows if already known.
    Returns the keys of `gate_columns(cfg)` up to ``hardneg_auroc``; NaN marks
    a value that cannot be computed (N/A).
    """
    rows = np.arange(len(val.index)) if val_rows is None else np.asarray(val_rows)
    row = {"epoch": int(epoch), **data_gate_values(sample[0], sample[1], cfg, seed),
           **model_gate_values(score, val, rows, cfg, seed, val_pairs=val_pairs, clip=clip, p_val=p_val)}
    return {k: row[k] for k in gate_columns(cfg) if k in row}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def criteria_hits(row: dict, criteria: StopCriteria) -> dict[str, str]:
    """The criteria that hold on one gate row: stop key -> 'column value op threshold (stop.key)'."""
    suffix = "_resolved" if criteria.stratum == "resolved" else ""
    late = row["epoch"] >= criteria.after_epoch
    gap = row.get("loss_gap")
    if not _finite(gap) and _finite(row.get("val_loss")) and _finite(row.get("train_loss")):
        gap = row["val_loss"] - row["train_loss"]
    checks = (
        ("core_lr_auc_above", f"core_lr_auc{suffix}", row.get(f"core_lr_auc{suffix}"), ">", late),
        ("annulus_lr_auc_below", f"annulus_lr_auc{suffix}", row.get(f"annulus_lr_auc{suffix}"), "<", late),
        ("hardneg_mean_p_above", "hardneg_mean_p", row.get("hardneg_mean_p"), ">", late),
        ("loss_gap_above", "val_loss - train_loss", gap, ">", True),
    )
    hits = {}
    for key, what, value, op, active in checks:
        threshold = getattr(criteria, key)
        if threshold is None or not active or not _finite(value):
            continue
        if (value > threshold) if op == ">" else (value < threshold):
            hits[key] = f"{what} {value:.4g} {op} {threshold:g} (stop.{key})"
    return hits


def stop_reason(row: dict, history: list[dict], criteria: StopCriteria) -> str | None:
    """Why the run stops after this gate row, or None (seed 002 §2.4 as configurable thresholds).

    row: the gate row just computed (with train_loss and val_loss for the
    loss gap); history: the run's earlier gate rows, oldest first. A
    criterion fires when it holds on this row and on the `criteria.patience`
    - 1 gate rows before it. The three gate criteria count only on rows with
    epoch >= after_epoch (0-based: the seeds' "after epoch 15" is
    after_epoch 15, the row written once the 16th epoch is done); the loss
    gap counts on every gate row. NaN (N/A) never fires. Returns 'at epoch
    E: <fired criteria joined by '; '>'.
    """
    if not criteria.any_set():
        return None
    hits = criteria_hits(row, criteria)
    if criteria.patience > 1:
        earlier = history[-(criteria.patience - 1):] if len(history) >= criteria.patience - 1 else None
        if earlier is None:
            return None
        held = set(hits)
        for r in earlier:
            held &= set(criteria_hits(r, criteria))
        hits = {k: v for k, v in hits.items() if k in held}
    if not hits:
        return None
    after = f" (held on {criteria.patience} consecutive gate rows)" if criteria.patience > 1 else ""
    return f"at epoch {row['epoch']}{after}: " + "; ".join(hits.values())


def gate_history_frame(rows: list[dict], cfg: TrainGateSettings) -> pd.DataFrame:
    """The gate history as written to gate_history.csv: `gate_columns(cfg)`, one row per gated epoch."""
    return pd.DataFrame(rows, columns=gate_columns(cfg))


class GateMonitor:
    """Gates during training, as the Trainer calls them (`stronglens.train.loop.Trainer`, argument `monitor`).

    The train package cannot import the gates (the gates score trained runs),
    so the train stage hands the Trainer this object: `setup` once the
    splits are open, `row` after the validation of every gated epoch, `stop`
    on each new row, `frame` for gate_history.csv.
    """

    def __init__(self) -> None:
        self.rows: np.ndarray | None = None
        self.val_pairs: tuple[SplitData, np.ndarray] | None = None

    def setup(self, trainer, paired_val: SplitData | None) -> None:
        """Fix the validation rows scored at every gated epoch and the paired val split's stamp/ctrl rows (hard
        negatives; none when `paired_val` is None or holds no complete pair)."""
        from stronglens.storage.split_store import TrainingDataError, hard_negative_pairs

        pairs = None
        if paired_val is not None:
            try:
                pairs = (paired_val, hard_negative_pairs(paired_val))
            except TrainingDataError as err:
                trainer.log(f"gates during training: no validation hard negatives ({err})")
        else:
            trainer.log("gates during training: no paired folder given, so hardneg_mean_p is N/A")
        self.rows, pair_rows = val_selection(trainer.val, trainer.gates, trainer.seed, None if pairs is None else pairs[1])
        self.val_pairs = None if pairs is None or pair_rows is None else (pairs[0], pair_rows)

    def row(self, trainer, epoch: int, train_loss: float, val_loss: float) -> dict:
        """The gate row of `epoch` (after its validation pass, whose logits it reuses) with the losses."""
        from stronglens.gates.training_inputs import training_time_sample

        sample = training_time_sample(trainer.train, trainer.s, trainer.seed, epoch, paired=trainer.hard,
                                      pairs=trainer.pairs if trainer.hard is not None else None,
                                      clip=trainer.settings.clip, max_samples=trainer.gates.max_samples)
        p_val = None if trainer.val_logits is None else 1.0 / (1.0 + np.exp(-trainer.val_logits[self.rows]))
        row = epoch_gates(epoch, sample, trainer.score, trainer.val, trainer.gates, trainer.seed, val_rows=self.rows,
                          val_pairs=self.val_pairs, clip=trainer.settings.clip, p_val=p_val)
        row.update(train_loss=train_loss, val_loss=val_loss, loss_gap=val_loss - train_loss)
        return row

    def stop(self, row: dict, history: list[dict], criteria: StopCriteria) -> str | None:
        return stop_reason(row, history, criteria)

    def frame(self, rows: list[dict], cfg: TrainGateSettings) -> pd.DataFrame:
        return gate_history_frame(rows, cfg)
