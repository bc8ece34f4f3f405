"""Classifier metrics the gates report: AUROC with DeLong errors, low-FPR figures, calibration.

Scores are any real numbers where larger means "more lens-like"; labels are
0/1. DeLong's variance uses the midrank formulation of Sun & Xu (2014,
IEEE SPL 21, 1389), written out here because neither scikit-learn nor scipy
provides it; AUROC itself, pAUC and ROC curves come from scikit-learn.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score, roc_curve


class MetricError(ValueError):
    """Scores and labels a metric cannot be computed on (one class, NaN); the message says which."""


def check_scores(scores: np.ndarray, labels: np.ndarray, what: str = "evaluation split") -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    if scores.shape != labels.shape:
        raise MetricError(f"{what}: {len(scores)} scores for {len(labels)} labels")
    if not np.all(np.isfinite(scores)):
        raise MetricError(f"{what}: {int((~np.isfinite(scores)).sum())} non-finite scores")
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise MetricError(f"{what} has {n_pos} positives and {n_neg} negatives; AUROC needs both: field label")
    return scores, labels


def _delong_components(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(aucs, v10, v01) for a (k, n) stack of score vectors: structural components per positive / negative."""
    pos, neg = scores[:, labels == 1], scores[:, labels == 0]
    m, n = pos.shape[1], neg.shape[1]
    tx = rankdata(pos, axis=1)  # midranks: ties share their average rank
    ty = rankdata(neg, axis=1)
    tz = rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / (m * n)) - (m + 1.0) / (2.0 * n)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    return aucs, v10, v01


