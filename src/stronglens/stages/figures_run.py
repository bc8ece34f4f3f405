"""Rule figures_run: one run's figures (PNG + PDF) and gate table -> results/figures/<run>/.

python -m stronglens.stages.figures_run --run R --history results/runs/R/history.csv --gates results/gates/R.json \
    --scores results/gates/R.scores.parquet [--paired results/data/D/paired/MODE] \
    [--gate-history results/runs/R/gate_history.csv] --figures '<figures JSON>' \
    --gates-config '<gates science JSON>' --clip 10 --seed S \
    --out training=F/training.png training_pdf=F/training.pdf ... table=F/gates.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.figures import run_panels as F
from stronglens.figures.gallery import pair_gallery
from stronglens.figures.settings import FigureSettings
from stronglens.figures.style import html_table, new_figure, no_data, save_figures, write_text
from stronglens.gates.settings import GateSettings
from stronglens.gates.verdict import verdict_label
from stronglens.storage.split_store import load_split

FIGURES = ("training", "roc", "gates", "theta_e_auroc", "core_sensitivity", "gallery", "gate_history")
OUTPUTS = (*FIGURES, *(f"{name}_pdf" for name in FIGURES), "table")


def gallery(args, gcfg: GateSettings, fcfg: FigureSettings, scores: pd.DataFrame):
    """Example evaluation pairs with their scores, or a note when the dataset has no pairs."""
    if args.paired:
        paired = load_split(args.paired, gcfg.eval_split)
        return pair_gallery(paired, scores, fcfg.gallery_examples, args.seed, gcfg.hardneg_ring_px,
                            json.loads(args.clip), args.run)
    fig, axes = new_figure(6.0, 1.5)
    no_data(axes[0, 0], f"{args.run}: no stamp/ctrl pairs in this dataset (an unpaired source: sky or cutouts): "
                        "no paired gallery (the sky's stamps: figures/sources/sky)")
    return fig


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=OUTPUTS)
    ap.add_argument("--run", required=True)
    ap.add_argument("--history", required=True)
    ap.add_argument("--gates", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--paired", default=None, help="the run's paired preprocessed folder (gallery); none for an unpaired source")
    ap.add_argument("--gate-history", default=None,
                    help="the run's gate_history.csv (gates during training; header only when they were off)")
    ap.add_argument("--figures", required=True, help="figures settings (JSON text or file)")
    ap.add_argument("--gates-config", required=True, help="gates settings (JSON text or file)")
    ap.add_argument("--clip", default="null")
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args(argv)
    fcfg = read_settings(ap, FigureSettings, args.figures, "--figures")
    gcfg = read_settings(ap, GateSettings, args.gates_config, "--gates-config")
    out = read_outputs(ap, args)
    report = json.loads(Path(args.gates).read_text())
    scores = pd.read_parquet(args.scores)
    figs = {
        "training": F.training_curves(pd.read_csv(args.history), args.run),
        "roc": F.roc_curves(scores, report),
        "gates": F.gate_summary(report),
        "theta_e_auroc": F.theta_e_auroc(scores, report, gcfg.theta_e_bins),
        "core_sensitivity": F.core_sensitivity(report),
        "gallery": gallery(args, gcfg, fcfg, scores),
        "gate_history": F.gate_history_panel(pd.read_csv(args.gate_history) if args.gate_history else None, args.run,
                                             gcfg.thresholds),
    }
    save_figures(figs, out, fcfg.dpi)
    v = report["verdict"]
    write_text(html_table(F.gates_frame(report), f"{args.run}: gates on the {report['eval_split']} split",
                          f"verdict {verdict_label(v)}; "
                          f"checkpoint sha256 {report['checkpoint']['sha256'][:16]}"), out["table"])
    print(f"{args.run}: {len(figs)} figures -> {out['table'].parent}")


if __name__ == "__main__":
    main()
