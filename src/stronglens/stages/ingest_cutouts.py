"""Rule ingest_cutouts: rows of a cutout catalog + one file per cutout -> results/data/D/pairs/part-K.parquet.

python -m stronglens.stages.ingest_cutouts --catalog cat.csv --rows START STOP [--root DIR] --stamp-size 64 [--layout hwc|chw] \
    --out part-K.parquet
"""

from __future__ import annotations

import argparse

from stronglens.config.stage_cli import user_error
from stronglens.core.provenance import provenance
from stronglens.storage.artifacts import write_parquet
from stronglens.survey.ingest import LAYOUTS, IngestError, ingest_cutouts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--rows", type=int, nargs=2, required=True, metavar=("START", "STOP"))
    ap.add_argument("--root", default=None, help="folder relative cutout paths start from (default: the catalog's)")
    ap.add_argument("--stamp-size", type=int, required=True)
    ap.add_argument("--layout", choices=LAYOUTS, default="hwc", help="axis order of every cutout array")
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with user_error(ap, IngestError):
        df = ingest_cutouts(args.catalog, range(*args.rows), args.root, args.stamp_size, args.layout)
    write_parquet(df, args.out, provenance({"catalog": args.catalog, "rows": args.rows, "root": args.root}, args.code_hash))
    print(f"ingested {len(df)} cutouts from {args.catalog}")


if __name__ == "__main__":
    main()
