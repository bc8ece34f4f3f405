"""Rule figures_selection: one run's selection-function figures -> results/figures/<run>/selection_*.{png,pdf}.

python -m stronglens.stages.figures_selection --run R --selection-dir results/selection/R --selection '<JSON>' \
    --preprocessing '<JSON>' --stamp 64 --figures '<figures JSON>' --seed S \
    --out selection_heatmaps=F/selection_heatmaps.png selection_heatmaps_pdf=F/selection_heatmaps.pdf ...
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.data.normalise import preprocess_with
from stronglens.data.settings import PreprocessSettings
from stronglens.figures import selection_panels as F
from stronglens.figures.gallery import injection_gallery, spread_rows
from stronglens.figures.settings import FigureSettings
from stronglens.figures.style import new_figure, no_data, save_figures
from stronglens.selection.examples import rerender_injections
from stronglens.selection.settings import SelectionFigureSettings

FIGURES = ("selection_heatmaps", "selection_marginals", "selection_tornado", "selection_gallery", "selection_gap")


def pick_injections(inj: pd.DataFrame, prior: str, n: int) -> pd.DataFrame:
    """n successful baseline injections of the main prior, evenly spaced in arc SNR."""
    ok = inj[(inj["status"] == "ok") & (inj["variant"] == "baseline") & (inj["prior"] == prior)].reset_index(drop=True)
    return ok.iloc[spread_rows(ok["arc_snr"].to_numpy(dtype=float), n)]


def gallery(inj: pd.DataFrame, cfg: SelectionFigureSettings, pp: PreprocessSettings, npix: int, seed: int, n: int,
            run: str):
    if cfg.hosts != "synthetic":
        fig, axes = new_figure(6.4, 1.5)
        no_data(axes[0, 0], "injected-arc gallery: drawn for synthetic hosts only (selection.hosts: dataset)")
        return fig
    rows = pick_injections(inj, cfg.prior, n)
    stamps, ctrls = rerender_injections(rows, cfg.grid, seed, cfg.host_model, npix)
    prepped = preprocess_with(torch.from_numpy(stamps), pp).numpy() if len(rows) else np.empty((0,))
    return injection_gallery(stamps, ctrls, prepped, rows, run)


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=(*FIGURES, *(f"{name}_pdf" for name in FIGURES)))
    ap.add_argument("--run", required=True)
    ap.add_argument("--selection-dir", required=True, help="results/selection/<run>: the gathered tables")
    ap.add_argument("--selection", required=True, help="selection figure settings (JSON text or file)")
    ap.add_argument("--preprocessing", required=True, help="the run's preprocessing settings (JSON text or file)")
    ap.add_argument("--stamp", type=int, required=True)
    ap.add_argument("--figures", required=True, help="figures settings (JSON text or file)")
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args(argv)
    cfg = read_settings(ap, SelectionFigureSettings, args.selection, "--selection")
    pp = read_settings(ap, PreprocessSettings, args.preprocessing, "--preprocessing")
    fcfg = read_settings(ap, FigureSettings, args.figures, "--figures")
    out = read_outputs(ap, args)
    src = Path(args.selection_dir)
    table = pd.read_parquet(src / "completeness.parquet")
    threshold = fcfg.selection_threshold
    F.require_threshold(table, threshold)
    fixed = [f"p>{t:g}" for t in cfg.thresholds]
    priors = [cfg.prior] + [p for p in cfg.also_priors if p != cfg.prior]
    summary = json.loads((src / "summary.json").read_text())
    figs = {
        "selection_heatmaps": F.heatmaps(table, cfg.prior, threshold, args.run),
        "selection_marginals": F.marginals(table, cfg.prior, [threshold] + [t for t in fixed if t != threshold], args.run, priors,
                                           list(cfg.source_models), summary.get("realism_gap")),
        "selection_gap": F.gap_figure(summary, args.run),
        "selection_tornado": F.tornado(pd.read_parquet(src / "sensitivity.parquet"), threshold, args.run),
        "selection_gallery": gallery(pd.read_parquet(src / "injections.parquet"), cfg, pp, args.stamp, args.seed,
                                     fcfg.gallery_examples, args.run),
    }
    save_figures(figs, out, fcfg.dpi)
    print(f"{args.run}: {len(figs)} selection figures -> {out['selection_heatmaps'].parent}")


if __name__ == "__main__":
    main()
