"""Rule check_pairs: the five paired-integrity checks on a sample of pairs; fails on any failure.

For an unpaired source (cutouts) the manifest holds single images: then the
single-image checks (no_nan_inf, value_range, expected_shape) run instead.

python -m stronglens.stages.check_pairs --manifest manifest-paired.parquet --sample 100 --seed S \
    --stamp-size 64 --max-abs 1e4 --out pairs.json
"""

from __future__ import annotations

import argparse

import pandas as pd
import pyarrow.parquet as pq

from stronglens.data.integrity import check_images, check_pairs, sample_pairs, write_report_or_fail


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--stamp-size", type=int, required=True)
    ap.add_argument("--max-abs", type=float, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    manifest = pd.read_parquet(args.manifest)
    picks = sample_pairs(manifest, args.sample, args.seed)
    shape = (3, args.stamp_size, args.stamp_size)
    if "image_npz" in set(manifest["image_column"]):  # unpaired source: single-image checks
        blobs = {}
        for shard, group in picks.groupby("shard", sort=True):
            column = pq.read_table(shard, columns=["image_npz"]).column("image_npz")
            blobs.update({(shard, int(r)): column[int(r)].as_py() for r in group["row"]})
        write_report_or_fail(check_images(blobs, shape, args.max_abs), args.out, "check_pairs (single images)")
        return
    blobs = {}
    for shard, group in picks.groupby("shard", sort=True):
        table = pq.read_table(shard, columns=["stamp_npz", "ctrl_stamp_npz"])
        for row in group["row"]:
            blobs[(shard, int(row))] = (table.column("stamp_npz")[int(row)].as_py(), table.column("ctrl_stamp_npz")[int(row)].as_py())
    report = check_pairs(picks, blobs, shape, args.max_abs)
    write_report_or_fail(report, args.out, f"check_pairs ({report['n_failed_rows']} of {report['n_checked']} pairs)")


if __name__ == "__main__":
    main()
