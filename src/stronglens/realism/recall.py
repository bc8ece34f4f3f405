"""Recall on the catalog's lenses (the seeds' anchor evaluation, "Table 4"), per tier and theta_E bin.

Detections are p > threshold, for the fixed thresholds and for thresholds
at the configured FPRs of the catalog's own negatives (each distinct
negative counted once: the catalog has one row per image). Intervals are
Jeffreys with the lower end 0 at k = 0 and the upper end 1 at k = n
(`selection.recovery.beta_interval`), so they always contain k / n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.realism.catalog import TIERS
from stronglens.selection.realism import recall
from stronglens.selection.recovery import threshold_at_fpr


def thresholds(p_negatives: np.ndarray, fixed: tuple[float, ...], fprs: tuple[float, ...]) -> dict[str, dict]:
    """name -> {threshold_p, ...}: 'p>t' for each fixed t, 'fpr<=f' (with achieved FPR, resolved) for each FPR."""
    out = {f"p>{t:g}": {"threshold_p": float(t)} for t in fixed}
    for f in fprs:
        thr = threshold_at_fpr(p_negatives, f)
        out[f"fpr<={f:g}"] = {"threshold_p": thr["threshold"], "achieved_fpr": thr["achieved_fpr"],
                              "resolved": thr["resolved"], "n_negatives": thr["n_valid"],
                              "smallest_resolvable_fpr": 1.0 / thr["n_valid"]}
    return out


def recall_table(p: np.ndarray, rows: pd.DataFrame, thr: dict[str, dict], theta_bins: tuple[float, ...]) -> dict:
    """Recall of all lenses, per tier and per theta_E bin, at every threshold."""
    p = np.asarray(p, float)

    def at(mask: np.ndarray) -> dict:
        return {name: recall(p[mask], t["threshold_p"]) for name, t in thr.items()}

    tiers = rows["tier"].to_numpy()
    out = {"all": at(np.ones(len(p), bool)), "tiers": {t: at(tiers == t) for t in TIERS}}
    theta = rows["theta_e_arcsec"].to_numpy(float)
    bins = {}
    for lo, hi in zip(theta_bins[:-1], theta_bins[1:]):
        mask = (theta >= lo) & (theta < hi)
        bins[f"{lo:g}-{hi:g}"] = {"theta_lo": lo, "theta_hi": hi, **at(mask)}
    out["theta_e_bins"] = bins
    out["n_theta_e_unknown"] = int((~np.isfinite(theta)).sum())
    return out


def table4(table: dict) -> list[dict]:
    """The seeds' Table 4: one row per tier (and all) and threshold: n, detected, recall and 95% interval."""
    rows = []
    for group, per in (("all", table["all"]), *((f"tier {t}", table["tiers"][t]) for t in TIERS)):
        for name, r in per.items():
            rows.append({"group": group, "threshold": name, "n": r["n"], "n_detected": r["n_detected"],
                         "recall": r["recall"], "ci95": r["ci95"]})
    return rows


def fpr_at(p_negatives: np.ndarray, thr: dict[str, dict]) -> dict[str, float]:
    """False-positive rate of the negatives at each threshold."""
    p = np.asarray(p_negatives, float)
    return {name: float((p > t["threshold_p"]).mean()) for name, t in thr.items()}
