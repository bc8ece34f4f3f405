"""Model-free shortcut gates on the model's inputs (docs/science.md section 7).

A logistic regression on a hand-made feature set (core pixels, radial
profile, arc-annulus pixels) tries to tell positives from negatives; its
5-fold cross-validated AUROC says how much of the label those features give
away. Folds are grouped by host, so a pair's stamp and ctrl never sit in
different folds (ungrouped folds bias a no-signal AUC low on paired data).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stronglens.core.rng import generator
from stronglens.gates.settings import DataGateSettings, Threshold
from stronglens.gates.verdict import data_verdict, gate_record


def cv_lr_auc(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> dict:
    """Out-of-fold AUROC of a standardised L2 logistic regression, host-grouped stratified folds."""
    if len(np.unique(labels)) < 2:
        raise ValueError("the gate sample holds a single class: field label")
    n_folds = min(folds, int(np.bincount(labels).min()), len(np.unique(groups)))
    if n_folds < 2:
        return {"auc": float("nan"), "fold_aucs": [], "n": int(len(labels)), "note": "too few samples for 2 folds"}
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    oof = np.zeros(len(labels))
    fold_aucs = []
    for train, test in cv.split(features, labels, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(features[train], labels[train])
        oof[test] = model.predict_proba(features[test])[:, 1]
        if len(np.unique(labels[test])) == 2:
            fold_aucs.append(float(roc_auc_score(labels[test], oof[test])))
    return {"auc": float(roc_auc_score(labels, oof)), "fold_aucs": fold_aucs, "n": int(len(labels)), "folds": n_folds}


def host_subsample(host_of_row: np.ndarray, max_samples: int, seed: int) -> np.ndarray:
    """Sorted row indices keeping whole hosts, at most about max_samples rows."""
    hosts = np.unique(host_of_row)
    if len(host_of_row) <= max_samples:
        return np.arange(len(host_of_row))
    rng = generator(seed, "data_gates:subsample")
    keep_hosts = rng.choice(hosts, size=max(2, int(len(hosts) * max_samples / len(host_of_row))), replace=False)
    return np.flatnonzero(np.isin(host_of_row, keep_hosts))


FEATURE_QUANTUM = 1e-4  # in units of the input (MAD units after preprocessing)


def feature_sets(x: np.ndarray, cfg: DataGateSettings) -> dict[str, np.ndarray]:
    """Core, radial and annulus features, quantised to FEATURE_QUANTUM.

    Quantising matters: after residual_radial_profile the radial profile is 0
    up to float rounding, and standardising would blow that rounding noise
    (which correlates with pixel values, hence with the arc) up into a fake signal.
    """
    from stronglens.data.features import annulus_features, core_features, radial_features

    sets = {
        "core_lr_auc": core_features(x, cfg.core_px),
        "radial_lr_auc": radial_features(x),
        "annulus_lr_auc": annulus_features(x, tuple(cfg.annulus_px)),
    }
    return {k: np.round(v.astype(np.float64) / FEATURE_QUANTUM) * FEATURE_QUANTUM for k, v in sets.items()}


def data_gates(x: np.ndarray, index, cfg: DataGateSettings, thresholds: Mapping[str, Threshold], clip: float | None,
               seed: int) -> dict:
    """Core, radial and annulus LR AUCs with status, overall and per theta_E bin, plus the core saturation."""
    import torch

    from stronglens.data.normalise import saturated_core_fraction

    rows = host_subsample(index["host_id"].to_numpy(), cfg.max_samples, seed)
    x = np.asarray(x[rows], dtype=np.float32)
    idx = index.iloc[rows].reset_index(drop=True)
    labels = idx["label"].to_numpy().astype(int)
    groups = idx["host_id"].to_numpy()
    feats = feature_sets(x, cfg)
    out: dict = {"n_samples": int(len(idx)), "n_positive": int(labels.sum()), "gates": {}, "theta_e_bins": {}}
    for name, f in feats.items():
        res = cv_lr_auc(f, labels, groups, cfg.folds, seed)
        out["gates"][name] = {**gate_record(name, res["auc"], thresholds), **res}
    bins = cfg.theta_e_bins
    te = idx["theta_e_arcsec"].to_numpy()
    for lo, hi in zip(bins[:-1], bins[1:]):
        # Negatives of unpaired sources have no theta_E: they join every bin.
        sel = ((te >= lo) & (te < hi)) | np.isnan(te)
        key = f"[{lo},{hi})"
        if sel.sum() < 10 or len(np.unique(labels[sel])) < 2:
            out["theta_e_bins"][key] = {"n": int(sel.sum()), "note": "too few samples"}
            continue
        out["theta_e_bins"][key] = {
            name: {**gate_record(name, r["auc"], thresholds), "n": r["n"]}
            for name, r in ((n, cv_lr_auc(f[sel], labels[sel], groups[sel], cfg.folds, seed)) for n, f in feats.items())
        }
    sat = saturated_core_fraction(torch.from_numpy(x), clip, cfg.core_px)
    out["saturated_core_fraction"] = sat
    out["verdict"] = data_verdict(out["gates"])
    return out
