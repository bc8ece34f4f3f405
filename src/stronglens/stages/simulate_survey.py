"""Rule simulate_survey: write one shard of a synthetic paired survey.

python -m stronglens.stages.simulate_survey --dataset D --rows START STOP --seed S \
    --config '<survey settings JSON>' [--library results/sources/library.npz] --out results/data/D/pairs/part-K.parquet
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
from stronglens.survey.settings import SurveySettings
from stronglens.survey.synthetic.survey import simulate_rows

CHUNK = 100  # pairs simulated at once: memory is bounded by a chunk, and progress is reported per chunk


def main(argv: list[str] | None = None) -> None:
    ap = shard_stage_parser(__doc__, "the dataset's survey settings (JSON text or file)")
    ap.add_argument("--library", default=None, help="results/sources/library.npz (source_model: real_galaxy)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = read_settings(ap, SurveySettings, args.config, "--config")
    t0 = time.perf_counter()
    if cfg.source_model == "real_galaxy" and not args.library:
        ap.error("--config: source_model real_galaxy needs --library (the source library)")
    library = load_library(args.library) if args.library else None
    parts = map_chunks(range(*args.rows), CHUNK, lambda rows: simulate_rows(cfg, args.dataset, rows, args.seed, library),
                       desc=f"{args.dataset} rows {args.rows[0]}-{args.rows[1]}", unit="pair")
    df = pd.concat(parts, ignore_index=True)
    meta = provenance({"dataset": args.dataset, "seed": args.seed, "rows": args.rows, "block": as_dict(cfg)}, args.code_hash)
    write_parquet(df, args.out, meta)
    logging.info("wrote %d pairs to %s in %.1f s", len(df), args.out, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
