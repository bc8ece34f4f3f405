"""Two-sample statistics of the realism audit (docs/realism.md): linear probe, MMD, Frechet distance, McNemar.

Conventions: a sample is an (n, d) float array, one row per image. Every
random draw (CV folds, bootstrap, permutations) comes from a generator the
caller seeds, so a rerun gives the same numbers.

* Linear probe: standardise, then L2 logistic regression (scikit-learn);
  out-of-fold decision values of stratified k-fold CV give a per-fold AUC
  (mean and std, as the seeds report) and a pooled AUC with a percentile
  bootstrap interval over images.
* MMD: the unbiased squared MMD with a Gaussian kernel whose bandwidth is the
  median pairwise distance of the pooled sample; p-value from label
  permutations, (1 + #{MMD_perm >= MMD_obs}) / (1 + P).
* Frechet distance: |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)
  with Ledoit-Wolf shrinkage covariances. Shrinkage keeps S positive
  definite when n < d, where the sample covariance is singular: the
  seeds could not compute their deeper blocks for that reason.
* McNemar: exact two-sided binomial test on the discordant pairs (b, c),
  with the continuity-corrected chi-square statistic beside it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


class SampleError(ValueError):
    """A sample too small or malformed for a statistic; the message names the groups."""


def _two(a: np.ndarray, b: np.ndarray, what: str, minimum: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise SampleError(f"{what}: samples must be (n, d) with the same d, got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < minimum:
        raise SampleError(f"{what}: needs at least {minimum} images per group, got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise SampleError(f"{what}: non-finite features")
    return a, b


def _cv_scores(x: np.ndarray, y: np.ndarray, k: int, seed: int, groups: np.ndarray | None,
               inverse_regularisation: float) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold decision values and per-fold AUCs of the standardised L2 logistic regression."""
    if groups is None:
        splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y)
    else:
        splits = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y, groups)
    oof = np.empty(len(y))
    fold_aucs = []
    for train, test in splits:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=inverse_regularisation, max_iter=5000))
        model.fit(x[train], y[train])
        oof[test] = model.decision_function(x[test])
        if len(np.unique(y[test])) == 2:
            fold_aucs.append(roc_auc_score(y[test], oof[test]))
    return oof, fold_aucs


