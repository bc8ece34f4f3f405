"""The realism audit's statistics, side by side with their straightforward versions.

Prints, on synthetic embeddings of the default sizes (about 50 real lenses, 100 injections, 200 negatives,
216 features: the bottlenecked ResNet's penultimate block):
* the probe's bootstrap interval: batched rank AUC over all resamples vs scikit-learn's roc_auc_score
  called once per resample (same interval), and the ratio;
* the MMD permutation test: one kernel matrix indexed per permutation vs the kernel recomputed for each;
* the Frechet distance at 216 and 1280 dimensions (EfficientNetV2-S's last block) with n < dim.

    python benchmarks/bench_realism.py [--n-real 50] [--n-inj 100] [--dim 216] [--boot 1000] [--perm 500]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import roc_auc_score
from timing import timed

from stronglens.realism.stats import bootstrap_auc_interval, frechet_distance, mmd_test


def sklearn_bootstrap(neg: np.ndarray, pos: np.ndarray, n_boot: int, seed: int) -> list[float]:
    """The baseline: one roc_auc_score call per resample (same resamples as the batched version)."""
    rng = np.random.default_rng(seed)
    ineg = rng.integers(0, len(neg), (n_boot, len(neg)))
    ipos = rng.integers(0, len(pos), (n_boot, len(pos)))
    y = np.r_[np.zeros(len(neg)), np.ones(len(pos))]
    boot = [roc_auc_score(y, np.r_[neg[a], pos[b]]) for a, b in zip(ineg, ipos)]
    return [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]


def naive_mmd_p(a: np.ndarray, b: np.ndarray, permutations: int, seed: int) -> float:
    """The baseline: the Gaussian kernel recomputed from the data for every permutation."""
    x = np.concatenate([a, b])
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    bw = np.median(d2[~np.eye(len(x), dtype=bool)])

    def mmd2(xa, xb):
        def k(u, v):
            return np.exp(-((u[:, None] - v[None]) ** 2).sum(-1) / bw)
        kaa, kbb = k(xa, xa), k(xb, xb)
        np.fill_diagonal(kaa, 0), np.fill_diagonal(kbb, 0)
        n, m = len(xa), len(xb)
        return kaa.sum() / (n * (n - 1)) + kbb.sum() / (m * (m - 1)) - 2 * k(xa, xb).mean()

    obs = mmd2(a, b)
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(permutations):
        order = rng.permutation(len(x))
        null.append(mmd2(x[order[: len(a)]], x[order[len(a):]]))
    return (1 + int((np.array(null) >= obs).sum())) / (1 + permutations)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-real", type=int, default=50)
    ap.add_argument("--n-inj", type=int, default=100)
    ap.add_argument("--dim", type=int, default=216)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--perm", type=int, default=500)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    real, inj = rng.normal(size=(args.n_real, args.dim)), rng.normal(0.1, size=(args.n_inj, args.dim))
    neg, pos = rng.normal(size=args.n_real), rng.normal(0.5, size=args.n_inj)

    fast_ci, t_fast = bootstrap_auc_interval(neg, pos, args.boot, 1), timed(lambda: bootstrap_auc_interval(neg, pos, args.boot, 1))
    slow_ci, t_slow = sklearn_bootstrap(neg, pos, args.boot, 1), timed(lambda: sklearn_bootstrap(neg, pos, args.boot, 1), 1)
    print(f"bootstrap AUC ({args.boot} resamples): batched {t_fast * 1e3:.1f} ms, per-resample sklearn "
          f"{t_slow * 1e3:.1f} ms: {t_slow / t_fast:.1f}x; intervals {np.round(fast_ci, 4)} vs {np.round(slow_ci, 4)}")
    perm = min(args.perm, 100)
    fast, t_fast = mmd_test(real, inj, perm, 1), timed(lambda: mmd_test(real, inj, perm, 1))
    slow_p, t_slow = naive_mmd_p(real, inj, perm, 1), timed(lambda: naive_mmd_p(real, inj, perm, 1), 1)
    print(f"MMD permutation test ({perm} permutations): kernel once {t_fast * 1e3:.1f} ms, kernel per permutation "
          f"{t_slow * 1e3:.1f} ms: {t_slow / t_fast:.1f}x; p {fast['p_value']:.3f} vs {slow_p:.3f}")
    for dim in (args.dim, 1280):
        a, b = rng.normal(size=(args.n_real, dim)), rng.normal(0.1, size=(args.n_inj, dim))
        res, t = frechet_distance(a, b), timed(lambda a=a, b=b: frechet_distance(a, b))
        print(f"Frechet distance (Ledoit-Wolf), n = {args.n_real} / {args.n_inj}, dim {dim}: {t * 1e3:.1f} ms, "
              f"FD {res['fd']:.3f} (a shift of 0.1 per dimension alone gives {0.01 * dim:.2f})")


if __name__ == "__main__":
    main()
