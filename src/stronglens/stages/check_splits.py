"""Rule check_splits: split overlaps (bricks, HEALPix, hosts) and missing coordinates; fails on any.

python -m stronglens.stages.check_splits --out splits.json manifest-paired.parquet manifest-unpaired.parquet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from stronglens.data.integrity import SPATIAL_KEYS, check_splits, write_report_or_fail
from stronglens.storage.artifacts import read_parquet_columns


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("manifests", nargs="+")
    args = ap.parse_args(argv)
    report = check_splits({Path(p).stem: read_split_columns(p) for p in args.manifests})
    write_report_or_fail(report, args.out, f"check_splits of {args.manifests}")


# What the split checks read: the split, the spatial keys, the coordinates, and where each row came from.
COLUMNS = ("split", *SPATIAL_KEYS.values(), "ra", "dec", "shard", "row", "source_file", "source_row")


def read_split_columns(path: str) -> pd.DataFrame:
    """A manifest's `COLUMNS` (those it has)."""
    return read_parquet_columns(path, COLUMNS)


if __name__ == "__main__":
    main()
