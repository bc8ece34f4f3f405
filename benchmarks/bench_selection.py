"""Selection-function throughput end to end: render (host + arc + noise), preprocess, score.

Injections per second of `stronglens.selection.recovery.run_cell` on one cell, with a
freshly initialised bottlenecked ResNet as the scorer (the weights do not
change the cost), side by side with the render step alone (the baseline the
rest adds to), on this machine's CPU or a GPU.

    python benchmarks/bench_selection.py [--n 200] [--stamp 64] [--device cpu] [--compile-engine]
        [--grid-shard N] [--result]

--compile-engine renders the arcs with the compiled engine (selection.compile_engine);
the warm-up, which then includes compilation, is timed apart.

--grid-shard N also times one shard of the full grid: shard 0 of the `full` preset's 308 cells dealt
round robin into N shards (as the selection_shard rule deals them), --n injections per cell, the
baseline variant only, and extrapolates its rate to the 61,600 injections of the full grid.
--result adds machine-readable lines `RESULT <name> <value> <unit>`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from stronglens.data.normalise import preprocess
from stronglens.selection.recovery import PRESETS, PRIORS, draw_attempt, grid_cells, render_attempts, run_cell, shard_cells
from stronglens.selection.settings import GridSettings
from stronglens.train.models import build_model
from stronglens.train.scoring import pick_device, predict_logits

FULL_GRID = GridSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in PRESETS["full"].items()})
FULL_GRID_INJECTIONS = 61_600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="injections per timing (one cell)")
    ap.add_argument("--stamp", type=int, default=64)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile-engine", action="store_true", help="render arcs with torch.compile")
    ap.add_argument("--grid-shard", type=int, default=0, metavar="N",
                    help="also time shard 0 of the full grid dealt into N shards (0: skip)")
    ap.add_argument("--result", action="store_true", help="also print `RESULT name value unit` lines")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    model = build_model("bottlenecked_resnet").to(device).eval()
    cell = pd.Series({"cell_id": 0, "theta_e": 1.5, "psf_fwhm": 1.2, "depth_r": 24.5})

    def prep(x: np.ndarray) -> np.ndarray:
        return preprocess(torch.from_numpy(x), "residual_radial_profile", (20, 32), 10.0, "none").numpy()

    def score(x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-predict_logits(model, x, device, 256)))

    compiled = args.compile_engine
    t0 = time.perf_counter()
    for n in (8, 9):  # warm-up; a compiled engine compiles, then generalises to any batch size
        run_cell(cell, n, 0, PRIORS["broad"], 1, {}, args.stamp, prep, score, 1, compile_engine=compiled)
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    attempts = [draw_attempt(0, cell, j, 0, PRIORS["broad"], 1, {}) for j in range(args.n)]
    render_attempts(attempts, cell, args.stamp, 0, {}, compile_engine=compiled)
    t_render = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = run_cell(cell, args.n, 0, PRIORS["broad"], 1, {}, args.stamp, prep, score, 1, compile_engine=compiled)
    t_all = time.perf_counter() - t0
    n_ok = int((df["status"] == "ok").sum())
    engine = "compiled" if compiled else "eager"
    print(f"{args.n} injections, {args.stamp}x{args.stamp}, 3 bands, device {device}, {args.threads} threads, {engine} engine")
    print(f"draw + render (host, arc, noise):          {args.n / t_render:8.1f} injections/s")
    print(f"end to end (+ preprocess + score x2):      {n_ok / t_all:8.1f} injections/s  ratio {t_render / t_all:.2f}")
    print(f"full grid (61,600 injections) at this rate: {61600 / (n_ok / t_all) / 60:.1f} min")
    print(f"warm-up (two small cells{', includes compilation' if compiled else ''}): {t_warm:.1f} s")
    figures = [("selection_render_rate", args.n / t_render, "inj/s"), ("selection_cell_rate", n_ok / t_all, "inj/s"),
               ("selection_full_grid_from_cell", FULL_GRID_INJECTIONS / (n_ok / t_all) / 60, "min")]
    if args.grid_shard:
        cells = shard_cells(grid_cells(FULL_GRID), 0, args.grid_shard)
        t0 = time.perf_counter()
        shard_ok = sum(int((run_cell(c, args.n, 0, PRIORS["broad"], 1, {}, args.stamp, prep, score, 1,
                                     compile_engine=compiled)["status"] == "ok").sum()) for _, c in cells.iterrows())
        t_shard = time.perf_counter() - t0
        full_min = FULL_GRID_INJECTIONS * t_shard / shard_ok / 60
        print(f"full-grid shard 0 of {args.grid_shard}: {len(cells)} cells x {args.n} injections, {shard_ok} ok in {t_shard:.1f} s "
              f"= {shard_ok / t_shard:.1f} injections/s")
        print(f"full grid ({FULL_GRID_INJECTIONS:,} injections) at the shard's rate: {full_min:.2f} min")
        figures += [("selection_shard_rate", shard_ok / t_shard, "inj/s"), ("selection_full_grid", full_min, "min")]
    if args.result:
        print("\n".join(f"RESULT {name} {value:.6g} {unit}" for name, value, unit in figures))


if __name__ == "__main__":
    main()
