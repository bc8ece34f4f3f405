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
from scipy.linalg import eigh
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
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
        oof[test] = fit_lr_scores(features[train], labels[train], features[test])
        if len(np.unique(labels[test])) == 2:
            fold_aucs.append(float(roc_auc_score(labels[test], oof[test])))
    return {"auc": float(roc_auc_score(labels, oof)), "fold_aucs": fold_aucs, "n": int(len(labels)), "folds": n_folds}


def fit_lr_scores(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """Decision scores on `test_x` of an L2 logistic regression (C = 1, lbfgs) on standardised `train_x`.

    The scaler is fit on the training rows, as a scikit-learn pipeline would.
    With fewer training rows n than features p the fit runs in the n-dimensional
    span of the rows, which is exact: with A = U S V^T (thin SVD, from the
    eigenvectors of the Gram matrix A A^T) the optimal weights are w = V beta,
    the loss sees only A w = (U S) beta and the penalty |w|^2 = |beta|^2, so an
    LR on U S gives beta, hence w, with n instead of p columns (the per-bin gates
    on 2,244 annulus pixels and a few hundred images: several times faster,
    benchmarks/bench_data_gates.py). With n >= p the fit runs in float32 on
    the standardised features (unit scale, so float32 loses nothing the
    lbfgs tolerance of 1e-4 keeps). The scores rank test rows as
    predict_proba would (AUROC is rank-based).
    """
    scaler = StandardScaler().fit(train_x)
    a = scaler.transform(train_x)
    model = LogisticRegression(C=1.0, max_iter=2000)
    if a.shape[0] >= a.shape[1]:
        # float32: the fit streams the whole (n, p) matrix every lbfgs step, and half the bytes is ~1.6x faster
        model.fit(a.astype(np.float32), train_y)
        weights = model.coef_[0].astype(np.float64)
    else:
        basis = row_space_basis(a)
        model.fit(a @ basis, train_y)
        weights = basis @ model.coef_[0]
    return scaler.transform(test_x) @ weights + model.intercept_[0]


def row_space_basis(a: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """(p, r) orthonormal basis V of the row space of (n, p) `a` (n < p), from the eigenvectors of a a^T.

    Directions with eigenvalue below rtol x the largest (numerically zero) are dropped.
    """
    lam, u = eigh(a @ a.T)
    keep = lam > lam.max() * rtol
    return (a.T @ u[:, keep]) / np.sqrt(lam[keep])


def host_subsample(host_of_row: np.ndarray, max_samples: int, seed: int) -> np.ndarray:
    """Sorted row indices keeping whole hosts, at most about max_samples rows."""
    hosts = np.unique(host_of_row)
    if len(host_of_row) <= max_samples:
        return np.arange(len(host_of_row))
    rng = generator(seed, "data_gates:subsample")
    keep_hosts = rng.choice(hosts, size=max(2, int(len(hosts) * max_samples / len(host_of_row))), replace=False)
    return np.flatnonzero(np.isin(host_of_row, keep_hosts))


FEATURE_QUANTUM = 1e-4  # in units of the input (MAD units after preprocessing)


def feature_sets(x: np.ndarray, cfg: DataGateSettings, profile: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Core, radial and annulus features of the model inputs, plus `radial_pre_lr_auc` from `profile` (the (N, C, R)
    ring medians before any profile subtraction) when given; all quantised to FEATURE_QUANTUM.

    Quantising matters: after residual_radial_profile the radial profile is 0
    up to float rounding, and standardising would blow that rounding noise
    (which correlates with pixel values, hence with the arc) up into a fake
    signal; quantised, it is exactly constant and the gate reports N/A.
    """
    from stronglens.data.features import annulus_features, core_features, radial_features

    sets = {
        "core_lr_auc": core_features(x, cfg.core_px),
        "radial_lr_auc": radial_features(x),
        "annulus_lr_auc": annulus_features(x, tuple(cfg.annulus_px)),
    }
    if profile is not None:
        sets["radial_pre_lr_auc"] = np.asarray(profile).reshape(len(profile), -1)
    return {k: np.round(v.astype(np.float64) / FEATURE_QUANTUM) * FEATURE_QUANTUM for k, v in sets.items()}


CONSTANT_REASON = {
    "radial_lr_auc": "every radial feature is constant over the sample: the preprocessing subtracts this very profile "
                     "(residual_radial_profile), so the gate cannot fire; the radial slot of the verdict reads "
                     "radial_pre_lr_auc instead",
}


def constant_features(features: np.ndarray) -> bool:
    """True when no feature column varies over the sample (then no classifier can use it: the gate is N/A)."""
    return bool(len(features) == 0 or np.all(np.ptp(features, axis=0) == 0))


def lr_gate(name: str, features: np.ndarray, labels: np.ndarray, groups: np.ndarray, cfg: DataGateSettings,
            thresholds: Mapping[str, Threshold], seed: int) -> dict:
    """One LR gate's record: N/A with the reason when its features are constant, else the CV AUROC and status."""
    if constant_features(features):
        reason = CONSTANT_REASON.get(name, "every feature is constant over the sample")
        return {**gate_record(name, None, thresholds), "auc": None, "fold_aucs": [], "n": int(len(labels)),
                "reason": reason}
    res = cv_lr_auc(features, labels, groups, cfg.folds, seed)
    return {**gate_record(name, res["auc"], thresholds), **res}


def data_gates(x: np.ndarray, index, cfg: DataGateSettings, thresholds: Mapping[str, Threshold], clip: float | None,
               seed: int, profile: np.ndarray | None = None) -> dict:
    """Core, radial (and pre-subtraction radial) and annulus LR AUCs with status, overall and per theta_E bin,
    plus the core saturation. `profile`: the rows' ring medians before profile subtraction, or None."""
    import torch

    from stronglens.data.normalise import saturated_core_fraction

    rows = host_subsample(index["host_id"].to_numpy(), cfg.max_samples, seed)
    x = np.asarray(x[rows], dtype=np.float32)
    idx = index.iloc[rows].reset_index(drop=True)
    labels = idx["label"].to_numpy().astype(int)
    groups = idx["host_id"].to_numpy()
    feats = feature_sets(x, cfg, None if profile is None else np.asarray(profile)[rows])
    out: dict = {"n_samples": int(len(idx)), "n_positive": int(labels.sum()), "gates": {}, "theta_e_bins": {}}
    for name, f in feats.items():
        out["gates"][name] = lr_gate(name, f, labels, groups, cfg, thresholds, seed)
    if profile is None:
        out["gates"]["radial_pre_lr_auc"] = {**gate_record("radial_pre_lr_auc", None, thresholds), "auc": None,
                                             "fold_aucs": [], "n": int(len(labels)),
                                             "reason": "no ring-median profile file beside the arrays"}
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
            name: {k: v for k, v in lr_gate(name, f[sel], labels[sel], groups[sel], cfg, thresholds, seed).items()
                   if k not in ("fold_aucs", "folds")}
            for name, f in feats.items()
        }
    sat = saturated_core_fraction(torch.from_numpy(x), clip, cfg.core_px)
    out["saturated_core_fraction"] = sat
    out["verdict"] = data_verdict(out["gates"])
    return out
