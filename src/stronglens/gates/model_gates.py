"""Model shortcut gates of a trained run (docs/science.md section 7).

Every gate probes the model through a scorer: any callable mapping an
(N, C, H, W) float32 array of preprocessed images to p(lens) in [0, 1]. So the
same code gates a trained network (`stronglens.train.scoring.RunScorer`) or a
hand-made scorer in the tests (one that reads only the core must show core
reliance).

Gates on the evaluation split: AUROC with a DeLong interval; the core
sensitivity curve (AUROC with pixels r <= R set to 0, R = 0, 3, 5, 7, 10, 15),
core_masked_drop = (AUROC(0) - AUROC(5)) / AUROC(0) and core_reliance =
AUROC(0) - AUROC(7); hard negatives made from the evaluation pairs (the ctrl
plus its own arc shuffled within 1-px rings): AUROC of positives against
them and their mean p; arc_occlusion_drop = mean over positives of
p - p(arc annulus replaced by sky pixels), the annulus being [lo, hi] x theta_E
widened on both sides by `occlusion_psf_pad` x the image's PSF FWHM; AUROC per
theta_E bin (positives in the bin against all negatives) with min and
spread; TPR and pAUC at low FPR; ECE / MCE. The model-free core, radial and
annulus LR AUCs (`stronglens.gates.model_free`, host-grouped cross-validation) run
on the same split's inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from stronglens.core.rng import generator
from stronglens.data.interventions import hard_negative, mask_core, occlude_arcs
from stronglens.gates.metrics import auroc_with_ci, calibration, check_scores, low_fpr, plain_auroc
from stronglens.gates.settings import GateSettings
from stronglens.gates.verdict import gate_record

Scorer = Callable[[np.ndarray], np.ndarray]

def core_sensitivity(score: Scorer, x: np.ndarray, labels: np.ndarray, radii: list[float]) -> dict[str, float]:
    """AUROC with the core masked at each radius (pixels)."""
    return {f"{r:g}": plain_auroc(score(mask_core(x, r)), labels) for r in radii}


def eval_hard_negatives(stamps: np.ndarray, ctrls: np.ndarray, seed: int, ring_px: float, clip: float | None) -> np.ndarray:
    """One hard negative per evaluation pair, seeded by (seed, pair position)."""
    return np.stack([hard_negative(s, c, generator(seed, "gates:hardneg", k), ring_px, clip)
                     for k, (s, c) in enumerate(zip(stamps, ctrls))]) if len(stamps) else np.empty((0,) + stamps.shape[1:])


def theta_e_strata(p: np.ndarray, labels: np.ndarray, theta_e: np.ndarray, bins: list[float], min_pos: int) -> dict:
    """AUROC of the positives in each theta_E bin against all negatives; min and spread over filled bins."""
    out: dict = {"bins": {}}
    for lo, hi in zip(bins[:-1], bins[1:]):
        pos = (labels == 1) & (theta_e >= lo) & (theta_e < hi)
        key = f"[{lo:g},{hi:g})"
        if pos.sum() < min_pos:
            out["bins"][key] = {"n_pos": int(pos.sum()), "auroc": None, "note": f"fewer than {min_pos} positives"}
            continue
        sel = pos | (labels == 0)
        out["bins"][key] = {"n_pos": int(pos.sum()), "auroc": plain_auroc(p[sel], labels[sel])}
    values = [b["auroc"] for b in out["bins"].values() if b["auroc"] is not None]
    out["min"] = float(min(values)) if values else None
    out["spread"] = float(max(values) - min(values)) if values else None
    return out


def model_gates(score: Scorer, x: np.ndarray, index: pd.DataFrame, cfg: GateSettings, seed: int,
                pairs: tuple[np.ndarray, np.ndarray] | None = None, clip: float | None = None) -> dict:
    """Every model gate and reported figure on one evaluation split.

    `x`/`index`: the split's preprocessed images and rows (label, theta_e_arcsec);
    `pairs`: (stamps, ctrls) of the split's hosts for hard negatives, or None
    when the dataset has no pairs (the hard-negative gates are then N/A).
    """
    labels = index["label"].to_numpy().astype(int)
    p = np.asarray(score(x), dtype=np.float64)
    check_scores(p, labels)
    th = cfg.thresholds
    gates: dict = {}
    reported: dict = {"scores": p}
    auc = auroc_with_ci(p, labels)
    gates["auroc"] = {**gate_record("auroc", auc["value"], th), **auc}
    curve = core_sensitivity(score, x, labels, cfg.core_radii)
    base = plain_auroc(p, labels)
    r_drop, r_rel = f"{cfg.masked_radius:g}", f"{cfg.reliance_radius:g}"
    masked = {r: curve[r] if r in curve else plain_auroc(score(mask_core(x, float(r))), labels) for r in (r_drop, r_rel)}
    gates["core_masked_drop"] = {**gate_record("core_masked_drop", (base - masked[r_drop]) / base, th),
                                 "radius_px": cfg.masked_radius, "auroc_masked": masked[r_drop]}
    gates["core_reliance"] = {**gate_record("core_reliance", base - masked[r_rel], th), "radius_px": cfg.reliance_radius}
    reported["core_sensitivity"] = curve
    pos = labels == 1
    if pairs is not None and len(pairs[0]):
        hard = eval_hard_negatives(pairs[0], pairs[1], seed, cfg.hardneg_ring_px, clip)
        p_hard = np.asarray(score(hard), dtype=np.float64)
        hn_auc = plain_auroc(np.concatenate([p[pos], p_hard]), np.r_[np.ones(pos.sum()), np.zeros(len(p_hard))])
        gates["hardneg_auroc"] = {**gate_record("hardneg_auroc", hn_auc, th), "n_hard": int(len(p_hard))}
        gates["hardneg_mean_p"] = {**gate_record("hardneg_mean_p", float(p_hard.mean()), th), "n_hard": int(len(p_hard))}
    else:
        note = {"note": "no stamp/ctrl pairs in this dataset: hard negatives cannot be made"}
        gates["hardneg_auroc"] = {**gate_record("hardneg_auroc", None, th), **note}
        gates["hardneg_mean_p"] = {**gate_record("hardneg_mean_p", None, th), **note}
    theta = index["theta_e_arcsec"].to_numpy(dtype=np.float64) if "theta_e_arcsec" in index else np.full(len(index), np.nan)
    occ = pos & np.isfinite(theta)
    if occ.any():
        psf = index["psfsize_r"].to_numpy(dtype=np.float64)[occ] if "psfsize_r" in index else 0.0
        pad = cfg.occlusion_psf_pad * np.nan_to_num(psf, nan=0.0)
        p_occ = np.asarray(score(occlude_arcs(x[occ], theta[occ], tuple(cfg.occlusion_band), seed,
                                             cfg.occlusion_fill, pad)), dtype=np.float64)
        gates["arc_occlusion_drop"] = {**gate_record("arc_occlusion_drop", float((p[occ] - p_occ).mean()), th),
                                       "n": int(occ.sum()), "band_theta_e": cfg.occlusion_band}
    else:
        gates["arc_occlusion_drop"] = {**gate_record("arc_occlusion_drop", None, th), "note": "no positive with theta_E"}
    strata = theta_e_strata(p, labels, theta, cfg.theta_e_bins, cfg.min_positives_per_bin)
    empty = {} if strata["min"] is not None else {
        "note": f"no theta_E bin holds {cfg.min_positives_per_bin} positives with a theta_E"}
    gates["theta_e_min_auroc"] = {**gate_record("theta_e_min_auroc", strata["min"], th), **empty}
    gates["theta_e_spread"] = {**gate_record("theta_e_spread", strata["spread"], th), **empty}
    reported["theta_e_bins"] = strata["bins"]
    reported["low_fpr"] = low_fpr(p, labels, cfg.low_fprs)
    reported["calibration"] = {"all": calibration(p, labels, cfg.ece_bins),
                               "positives": calibration(p[pos], labels[pos], cfg.ece_bins)}
    return {"gates": gates, "reported": reported}
