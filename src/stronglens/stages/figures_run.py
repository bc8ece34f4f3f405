"""Rule figures_run: one run's figures (PNG + PDF) and gate table -> results/figures/<run>/.

python -m stronglens.stages.figures_run --run R --history results/runs/R/history.csv --gates results/gates/R.json \
    --scores results/gates/R.scores.parquet [--paired results/data/D/paired/MODE] --figures '<figures JSON>' \
    --gates-config '<gates JSON>' --clip 10 --seed S --outdir results/figures/R
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.figures import run_panels as F
from stronglens.figures.gallery import pair_gallery
from stronglens.figures.style import html_table, new_figure, no_data, save_figure, write_text
from stronglens.storage.split_store import load_split


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--history", required=True)
    ap.add_argument("--gates", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--paired", default=None, help="the run's paired preprocessed folder (gallery); none for cutouts")
    ap.add_argument("--figures", required=True)
    ap.add_argument("--gates-config", required=True)
    ap.add_argument("--clip", default="null")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args(argv)
    fcfg, gcfg = json.loads(args.figures), json.loads(args.gates_config)
    out = Path(args.outdir)
    report = json.loads(Path(args.gates).read_text())
    scores = pd.read_parquet(args.scores)
    figs = {
        "training": F.training_curves(pd.read_csv(args.history), args.run),
        "roc": F.roc_curves(scores, report),
        "gates": F.gate_summary(report),
        "theta_e_auroc": F.theta_e_auroc(scores, report, gcfg["theta_e_bins"]),
        "core_sensitivity": F.core_sensitivity(report),
    }
    if args.paired:
        paired = load_split(args.paired, gcfg["eval_split"])
        figs["gallery"] = pair_gallery(paired, scores, fcfg["gallery_examples"], args.seed, gcfg["hardneg_ring_px"],
                                       json.loads(args.clip), args.run)
    else:
        fig, axes = new_figure(6.0, 1.5)
        no_data(axes[0, 0], f"{args.run}: no stamp/ctrl pairs in this dataset (cutouts source): no paired gallery")
        figs["gallery"] = fig
    for name, fig in figs.items():
        save_figure(fig, out / f"{name}.png", out / f"{name}.pdf", fcfg["dpi"])
    v = report["verdict"]
    write_text(html_table(F.gates_frame(report), f"{args.run}: gates on the {report['eval_split']} split",
                          f"verdict {v['verdict']} ({v['n_pass']}/{v['of']} critical gates pass); "
                          f"checkpoint sha256 {report['checkpoint']['sha256'][:16]}"), out / "gates.html")
    print(f"{args.run}: {len(figs)} figures -> {out}")


if __name__ == "__main__":
    main()