def delong_covariance(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs and their DeLong covariance matrix for a (k, n) stack of scorers on the same samples."""
    aucs, v10, v01 = _delong_components(np.atleast_2d(scores), labels)
    m, n = v10.shape[1], v01.shape[1]
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((len(aucs), len(aucs)))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((len(aucs), len(aucs)))
    return aucs, s10 / m + s01 / n


def auroc_with_ci(scores, labels, level: float = 0.95, what: str = "evaluation split") -> dict:
    """AUROC, DeLong standard error and a `level` interval (clipped to [0, 1])."""
    scores, labels = check_scores(scores, labels, what)
    aucs, cov = delong_covariance(scores[None], labels)
    auc, se = float(aucs[0]), float(np.sqrt(max(cov[0, 0], 0.0)))
    z = norm.ppf(0.5 + level / 2)
    return {"value": auc, "se": se, "ci": [float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se))], "ci_level": level,
            "n_pos": int(labels.sum()), "n_neg": int((labels == 0).sum())}


def _two_sided(diff: float, var: float) -> tuple[float, float]:
    """(z, p) of a two-sided normal test of `diff` with variance `var`; a zero variance gives z = 0, p = 1 for a zero
    difference and z = +-inf, p = 0 otherwise."""
    if var <= 0:
        return (0.0, 1.0) if diff == 0 else (float(np.sign(diff) * np.inf), 0.0)
    z = diff / np.sqrt(var)
    return float(z), float(2 * norm.sf(abs(z)))


def delong_paired_test(scores_a, scores_b, labels) -> dict:
    """Two-sided DeLong test of AUROC(a) - AUROC(b) on the same samples.

    Both scorers rank the same samples (`labels` shared), so the variance of
    the difference includes their covariance: var_a + var_b - 2 cov_ab.
    Returns auroc_a, auroc_b, difference (a - b), se, z, p_value, n_pos,
    n_neg and test ("paired DeLong").
    """
    a, labels = check_scores(scores_a, labels, "scores a")
    b, _ = check_scores(scores_b, labels, "scores b")
    aucs, cov = delong_covariance(np.stack([a, b]), labels)
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z, p = _two_sided(diff, var)
    return {"auroc_a": float(aucs[0]), "auroc_b": float(aucs[1]), "difference": diff, "se": float(np.sqrt(max(var, 0))),
            "z": z, "p_value": p, "n_pos": int(labels.sum()), "n_neg": int((labels == 0).sum()), "test": "paired DeLong"}


def delong_unpaired_test(scores_a, labels_a, scores_b, labels_b) -> dict:
    """Two-sided test of AUROC(a) - AUROC(b) for two independent samples (unpaired DeLong).

    Each AUROC is estimated on its own sample (scores_a with labels_a,
    scores_b with labels_b; scores: larger = more lens-like, labels 0/1) and
    its variance is that sample's own DeLong variance (DeLong, DeLong &
    Clarke-Pearson 1988, Biometrics 44, 837: the structural-component
    variance S10 / m + S01 / n, here from `delong_covariance`). With no
    sample in common the two estimates are independent, so the variance of
    the difference is simply var_a + var_b, with no covariance term; the
    statistic z = (AUROC_a - AUROC_b) / sqrt(var_a + var_b) is referred to
    the standard normal. If the samples do overlap this ignores their
    correlation: usually positive, which makes the test conservative.

    Returns the keys of `delong_paired_test` (auroc_a, auroc_b, difference =
    a - b, se, z, p_value; n_pos and n_neg are the totals over both
    samples) plus n_pos_a, n_neg_a, n_pos_b, n_neg_b and test
    ("unpaired DeLong"). A zero variance (both AUROCs 0 or 1) gives p = 1 for
    a zero difference and p = 0 otherwise.
    """
    a, la = check_scores(scores_a, labels_a, "scores a")
    b, lb = check_scores(scores_b, labels_b, "scores b")
    auc_a, cov_a = delong_covariance(a[None], la)
    auc_b, cov_b = delong_covariance(b[None], lb)
    diff = float(auc_a[0] - auc_b[0])
    var = float(max(cov_a[0, 0], 0.0) + max(cov_b[0, 0], 0.0))
    z, p = _two_sided(diff, var)
    n_pos_a, n_neg_a = int(la.sum()), int((la == 0).sum())
    n_pos_b, n_neg_b = int(lb.sum()), int((lb == 0).sum())
    return {"auroc_a": float(auc_a[0]), "auroc_b": float(auc_b[0]), "difference": diff, "se": float(np.sqrt(var)),
            "z": z, "p_value": p, "n_pos": n_pos_a + n_pos_b, "n_neg": n_neg_a + n_neg_b,
            "n_pos_a": n_pos_a, "n_neg_a": n_neg_a, "n_pos_b": n_pos_b, "n_neg_b": n_neg_b, "test": "unpaired DeLong"}


def plain_auroc(scores, labels) -> float:
    scores, labels = check_scores(scores, labels)
    return float(roc_auc_score(labels, scores))


def low_fpr(scores, labels, fprs: list[float]) -> dict:
    """TPR at each FPR (threshold from the negatives' scores) and scikit-learn's standardised pAUC below it.

    `resolved` is False where the FPR is below 1 / n_neg: the split has too
    few negatives to place that threshold, and the figure is an extrapolation.
    """
    scores, labels = check_scores(scores, labels)
    fpr_curve, tpr_curve, _ = roc_curve(labels, scores)
    n_neg = int((labels == 0).sum())
    out = {}
    for f in fprs:
        tpr = float(np.interp(f, fpr_curve, tpr_curve))
        out[f"{f:g}"] = {"tpr": tpr, "pauc_standardized": float(roc_auc_score(labels, scores, max_fpr=f)),
                         "resolved": f >= 1.0 / n_neg, "n_neg": n_neg}
    return out


def calibration(p, labels, n_bins: int = 15) -> dict:
    """ECE (bin-count weighted mean of |mean label - mean p|) and MCE (its max) over equal-width p bins."""
    p = np.asarray(p, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if len(p) == 0:
        raise MetricError("calibration of an empty sample")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece, mce = 0.0, 0.0
    for b in np.unique(bins):
        sel = bins == b
        gap = abs(labels[sel].mean() - p[sel].mean())
        ece += sel.mean() * gap
        mce = max(mce, gap)
    return {"ece": float(ece), "mce": float(mce), "n": int(len(p)), "bins": n_bins}
