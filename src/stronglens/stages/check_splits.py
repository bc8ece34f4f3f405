"""Rule check_splits: split overlaps (bricks, HEALPix, hosts) and missing coordinates; fails on any.

python -m stronglens.stages.check_splits --out splits.json manifest-paired.parquet manifest-unpaired.parquet
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from stronglens.artifacts import write_json
from stronglens.checks import check_splits


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("manifests", nargs="+")
    args = ap.parse_args(argv)
    report = check_splits({Path(p).stem: pd.read_parquet(p) for p in args.manifests})
    if not report["passed"]:
        print(json.dumps(report, indent=2), file=sys.stderr)
        sys.exit(f"check_splits FAILED for {args.manifests}: see the report above")
    write_json(report, args.out)


if __name__ == "__main__":
    main()
