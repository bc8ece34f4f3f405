"""Model shortcut gates of a trained run (SCIENCE.md section 7).

Every gate probes the model through a scorer: any callable mapping an
(N, C, H, W) float32 array of preprocessed images to p(lens) in [0, 1]. So the
same code gates a trained network (`stronglens.scoring.RunScorer`) or a
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
annulus LR AUCs (`stronglens.gates_data`, host-grouped cross-validation) run
on the same split's inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from stronglens.augment import core_mask, hard_negative, radius_pix
from stronglens.metrics import auroc_with_ci, calibration, check_scores, low_fpr, plain_auroc
from stronglens.rng import generator
from stronglens.survey_constants import PIXSCALE_ARCSEC

Scorer = Callable[[np.ndarray], np.ndarray]

# gate -> pass direction. above: value > pass; at_least: >=; below: <; at_most: <=.
# A fail threshold, where the spec gives one, is crossed strictly on the other side; in between is WARN.
DIRECTIONS = {
    "auroc": "above",
    "core_lr_auc": "below",
    "radial_lr_auc": "below",
    "annulus_lr_auc": "at_least",
    "core_masked_drop": "below",
    "core_reliance": "below",
    "hardneg_auroc": "above",
    "hardneg_mean_p": "at_most",
    "arc_occlusion_drop": "at_least",
    "theta_e_min_auroc": "above",
    "theta_e_spread": "below",
}
CRITICAL = ("core_lr_auc", "radial_lr_auc", "hardneg")
VERDICT_GATES = ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "hardneg", "arc_occlusion_drop")


def gate_status(name: str, value: float | None, thresholds: dict) -> dict:
    """A gate's record: value, thresholds, direction and PASS / WARN / FAIL (N/A when it cannot be computed)."""
    direction = DIRECTIONS[name]
    ok, bad = thresholds[name].get("pass"), thresholds[name].get("fail")
    record = {"value": value, "pass_threshold": ok, "fail_threshold": bad, "direction": direction}
    if value is None or not np.isfinite(value):
        return {**record, "value": None, "status": "N/A"}
    passes = {"above": value > ok, "at_least": value >= ok, "below": value < ok, "at_most": value <= ok}[direction]
    fails = bad is not None and (value < bad if direction in ("above", "at_least") else value > bad)
    return {**record, "status": "PASS" if passes else ("FAIL" if fails else "WARN")}


def verdict(gates: dict) -> dict:
    """SCIENCE.md section 7: PASS if every critical gate passes and >= 4 of the 5 pass; MARGINAL if 3 of 5
    pass with no critical FAIL; FAIL otherwise. `hardneg` passes when both its gates pass."""
    hn = [gates["hardneg_auroc"]["status"], gates["hardneg_mean_p"]["status"]]
    status = {k: gates[k]["status"] for k in VERDICT_GATES if k != "hardneg"}
    status["hardneg"] = ("PASS" if all(s == "PASS" for s in hn) else "FAIL" if "FAIL" in hn
                         else "N/A" if "N/A" in hn else "WARN")
    n_pass = sum(s == "PASS" for s in status.values())
    critical = [status[k] for k in CRITICAL]
    if all(s == "PASS" for s in critical) and n_pass >= 4:
        overall = "PASS"
    elif n_pass >= 3 and "FAIL" not in critical:
        overall = "MARGINAL"
    else:
        overall = "FAIL"
    return {"verdict": overall, "n_pass": n_pass, "of": len(VERDICT_GATES), "status": status,
            "critical": list(CRITICAL)}


def mask_core(x: np.ndarray, radius: float) -> np.ndarray:
    """Copy of (N, C, H, W) images with pixels r <= radius set to 0 (the sky level in preprocessed units)."""
    out = np.array(x, dtype=np.float32, copy=True)
    if radius > 0:
        out[..., core_mask(x.shape[-2:], radius)] = 0.0
    return out


def occlude_arcs(x: np.ndarray, theta_e_arcsec: np.ndarray, band: tuple[float, float], seed: int = 0,
                 fill: str = "sky", pad_arcsec: np.ndarray | float = 0.0) -> np.ndarray:
    """Copy with the annulus band[0]*theta_E - pad <= r <= band[1]*theta_E + pad of each image occluded.

    `pad_arcsec` (per image or one value) widens the annulus by the PSF blur.
    fill ``sky``: pixel values redrawn (with replacement, per band) from the
    image's own outer ring r >= 0.75 x half-width, so the occluded annulus
    looks like blank sky whatever the preprocessing; ``zero``: set to 0.
    """
    r = radius_pix(x.shape[-2:])
    outer = r >= 0.75 * (min(x.shape[-2:]) / 2)
    theta_px = np.asarray(theta_e_arcsec, dtype=np.float64) / PIXSCALE_ARCSEC
    pad_px = np.broadcast_to(np.asarray(pad_arcsec, dtype=np.float64) / PIXSCALE_ARCSEC, theta_px.shape)
    out = np.array(x, dtype=np.float32, copy=True)
    for i, (t, pad) in enumerate(zip(theta_px, pad_px)):
        ring = (r >= band[0] * t - pad) & (r <= band[1] * t + pad)
        if fill == "zero":
            out[i][..., ring] = 0.0
            continue
        rng = generator(seed, "gates:occlusion", i)
        for c in range(x.shape[1]):
            out[i, c][ring] = rng.choice(x[i, c][outer], size=int(ring.sum()))
    return out


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


