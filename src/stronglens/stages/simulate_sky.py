"""Rule simulate_sky: write one shard of the stand-in sky (unpaired labelled stamps, real-galaxy lenses).

python -m stronglens.stages.simulate_sky --dataset D --rows START STOP --seed S --library results/sources/library.npz \
    --config '<sky settings JSON>' --out results/data/D/pairs/part-K.parquet
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_settings, shard_stage_parser
from stronglens.core.progress import map_chunks
from stronglens.core.provenance import provenance
from stronglens.sources.library import load_library
from stronglens.storage.artifacts import write_parquet
from stronglens.survey.settings import SkySettings
from stronglens.survey.standin import simulate_sky_rows

CHUNK = 100  # stamps simulated at once: memory is bounded by a chunk, and progress is reported per chunk


def main(argv: list[str] | None = None) -> None:
    ap = shard_stage_parser(__doc__, "the dataset's sky settings (JSON text or file)")
    ap.add_argument("--library", required=True, help="results/sources/library.npz")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = read_settings(ap, SkySettings, args.config, "--config")
    t0 = time.perf_counter()
    library = load_library(args.library)
    parts = map_chunks(range(*args.rows), CHUNK, lambda rows: simulate_sky_rows(cfg, args.dataset, rows, args.seed, library),
                       desc=f"{args.dataset} rows {args.rows[0]}-{args.rows[1]}", unit="stamp")
    df = pd.concat(parts, ignore_index=True)
    meta = provenance({"dataset": args.dataset, "seed": args.seed, "rows": args.rows, "block": as_dict(cfg)}, args.code_hash)
    write_parquet(df, args.out, meta)
    logging.info("wrote %d stamps (%d lenses) to %s in %.1f s", len(df), int(df["label"].sum()), args.out,
                 time.perf_counter() - t0)


if __name__ == "__main__":
    main()