def linear_probe(a: np.ndarray, b: np.ndarray, folds: int, seed: int, bootstrap: int = 1000,
                 inverse_regularisation: float = 1.0, groups: np.ndarray | None = None, permutations: int = 0) -> dict:
    """How well a linear classifier tells sample b (label 1) from a (label 0): CV AUC and bootstrap interval.

    Returns auc_mean and auc_std over folds, auc_pooled (out-of-fold scores of every image), ci95 (percentile
    bootstrap of auc_pooled), folds (the number used: at most the smaller group's size), n_a and n_b.
    `groups` (one id per row of a then b) keeps rows of one group in one fold (StratifiedGroupKFold): twins of
    one lens cannot sit on both sides of a split. With `permutations` > 0 the CV is rerun that many times with
    shuffled labels: ``permutation`` holds the null distribution's median and a two-sided p-value,
    (1 + #{|AUC_perm - median| >= |AUC - median|}) / (1 + P). Cross-validated AUCs of a null are biased below
    0.5 at small n (a held-out fold's class mix mirrors the training folds'), so calibration is judged against
    this null rather than against 0.5 itself.
    """
    a, b = _two(a, b, "linear probe", minimum=2)
    x = np.concatenate([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    k = int(min(folds, len(a), len(b)))
    if groups is not None:
        groups = np.asarray(groups)
        k = int(min(k, len(np.unique(groups[: len(a)])), len(np.unique(groups[len(a):]))))
    oof, fold_aucs = _cv_scores(x, y, k, seed, groups, inverse_regularisation)
    pooled = float(roc_auc_score(y, oof))
    ci = bootstrap_auc_interval(oof[: len(a)], oof[len(a):], bootstrap, seed) if bootstrap else None
    out = {"auc_mean": float(np.mean(fold_aucs)), "auc_std": float(np.std(fold_aucs)), "auc_pooled": pooled,
           "ci95": ci, "folds": k, "fold_aucs": [float(v) for v in fold_aucs], "n_a": len(a), "n_b": len(b),
           "grouped": groups is not None}
    if permutations:
        rng = np.random.default_rng(seed)
        null = []
        for _ in range(permutations):
            order = rng.permutation(len(y))
            perm_groups = None if groups is None else groups[order]
            null.append(float(np.mean(_cv_scores(x[order], y, k, seed, perm_groups, inverse_regularisation)[1])))
        centre = float(np.median(null))
        extreme = int((np.abs(np.array(null) - centre) >= abs(out["auc_mean"] - centre)).sum())
        out["permutation"] = {"n": permutations, "null_median": centre, "null_range": [min(null), max(null)],
                              "p_two_sided": (1 + extreme) / (1 + permutations)}
    return out


def rank_auc(negative: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AUC (Mann-Whitney, ties counted one half) along the last axis of equal-shaped batches of scores."""
    both = np.concatenate([negative, positive], axis=-1)
    ranks = stats.rankdata(both, axis=-1)
    n0, n1 = negative.shape[-1], positive.shape[-1]
    return (ranks[..., n0:].sum(axis=-1) - n1 * (n1 + 1) / 2) / (n0 * n1)


def bootstrap_auc_interval(negative: np.ndarray, positive: np.ndarray, n_boot: int, seed: int) -> list[float]:
    """95% percentile interval of the AUC over `n_boot` resamples of each class (with replacement)."""
    rng = np.random.default_rng(seed)
    neg = negative[rng.integers(0, len(negative), (n_boot, len(negative)))]
    pos = positive[rng.integers(0, len(positive), (n_boot, len(positive)))]
    boot = rank_auc(neg, pos)
    return [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]


def _sq_dists(x: np.ndarray) -> np.ndarray:
    sq = (x * x).sum(1)
    return np.clip(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0, None)


def mmd_test(a: np.ndarray, b: np.ndarray, permutations: int, seed: int) -> dict:
    """Unbiased squared MMD (Gaussian kernel, median-heuristic bandwidth) and its permutation p-value."""
    a, b = _two(a, b, "MMD test", minimum=2)
    x = np.concatenate([a, b])
    d2 = _sq_dists(x)
    off = d2[~np.eye(len(x), dtype=bool)]
    bandwidth2 = float(np.median(off)) or 1.0
    kern = np.exp(-d2 / bandwidth2)
    np.fill_diagonal(kern, 0.0)
    n, m = len(a), len(b)

    def mmd2(first: np.ndarray) -> float:
        mask = np.zeros(n + m, dtype=bool)
        mask[first] = True
        kaa, kbb, kab = kern[np.ix_(mask, mask)], kern[np.ix_(~mask, ~mask)], kern[np.ix_(mask, ~mask)]
        return float(kaa.sum() / (n * (n - 1)) + kbb.sum() / (m * (m - 1)) - 2 * kab.mean())

    observed = mmd2(np.arange(n))
    rng = np.random.default_rng(seed)
    null = np.array([mmd2(rng.permutation(n + m)[:n]) for _ in range(permutations)])
    p = (1 + int((null >= observed).sum())) / (1 + permutations)
    return {"mmd2": observed, "p_value": float(p), "bandwidth": float(np.sqrt(bandwidth2)), "permutations": permutations,
            "n_a": n, "n_b": m}


def shrunk_gaussian(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Ledoit-Wolf covariance of an (n, d) sample (positive definite for any n >= 2)."""
    lw = LedoitWolf().fit(x)
    return lw.location_, lw.covariance_


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> dict:
    """Frechet distance between Gaussian fits (Ledoit-Wolf) of two samples; also per feature dimension."""
    a, b = _two(a, b, "Frechet distance", minimum=2)
    mu_a, s_a = shrunk_gaussian(a)
    mu_b, s_b = shrunk_gaussian(b)
    root_a = _sqrt_psd(s_a)
    cross = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    trace = float(np.trace(s_a) + np.trace(s_b) - 2 * np.sqrt(np.clip(cross, 0, None)).sum())
    fd = float(((mu_a - mu_b) ** 2).sum() + max(trace, 0.0))
    return {"fd": fd, "fd_per_dim": fd / a.shape[1], "dim": int(a.shape[1]), "n_a": len(a), "n_b": len(b),
            "estimator": "ledoit_wolf"}


def mcnemar(first: np.ndarray, second: np.ndarray) -> dict:
    """Paired test of two detection outcomes on the same images: exact binomial p on the discordant pairs."""
    first, second = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if first.shape != second.shape or first.ndim != 1:
        raise SampleError(f"McNemar: outcomes must be two equal-length 1-d arrays, got {first.shape} and {second.shape}")
    b = int((first & ~second).sum())
    c = int((~first & second).sum())
    n = b + c
    p = 1.0 if n == 0 else float(stats.binomtest(min(b, c), n, 0.5).pvalue)
    chi2 = 0.0 if n == 0 else (abs(b - c) - 1) ** 2 / n
    return {"only_first": b, "only_second": c, "both": int((first & second).sum()), "neither": int((~first & ~second).sum()),
            "p_exact": p, "chi2_cc": float(chi2), "p_chi2_cc": float(stats.chi2.sf(chi2, 1)) if n else 1.0}


def ks(a: np.ndarray, b: np.ndarray) -> dict:
    """Two-sample Kolmogorov-Smirnov test of the finite values of a and b (None when a side is empty)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if min(len(a), len(b)) == 0:
        return {"statistic": None, "p_value": None, "n_a": len(a), "n_b": len(b)}
    res = stats.ks_2samp(a, b)
    return {"statistic": float(res.statistic), "p_value": float(res.pvalue), "n_a": len(a), "n_b": len(b)}


def spearman(x: np.ndarray, y: np.ndarray) -> dict:
    """Spearman rank correlation of the finite pairs (None below 3 pairs)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return {"rho": None, "p_value": None, "n": int(ok.sum())}
    res = stats.spearmanr(x[ok], y[ok])
    return {"rho": float(res.statistic), "p_value": float(res.pvalue), "n": int(ok.sum())}