def model_gates(score: Scorer, x: np.ndarray, index: pd.DataFrame, cfg: dict, seed: int,
                pairs: tuple[np.ndarray, np.ndarray] | None = None, clip: float | None = None) -> dict:
    """Every model gate and reported figure on one evaluation split.

    `x`/`index`: the split's preprocessed images and rows (label, theta_e_arcsec);
    `pairs`: (stamps, ctrls) of the split's hosts for hard negatives, or None
    when the dataset has no pairs (the hard-negative gates are then N/A).
    """
    labels = index["label"].to_numpy().astype(int)
    p = np.asarray(score(x), dtype=np.float64)
    check_scores(p, labels)
    th = cfg["thresholds"]
    gates: dict = {}
    reported: dict = {"scores": p}
    auc = auroc_with_ci(p, labels)
    gates["auroc"] = {**gate_status("auroc", auc["value"], th), **auc}
    curve = core_sensitivity(score, x, labels, cfg["core_radii"])
    base = plain_auroc(p, labels)
    r_drop, r_rel = f"{cfg['masked_radius']:g}", f"{cfg['reliance_radius']:g}"
    masked = {r: curve[r] if r in curve else plain_auroc(score(mask_core(x, float(r))), labels) for r in (r_drop, r_rel)}
    gates["core_masked_drop"] = {**gate_status("core_masked_drop", (base - masked[r_drop]) / base, th),
                                 "radius_px": cfg["masked_radius"], "auroc_masked": masked[r_drop]}
    gates["core_reliance"] = {**gate_status("core_reliance", base - masked[r_rel], th), "radius_px": cfg["reliance_radius"]}
    reported["core_sensitivity"] = curve
    pos = labels == 1
    if pairs is not None and len(pairs[0]):
        hard = eval_hard_negatives(pairs[0], pairs[1], seed, cfg["hardneg_ring_px"], clip)
        p_hard = np.asarray(score(hard), dtype=np.float64)
        hn_auc = plain_auroc(np.concatenate([p[pos], p_hard]), np.r_[np.ones(pos.sum()), np.zeros(len(p_hard))])
        gates["hardneg_auroc"] = {**gate_status("hardneg_auroc", hn_auc, th), "n_hard": int(len(p_hard))}
        gates["hardneg_mean_p"] = {**gate_status("hardneg_mean_p", float(p_hard.mean()), th), "n_hard": int(len(p_hard))}
    else:
        note = {"note": "no stamp/ctrl pairs in this dataset: hard negatives cannot be made"}
        gates["hardneg_auroc"] = {**gate_status("hardneg_auroc", None, th), **note}
        gates["hardneg_mean_p"] = {**gate_status("hardneg_mean_p", None, th), **note}
    theta = index["theta_e_arcsec"].to_numpy(dtype=np.float64) if "theta_e_arcsec" in index else np.full(len(index), np.nan)
    occ = pos & np.isfinite(theta)
    if occ.any():
        psf = index["psfsize_r"].to_numpy(dtype=np.float64)[occ] if "psfsize_r" in index else 0.0
        pad = cfg["occlusion_psf_pad"] * np.nan_to_num(psf, nan=0.0)
        p_occ = np.asarray(score(occlude_arcs(x[occ], theta[occ], tuple(cfg["occlusion_band"]), seed,
                                             cfg["occlusion_fill"], pad)), dtype=np.float64)
        gates["arc_occlusion_drop"] = {**gate_status("arc_occlusion_drop", float((p[occ] - p_occ).mean()), th),
                                       "n": int(occ.sum()), "band_theta_e": cfg["occlusion_band"]}
    else:
        gates["arc_occlusion_drop"] = {**gate_status("arc_occlusion_drop", None, th), "note": "no positive with theta_E"}
    strata = theta_e_strata(p, labels, theta, cfg["theta_e_bins"], cfg["min_positives_per_bin"])
    gates["theta_e_min_auroc"] = gate_status("theta_e_min_auroc", strata["min"], th)
    gates["theta_e_spread"] = gate_status("theta_e_spread", strata["spread"], th)
    reported["theta_e_bins"] = strata["bins"]
    reported["low_fpr"] = low_fpr(p, labels, cfg["low_fprs"])
    reported["calibration"] = {"all": calibration(p, labels, cfg["ece_bins"]),
                               "positives": calibration(p[pos], labels[pos], cfg["ece_bins"])}
    return {"gates": gates, "reported": reported}
