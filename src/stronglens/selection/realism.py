"""The realism gap (docs/science.md sections 10-11): recall on a dataset's lenses beside injection completeness.

The seeds' finder recovered 89% of confirmed (tier A) lenses at p > 0.3 but
3.5-5% of Sersic injections. Here the same comparison is made for one run:
its recall on the evaluation split's tier A (and tier B) positives, from the
gates' score table, beside the selection function's completeness for each
injected source model, at the same fixed thresholds. Intervals on recall
are Jeffreys (Beta(k + 1/2, n - k + 1/2), equal-tailed) with the lower end 0
at k = 0 and the upper end 1 at k = n, so they always contain the estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.selection.recovery import beta_interval

RECALL_THRESHOLDS = (0.3, 0.5)
SCORE_COLUMNS = ("split", "label", "tier", "p")


class ScoreTableError(ValueError):
    """A gates score table that cannot give a recall; the message names the file and field."""


def jeffreys_interval(k: int, n: int, level: float) -> tuple[float, float]:
    """Jeffreys `level` interval of a binomial rate, ends fixed to 0 at k = 0 and 1 at k = n (`beta_interval`)."""
    lo, hi = beta_interval(np.array([k]), np.array([n]), level)
    return float(lo[0]), float(hi[0])


def recall(p: np.ndarray, threshold: float) -> dict:
    """Share of scores above a threshold with its 68% and 95% Jeffreys intervals (None when there is none)."""
    n, k = len(p), int((np.asarray(p) > threshold).sum())
    if n == 0:
        return {"threshold_p": threshold, "recall": None, "n_detected": 0, "n": 0, "ci68": None, "ci95": None}
    return {"threshold_p": threshold, "recall": k / n, "n_detected": k, "n": n,
            "ci68": list(jeffreys_interval(k, n, 0.68)), "ci95": list(jeffreys_interval(k, n, 0.95))}


def read_scores(path: str) -> pd.DataFrame:
    """A run's gates score table with the columns recall needs; a missing column or a non-finite score is named."""
    scores = pd.read_parquet(path)
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ScoreTableError(f"{path}: missing column(s) {missing}: field {missing[0]}")
    bad = ~np.isfinite(scores["p"].to_numpy(dtype=float))
    if bad.any():
        raise ScoreTableError(f"{path} row {int(np.flatnonzero(bad)[0])}: field p is not finite")
    return scores


def tier_recalls(scores: pd.DataFrame, split: str) -> dict:
    """Recall of the split's positives per tier (A, B) at each of RECALL_THRESHOLDS."""
    pos = scores[(scores["split"] == split) & (scores["label"] == 1)]
    return {f"tier_{t.lower()}": {f"p>{th:g}": recall(pos.loc[pos["tier"] == t, "p"].to_numpy(float), th)
                                  for th in RECALL_THRESHOLDS} for t in ("A", "B")}


def realism_gap(scores: pd.DataFrame, split: str, by_model: dict[str, dict], dataset: str, source: str) -> dict:
    """Tier A / B recall beside each source model's injection completeness (from `tables.overall`), at p > 0.3
    and p > 0.5, and whether the seeds' pattern holds at p > 0.3 (see `seeds_pattern`)."""
    keys = [f"p>{th:g}" for th in RECALL_THRESHOLDS]
    injections = {m: {k: rec[k] for k in keys if k in rec} for m, rec in by_model.items()}
    gap = {"dataset": dataset, "dataset_source": source, "split": split, **tier_recalls(scores, split),
           "injection_completeness": injections}
    gap["seeds_pattern"] = seeds_pattern(gap)
    return gap


def seeds_pattern(gap: dict) -> dict:
    """At p > 0.3: is Sersic completeness below real-galaxy completeness (95% intervals apart), and how far is
    each from tier A recall (recall minus completeness, in absolute terms)? None where a number is missing."""
    key = "p>0.3"
    a = gap["tier_a"][key]["recall"]
    inj = gap["injection_completeness"]
    ser, real = inj.get("sersic", {}).get(key), inj.get("real_galaxy", {}).get(key)
    out: dict = {"threshold": key, "tier_a_recall": a}
    for name, rec in (("sersic", ser), ("real_galaxy", real)):
        c = rec["completeness"] if rec else None
        out[f"{name}_completeness"] = c
        out[f"tier_a_minus_{name}"] = a - c if a is not None and c is not None else None
    if ser and real and ser["completeness"] is not None and real["completeness"] is not None:
        out["sersic_below_real_galaxy"] = bool(ser["ci95"][1] < real["ci95"][0])
    else:
        out["sersic_below_real_galaxy"] = None
    return out
