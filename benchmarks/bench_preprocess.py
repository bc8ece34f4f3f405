"""Preprocessing throughput, side by side with numpy copying the same arrays.

For each mode (raw_robust, residual_radial_profile, raw_robust + asinh) prints
images per second of the batched torch transform on (N, 3, H, W) float32
stamps in memory, then of the whole streamed stage (decode NPZ blobs from a
pair shard, normalise, write memory-mapped split arrays) beside decoding and
checking the same blobs alone (the floor the stage cannot beat), and the ratio
to a plain numpy copy of the same array.

    python benchmarks/bench_preprocess.py [--n 4096] [--stamp 64]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from timing import timed

from stronglens.config.settings import parse_settings, settings_keys
from stronglens.data.manifest import build_manifests
from stronglens.data.normalise import preprocess
from stronglens.data.preprocess_splits import preprocess_manifest
from stronglens.data.settings import ManifestSettings, PreprocessSettings
from stronglens.stages.build_manifest import read_shard
from stronglens.storage.artifacts import write_parquet
from stronglens.storage.shards import iter_shard_images
from stronglens.survey.synthetic.survey import simulate_shard

MODES = {
    "raw_robust": {"mode": "raw_robust", "annulus": [20, 32], "clip": 10, "stretch": "none"},
    "residual_radial_profile": {"mode": "residual_radial_profile", "annulus": [20, 32], "clip": 10, "stretch": "none"},
    "raw_robust+asinh": {"mode": "raw_robust", "annulus": [20, 32], "clip": 10, "stretch": "asinh"},
}




def manifest_settings(block: dict) -> ManifestSettings:
    """The manifest slice of a dataset block, parsed as the build_manifest stage does."""
    return parse_settings(ManifestSettings, {k: block[k] for k in settings_keys(ManifestSettings)}, "dataset")

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--stamp", type=int, default=64)
    ap.add_argument("--shard-pairs", type=int, default=500, help="pairs in the synthetic shard of the end-to-end timing")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 0.005, size=(args.n, 3, args.stamp, args.stamp)).astype(np.float32)
    copy_rate = args.n / timed(lambda: np.copy(x))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {args.n} stamps of 3x{args.stamp}x{args.stamp}")
    print(f"{'numpy copy (baseline)':<44}{copy_rate:>12.0f} images/s")
    xt = torch.from_numpy(x)
    for name, pp in MODES.items():
        rate = args.n / timed(lambda pp=pp: [preprocess(xt[i : i + 512], pp["mode"], tuple(pp["annulus"]), pp["clip"], pp["stretch"])
                                              for i in range(0, args.n, 512)])
        print(f"{name + ' (in memory)':<44}{rate:>12.0f} images/s   ratio to copy {rate / copy_rate:.4f}")

    # End to end: one synthetic shard -> paired manifest -> streamed split arrays.
    block = synthetic_block(args.shard_pairs, args.stamp)
    with tempfile.TemporaryDirectory() as tmp:
        shard = Path(tmp) / "part-0.parquet"
        write_parquet(simulate_shard(block, "bench", 0, seed=1), shard)
        paired, _ = build_manifests([(str(shard), read_shard(str(shard)))], manifest_settings(block), seed=1)
        n_img = len(paired)
        outs = {s: (Path(tmp) / f"{s}.npy", Path(tmp) / f"{s}.index.parquet") for s in ("train", "val", "test")}
        shape = (3, args.stamp, args.stamp)
        rate = n_img / timed(lambda: [len(p) for p, _ in iter_shard_images(paired, shape)], repeat=2)
        print(f"{'decode + check only (the floor)':<44}{rate:>12.0f} images/s   ratio to copy {rate / copy_rate:.4f}")
        for name, pp in MODES.items():
            settings = PreprocessSettings(**pp)
            rate = n_img / timed(lambda settings=settings: preprocess_manifest(paired, settings, outs, (3, args.stamp, args.stamp), {}),
                                 repeat=2)
            print(f"{name + ' (stage, from shard)':<44}{rate:>12.0f} images/s   ratio to copy {rate / copy_rate:.4f}")


def synthetic_block(n_pairs: int, stamp: int) -> dict:
    """A validated synthetic dataset block (schema defaults filled in)."""
    from snakemake.utils import validate

    repo = Path(__file__).resolve().parents[1]
    cfg = {"datasets": {"bench": {"source": "synthetic", "n_pairs": n_pairs, "shard_size": n_pairs, "stamp_size": stamp,
                                  "footprint": {"n_fields": 40, "field_radius_deg": 0.2}}}}
    validate(cfg, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    return cfg["datasets"]["bench"]


if __name__ == "__main__":
    main()
