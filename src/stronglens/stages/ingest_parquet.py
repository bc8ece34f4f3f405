"""Rule ingest_parquet: one user shard in the seeds' paired schema -> results/data/D/pairs/part-K.parquet.

python -m stronglens.stages.ingest_parquet --input user/part-000.parquet --out results/data/D/pairs/part-0.parquet
"""

from __future__ import annotations

import argparse

from stronglens.config.stage_cli import user_error
from stronglens.core.provenance import provenance
from stronglens.storage.artifacts import write_parquet
from stronglens.survey.ingest import IngestError, ingest_paired_parquet


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with user_error(ap, IngestError):
        df, notes = ingest_paired_parquet(args.input)
    for note in notes:
        print(f"{args.input}: {note}")
    write_parquet(df, args.out, provenance({"input": args.input, "filled": notes}, args.code_hash))
    print(f"ingested {len(df)} pairs from {args.input}")


if __name__ == "__main__":
    main()
