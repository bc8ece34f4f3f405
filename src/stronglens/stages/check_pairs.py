"""Rule check_pairs: the five paired-integrity checks on every pair (or a seeded sample); fails on any failure.

For an unpaired source (cutouts) the manifest holds single images: then the
single-image checks (no_nan_inf, value_range, expected_shape) run instead.

python -m stronglens.stages.check_pairs --manifest manifest-paired.parquet --sample all|N --seed S \
    --stamp-size 64 --max-abs 1e4 --out pairs.json
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pandas as pd
import pyarrow.parquet as pq

from stronglens.data.integrity import (
    check_images,
    check_pairs,
    coverage,
    merge_reports,
    sample_pairs,
    write_report_or_fail,
)
from stronglens.storage.shards import row_labels


def sample_size(text: str) -> int | None:
    """--sample: ``all`` (None) or a positive number of pairs."""
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'all' nor a positive integer")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--sample", type=sample_size, default=None, help="'all' (default) or a number of pairs")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--stamp-size", type=int, required=True)
    ap.add_argument("--max-abs", type=float, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    manifest = pd.read_parquet(args.manifest)
    picks = sample_pairs(manifest, args.sample, args.seed)
    n_total = int(len(manifest.drop_duplicates(["shard", "row"])))
    shape = (3, args.stamp_size, args.stamp_size)
    single = "image_npz" in set(manifest["image_column"])  # unpaired source: single-image checks
    check = check_images if single else check_pairs
    reports = []
    for blobs in shard_blobs(picks, single):
        reports.append(check(blobs, shape, args.max_abs))
        del blobs  # before the next shard is read: one shard's blobs in memory, not two
    report = merge_reports(reports, shape, single)
    report["coverage"] = coverage(report["n_checked"], n_total)
    what = "images" if single else "pairs"
    write_report_or_fail(report, args.out, f"check_pairs ({report['n_failed_rows']} of {report['n_checked']} {what} failed)")


def shard_blobs(picks: pd.DataFrame, single: bool) -> Iterator[dict]:
    """The picked rows' blobs, one shard at a time ({(shard, row, label): blob or (stamp, ctrl)}): memory is
    bounded by one shard, whatever the dataset's size."""
    columns = ["image_npz"] if single else ["stamp_npz", "ctrl_stamp_npz"]
    for shard, group in picks.groupby("shard", sort=True):
        table = pq.read_table(shard, columns=columns)
        blobs = {}
        for row, label in zip(group["row"], row_labels(group)):
            values = tuple(table.column(c)[int(row)].as_py() for c in columns)
            blobs[(shard, int(row), label)] = values[0] if single else values
        yield blobs
        del table, blobs


if __name__ == "__main__":
    main()
