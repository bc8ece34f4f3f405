"""Rule preprocess: one manifest -> one float32 .npy (N x C x H x W) + index parquet per split.

python -m stronglens.stages.preprocess --manifest M.parquet --config '<preprocessing JSON>' \
    --stamp-size 64 --outdir results/data/D/paired/raw_robust --splits train val test
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.core.provenance import provenance
from stronglens.data.preprocess_splits import preprocess_manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--stamp-size", type=int, required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--splits", nargs="+", required=True)
    ap.add_argument("--code-hash", default=None)
    args = ap.parse_args(argv)
    pp = json.loads(args.config)
    out = Path(args.outdir)
    outputs = {s: (out / f"{s}.npy", out / f"{s}.index.parquet") for s in args.splits}
    counts = preprocess_manifest(pd.read_parquet(args.manifest), pp, outputs, (3, args.stamp_size, args.stamp_size),
                                 provenance({"preprocessing": pp}, args.code_hash))
    print(f"preprocessed {counts}")


if __name__ == "__main__":
    main()
