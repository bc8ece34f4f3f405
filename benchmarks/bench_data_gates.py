"""Data gates: the previous implementation and the current one side by side, on the same inputs.

Simulates the embedded default's `synth` dataset (or --n-pairs of it), builds
its paired and unpaired manifests, preprocesses them (--mode), then runs the
model-free data gates of one `data_gates` job (both pairings, the overall
gates and every theta_E bin) twice, timed:

* baseline: the implementation before issue 19, kept here verbatim in
  behaviour: float64 features, a scikit-learn StandardScaler + lbfgs
  LogisticRegression per fold, features rebuilt for every bin;
* current: `stronglens.gates.model_free.data_gates`.

Prints each gate's AUROC from both beside the CV noise (the spread of its
fold AUROCs), and both wall and CPU times (interleaved per pairing) with their ratios.

    python benchmarks/bench_data_gates.py [--n-pairs 2000] [--mode residual_radial_profile] [--cache DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_preprocess import manifest_settings, synthetic_block
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stronglens.config.settings import parse_settings
from stronglens.data.manifest import build_manifests
from stronglens.data.preprocess_splits import preprocess_manifest
from stronglens.data.settings import PreprocessSettings
from stronglens.gates import model_free
from stronglens.gates.settings import DataGateSettings, parse_thresholds
from stronglens.gates.verdict import DATA_GATES
from stronglens.stages.data_gates import load
from stronglens.storage.artifacts import write_parquet
from stronglens.survey.synthetic.survey import simulate_shard

SPLITS = ("train", "val", "test")


def baseline_cv_lr_auc(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> dict:
    """The gate's CV before issue 19: scaler + lbfgs LR (C = 1, max_iter 2000) per fold, float64."""
    n_folds = min(folds, int(np.bincount(labels).min()), len(np.unique(groups)))
    if n_folds < 2:
        return {"auc": float("nan"), "fold_aucs": [], "n": int(len(labels))}
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    oof = np.zeros(len(labels))
    fold_aucs = []
    for train, test in cv.split(features, labels, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(features[train], labels[train])
        oof[test] = model.predict_proba(features[test])[:, 1]
        if len(np.unique(labels[test])) == 2:
            fold_aucs.append(float(roc_auc_score(labels[test], oof[test])))
    return {"auc": float(roc_auc_score(labels, oof)), "fold_aucs": fold_aucs, "n": int(len(labels))}


def baseline_gates(x: np.ndarray, index, cfg: DataGateSettings, seed: int, profile: np.ndarray | None) -> dict:
    """{gate or gate@bin: AUROC or None} as the previous data_gates computed them."""
    rows = model_free.host_subsample(index["host_id"].to_numpy(), cfg.max_samples, seed)
    x = np.asarray(x[rows], dtype=np.float32)
    idx = index.iloc[rows].reset_index(drop=True)
    labels, groups = idx["label"].to_numpy().astype(int), idx["host_id"].to_numpy()
    feats = model_free.feature_sets(x, cfg, None if profile is None else np.asarray(profile)[rows])
    out = {}
    te = idx["theta_e_arcsec"].to_numpy()
    bins = [(None, None)] + list(zip(cfg.theta_e_bins[:-1], cfg.theta_e_bins[1:]))
    for lo, hi in bins:
        sel = np.ones(len(idx), bool) if lo is None else ((te >= lo) & (te < hi)) | np.isnan(te)
        if sel.sum() < 10 or len(np.unique(labels[sel])) < 2:
            continue
        for name, f in feats.items():
            key = name if lo is None else f"{name}@[{lo},{hi})"
            fs = f[sel]
            out[key] = (None if model_free.constant_features(fs)
                        else baseline_cv_lr_auc(fs, labels[sel], groups[sel], cfg.folds, seed))
    return out


def current_gates(x: np.ndarray, index, cfg: DataGateSettings, thresholds, seed: int, profile) -> dict:
    """The same keys from `stronglens.gates.model_free.data_gates`."""
    rep = model_free.data_gates(x, index, cfg, thresholds, 10.0, seed, profile)
    out = {name: (None if g["auc"] is None else g) for name, g in rep["gates"].items()}
    for key, gates in rep["theta_e_bins"].items():
        for name, g in gates.items():
            if isinstance(g, dict):
                out[f"{name}@{key}"] = None if g["auc"] is None else g
    return out


def prepare(folder: Path, n_pairs: int, stamp: int, mode: str, seed: int) -> dict[str, Path]:
    """Simulated shards -> paired + unpaired manifests -> preprocessed split arrays (with ring profiles)."""
    block = synthetic_block(n_pairs, stamp)
    block["shard_size"] = min(500, n_pairs)
    shards = []
    for part in range(-(-n_pairs // block["shard_size"])):
        path = folder / f"part-{part}.parquet"
        if not path.exists():
            write_parquet(simulate_shard(block, "bench", part, seed=seed), path)
        shards.append((str(path), pd.read_parquet(path)))
    paired, unpaired = build_manifests(shards, manifest_settings(block), seed=seed)
    pp = PreprocessSettings(mode=mode, annulus=(20, 32), clip=10.0, stretch="none")
    folders = {}
    for pairing, manifest in (("paired", paired), ("unpaired", unpaired)):
        out = folder / pairing / mode
        if not (out / "test.npy").exists():
            out.mkdir(parents=True, exist_ok=True)
            outs = {s: (out / f"{s}.npy", out / f"{s}.index.parquet", out / f"{s}.profile.npy") for s in SPLITS}
            preprocess_manifest(manifest, pp, outs, (3, stamp, stamp), {})
        folders[pairing] = out
    return folders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-pairs", type=int, default=2000)
    ap.add_argument("--stamp", type=int, default=64)
    ap.add_argument("--mode", default="residual_radial_profile")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cache", help="folder keeping the simulated and preprocessed inputs between runs")
    args = ap.parse_args()
    from snakemake.utils import validate

    repo = Path(__file__).resolve().parents[1]
    cfg_block = {"datasets": {"d": {"source": "synthetic"}}, "data_gates": {}, "gates": {}}
    validate(cfg_block, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    cfg = parse_settings(DataGateSettings, cfg_block["data_gates"], "data_gates")
    thresholds = parse_thresholds(cfg_block["gates"]["thresholds"], "gates.thresholds", DATA_GATES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.cache or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        folders = prepare(folder, args.n_pairs, args.stamp, args.mode, args.seed)
        print(f"inputs: {args.n_pairs} pairs, {args.stamp}x{args.stamp}, {args.mode} ({time.perf_counter() - t0:.0f} s to make)")
        inputs = {p: load(f, list(SPLITS), cfg.max_samples, args.seed) for p, f in folders.items()}
        # Interleaved per pairing, so that a change in machine load falls on both; CPU seconds (all threads)
        # beside wall seconds, as they move less with load.
        results = {"baseline": {}, "current": {}}
        seconds = {(n, kind): 0.0 for n in results for kind in ("wall", "cpu")}
        for pairing, (x, index, profile) in inputs.items():
            for name in results:
                t0, c0 = time.perf_counter(), time.process_time()
                results[name][pairing] = (baseline_gates(x, index, cfg, args.seed, profile) if name == "baseline"
                                          else current_gates(x, index, cfg, thresholds, args.seed, profile))
                seconds[name, "wall"] += time.perf_counter() - t0
                seconds[name, "cpu"] += time.process_time() - c0
    print(f"{'pairing':<9}{'gate':<34}{'baseline':>9}{'current':>9}{'diff':>8}{'fold sd':>9}")
    worst = 0.0
    for pairing in folders:
        base, cur = results["baseline"][pairing], results["current"][pairing]
        for key in sorted(set(base) | set(cur)):
            b, c = base.get(key), cur.get(key)
            if b is None and c is None:
                print(f"{pairing:<9}{key:<34}{'N/A':>9}{'N/A':>9}")
                continue
            sd = float(np.std(b["fold_aucs"])) if b and b["fold_aucs"] else float("nan")
            diff = c["auc"] - b["auc"] if b and c else float("nan")
            worst = max(worst, abs(diff) / sd) if sd > 0 and np.isfinite(diff) else worst
            print(f"{pairing:<9}{key:<34}{b['auc'] if b else float('nan'):>9.4f}{c['auc'] if c else float('nan'):>9.4f}"
                  f"{diff:>8.4f}{sd:>9.4f}")
    print(f"largest |current - baseline| in fold-AUROC standard deviations: {worst:.2f}")
    for kind in ("wall", "cpu"):
        base, cur = seconds["baseline", kind], seconds["current", kind]
        print(f"{kind} seconds: baseline {base:.1f}   current {cur:.1f}   speed-up {base / cur:.2f}x")


if __name__ == "__main__":
    main()
