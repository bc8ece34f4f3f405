"""Rule selection_shard: inject, preprocess and score one shard of a run's selection grid.

python -m stronglens.stages.selection_shard --checkpoint results/runs/R/best.pt --preprocessing '<JSON>' \
    --stamp 64 --selection '<selection JSON>' --shard 1-of-4 --seed S --out results/selection/R/shard-1-of-4.parquet
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_settings, stage_parser
from stronglens.core.progress import progress
from stronglens.core.provenance import provenance
from stronglens.data.normalise import preprocess_with
from stronglens.data.settings import PreprocessSettings
from stronglens.selection.dataset_hosts import DatasetHosts, run_cell_on_hosts
from stronglens.selection.recovery import PRIORS, VARIANTS, grid_cells, run_cell, shard_cells, source_model_variant
from stronglens.selection.settings import PsfSettings, SelectionShardSettings
from stronglens.sources.library import load_library
from stronglens.storage.artifacts import write_parquet
from stronglens.survey.synthetic.galaxies import GalaxyPool
from stronglens.train.scoring import RunScorer


def parse_shard(text: str) -> tuple[int, int]:
    """'k-of-N' (Snakemake's scatter item, 1-based) -> (k - 1, N)."""
    k, n = text.split("-of-")
    return int(k) - 1, int(n)


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--preprocessing", required=True, help="the run's preprocessing settings (JSON text or file)")
    ap.add_argument("--stamp", type=int, required=True)
    ap.add_argument("--selection", required=True, help="selection shard settings (JSON text or file)")
    ap.add_argument("--shard", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--psf", default='{"psf_model": "gaussian", "moffat_beta": 3.5}',
                    help="the run dataset's PSF model (JSON: psf_model, moffat_beta)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (execution setting)")
    ap.add_argument("--batch", type=int, default=256, help="images per forward pass (execution setting)")
    ap.add_argument("--manifest", default=None, help="inject onto this manifest's negative hosts (selection.hosts: dataset)")
    ap.add_argument("--library", default=None, help="results/sources/library.npz (source_models: real_galaxy)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    cfg = read_settings(ap, SelectionShardSettings, args.selection, "--selection")
    pp = read_settings(ap, PreprocessSettings, args.preprocessing, "--preprocessing")
    psf = read_settings(ap, PsfSettings, args.psf, "--psf")
    shard, n_shards = parse_shard(args.shard)
    scorer = RunScorer(args.checkpoint, args.device, args.batch)

    def prep(x: np.ndarray) -> np.ndarray:
        return preprocess_with(torch.from_numpy(x), pp).numpy()

    cells = shard_cells(grid_cells(cfg.grid), shard, n_shards)
    variants = list(VARIANTS) if cfg.sensitivity else ["baseline"]
    hosts = DatasetHosts.from_manifest(pd.read_parquet(args.manifest), cfg.host_split, args.stamp) if args.manifest else None
    frames, t0 = [], time.perf_counter()
    common = {"n": cfg.grid.n_per_cell, "seed": args.seed,
              "host_model": cfg.host_model, "preprocess": prep, "score": scorer, "max_retries": cfg.max_retries,
              "compile_engine": cfg.compile_engine, "psf_kind": psf.psf_model, "moffat_beta": psf.moffat_beta}
    if "real_galaxy" in cfg.source_models and not args.library:
        ap.error("--selection: source_models real_galaxy needs --library (the source library)")
    pool = GalaxyPool(load_library(args.library), "injection") if args.library else None
    main_model = cfg.source_models[0]
    main = source_model_variant(main_model, pool)
    # The main prior and source model: baseline + sensitivity variants; other priors and models: baseline only.
    plan = [(v, {**VARIANTS[v], **main}, cfg.prior, main_model) for v in variants]
    plan += [(f"prior:{p}", main, p, main_model) for p in cfg.also_priors if p != cfg.prior]
    plan += [(f"source:{m}", source_model_variant(m, pool), cfg.prior, m) for m in cfg.source_models[1:]]
    steps = [(step, cell) for step in plan for _, cell in cells.iterrows()]
    for (variant, change, prior, model), cell in progress(steps, desc=f"shard {args.shard}", unit="cell"):
        args_cell = {**common, "prior": PRIORS[prior], "variant": change}
        if hosts is None:
            df = run_cell(cell, npix=args.stamp, **args_cell)
        else:
            df = run_cell_on_hosts(cell, cfg.grid, hosts=hosts, **args_cell)
        frames.append(df.assign(variant=variant, prior=prior, source_model=model))
    out = pd.concat(frames, ignore_index=True)
    record = {"selection": as_dict(cfg), "preprocessing": as_dict(pp), "psf": as_dict(psf), "shard": args.shard,
              "checkpoint_sha256": scorer.sha256}
    write_parquet(out, args.out, provenance(record, args.code_hash))
    n_ok = int((out["status"] == "ok").sum())
    print(f"shard {args.shard}: {len(cells)} cells x {len(plan)} variants, {n_ok} ok / "
          f"{int((out['status'] == 'failed').sum())} failed attempts, {n_ok / (time.perf_counter() - t0):.1f} injections/s")


if __name__ == "__main__":
    main()
