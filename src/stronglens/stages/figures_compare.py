"""Rule figures_compare: every run side by side -> results/figures/runs.{png,pdf} and results/figures/experiments.html.

python -m stronglens.stages.figures_compare --reports results/gates/A.json ... --experiments results/experiments.tsv \
    --figures '<figures JSON>' --out runs=results/figures/runs.png runs_pdf=results/figures/runs.pdf \
    table=results/figures/experiments.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.figures.comparison import runs_figure
from stronglens.figures.settings import FigureSettings
from stronglens.figures.style import html_table, save_figures, write_text


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=("runs", "runs_pdf", "table"))
    ap.add_argument("--reports", nargs="+", required=True, help="every run's results/gates/<run>.json")
    ap.add_argument("--experiments", required=True, help="results/experiments.tsv")
    ap.add_argument("--figures", required=True, help="figures settings (JSON text or file)")
    args = ap.parse_args(argv)
    fcfg = read_settings(ap, FigureSettings, args.figures, "--figures")
    out = read_outputs(ap, args)
    reports = [json.loads(Path(p).read_text()) for p in args.reports]
    save_figures({"runs": runs_figure(reports)}, out, fcfg.dpi)
    table = pd.read_csv(args.experiments, sep="\t")
    write_text(html_table(table, "Experiments: every run's settings and gate figures",
                          "One row per run (results/experiments.tsv)."), out["table"])
    print(f"{len(reports)} runs compared -> {out['runs'].parent}")


if __name__ == "__main__":
    main()
