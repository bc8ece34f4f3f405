"""Rule figures_compare: every run side by side -> results/figures/runs.{png,pdf} and results/figures/experiments.html.

python -m stronglens.stages.figures_compare --reports results/gates/A.json ... --experiments results/experiments.tsv \
    --figures '<figures JSON>' --outdir results/figures
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.figures.comparison import runs_figure
from stronglens.figures.style import html_table, save_figure, write_text


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", nargs="+", required=True)
    ap.add_argument("--experiments", required=True)
    ap.add_argument("--figures", required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args(argv)
    fcfg, out = json.loads(args.figures), Path(args.outdir)
    reports = [json.loads(Path(p).read_text()) for p in args.reports]
    save_figure(runs_figure(reports), out / "runs.png", out / "runs.pdf", fcfg["dpi"])
    table = pd.read_csv(args.experiments, sep="\t")
    write_text(html_table(table, "Experiments: every run's settings and gate figures",
                          "One row per run (results/experiments.tsv)."), out / "experiments.html")
    print(f"{len(reports)} runs compared -> {out}")


if __name__ == "__main__":
    main()
