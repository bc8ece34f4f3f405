"""Rule simulate_survey: write one shard of a synthetic paired survey.

python -m stronglens.stages.simulate_survey --dataset D --rows START STOP --seed S \
    --config '<dataset block as JSON>' --out results/data/D/pairs/part-K.parquet
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from stronglens.core.provenance import provenance
from stronglens.storage.artifacts import write_parquet
from stronglens.survey.synthetic.survey import simulate_rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--rows", type=int, nargs=2, required=True, metavar=("START", "STOP"), help="global row range")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--config", required=True, help="the dataset's config block as JSON")
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = json.loads(args.config)
    t0 = time.perf_counter()
    df = simulate_rows(cfg, args.dataset, range(*args.rows), args.seed)
    meta = provenance({"dataset": args.dataset, "seed": args.seed, "rows": args.rows, "block": cfg}, args.code_hash)
    write_parquet(df, args.out, meta)
    logging.info("wrote %d pairs to %s in %.1f s", len(df), args.out, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
