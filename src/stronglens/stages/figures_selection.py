"""Rule figures_selection: one run's selection-function figures -> results/figures/<run>/selection_*.{png,pdf}.

python -m stronglens.stages.figures_selection --run R --selection-dir results/selection/R --selection '<JSON>' \
    --preprocessing '<JSON>' --stamp 64 --figures '<figures JSON>' --seed S --outdir results/figures/R
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stronglens.data.normalise import preprocess
from stronglens.figures import selection_panels as F
from stronglens.figures.gallery import injection_gallery, spread_rows
from stronglens.figures.style import new_figure, no_data, save_figure
from stronglens.selection.examples import rerender_injections


def pick_injections(inj: pd.DataFrame, prior: str, n: int) -> pd.DataFrame:
    """n successful baseline injections of the main prior, evenly spaced in arc SNR."""
    ok = inj[(inj["status"] == "ok") & (inj["variant"] == "baseline") & (inj["prior"] == prior)].reset_index(drop=True)
    return ok.iloc[spread_rows(ok["arc_snr"].to_numpy(dtype=float), n)]


def gallery(inj: pd.DataFrame, cfg: dict, pp: dict, npix: int, seed: int, n: int, run: str):
    if cfg["hosts"] != "synthetic":
        fig, axes = new_figure(6.4, 1.5)
        no_data(axes[0, 0], "injected-arc gallery: drawn for synthetic hosts only (selection.hosts: dataset)")
        return fig
    rows = pick_injections(inj, cfg["prior"], n)
    stamps, ctrls = rerender_injections(rows, cfg["grid"], seed, cfg["host_model"], npix)
    prepped = preprocess(torch.from_numpy(stamps), pp["mode"], tuple(pp["annulus"]), pp["clip"], pp["stretch"]).numpy() \
        if len(rows) else np.empty((0,))
    return injection_gallery(stamps, ctrls, prepped, rows, run)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--selection-dir", required=True)
    ap.add_argument("--selection", required=True)
    ap.add_argument("--preprocessing", required=True)
    ap.add_argument("--stamp", type=int, required=True)
    ap.add_argument("--figures", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args(argv)
    cfg, pp, fcfg = json.loads(args.selection), json.loads(args.preprocessing), json.loads(args.figures)
    src, out = Path(args.selection_dir), Path(args.outdir)
    table = pd.read_parquet(src / "completeness.parquet")
    threshold = fcfg["selection_threshold"]
    F.require_threshold(table, threshold)
    fixed = [f"p>{t:g}" for t in cfg["thresholds"]]
    priors = [cfg["prior"]] + [p for p in cfg["also_priors"] if p != cfg["prior"]]
    figs = {
        "selection_heatmaps": F.heatmaps(table, cfg["prior"], threshold, args.run),
        "selection_marginals": F.marginals(table, cfg["prior"], [threshold] + [t for t in fixed if t != threshold], args.run, priors),
        "selection_tornado": F.tornado(pd.read_parquet(src / "sensitivity.parquet"), threshold, args.run),
        "selection_gallery": gallery(pd.read_parquet(src / "injections.parquet"), cfg, pp, args.stamp, args.seed,
                                     fcfg["gallery_examples"], args.run),
    }
    for name, fig in figs.items():
        save_figure(fig, out / f"{name}.png", out / f"{name}.pdf", fcfg["dpi"])
    print(f"{args.run}: {len(figs)} selection figures -> {out}")


if __name__ == "__main__":
    main()
