"""Rule figures_realism: one run's realism figures -> results/figures/<run>/realism_*.{png,pdf}.

python -m stronglens.stages.figures_realism --run R --report results/realism/R.json --arrays results/realism/R.npz \
    --figures '<figures JSON>' --seed S --out realism_recall=F/realism_recall.png realism_recall_pdf=... ...
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.figures import realism_panels as F
from stronglens.figures.settings import FigureSettings
from stronglens.figures.style import save_figures

FIGURES = ("realism_recall", "realism_embedding", "realism_diagnostics")


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=(*FIGURES, *(f"{name}_pdf" for name in FIGURES)))
    ap.add_argument("--run", required=True)
    ap.add_argument("--report", required=True, help="results/realism/<run>.json")
    ap.add_argument("--arrays", required=True, help="results/realism/<run>.npz")
    ap.add_argument("--figures", required=True, help="figures settings (JSON text or file)")
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args(argv)
    fcfg = read_settings(ap, FigureSettings, args.figures, "--figures")
    out = read_outputs(ap, args)
    report = json.loads(Path(args.report).read_text())
    with np.load(args.arrays, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    figs = {
        "realism_recall": F.recall_figure(report, arrays, args.run),
        "realism_embedding": F.embedding_figure(report, arrays, args.run, args.seed),
        "realism_diagnostics": F.diagnostics_figure(report, args.run),
    }
    save_figures(figs, out, fcfg.dpi)
    print(f"{args.run}: {len(figs)} realism figures -> {out['realism_recall'].parent}")


if __name__ == "__main__":
    main()
