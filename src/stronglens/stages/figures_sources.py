"""Rule figures_sources: the source library (and the stand-in sky's stamps) -> results/figures/sources/*.{png,pdf}.

python -m stronglens.stages.figures_sources --library results/sources/library.npz [--sky-shard D/part-0.parquet] \
    --figures '<figures JSON>' --out library=F/library.png library_pdf=F/library.pdf sky=F/sky.png sky_pdf=F/sky.pdf
"""

from __future__ import annotations

import pandas as pd

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.figures.settings import FigureSettings
from stronglens.figures.source_library import library_figure, sky_figure
from stronglens.figures.style import save_figures
from stronglens.sources.library import load_library


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=("library", "library_pdf", "sky", "sky_pdf"))
    ap.add_argument("--library", required=True)
    ap.add_argument("--sky-shard", default=None, help="one shard of a sky dataset: its stamps by group")
    ap.add_argument("--figures", required=True, help="figures settings (JSON text or file)")
    args = ap.parse_args(argv)
    fcfg = read_settings(ap, FigureSettings, args.figures, "--figures")
    out = read_outputs(ap, args)
    figs = {"library": library_figure(load_library(args.library)),
            "sky": sky_figure(pd.read_parquet(args.sky_shard) if args.sky_shard else None)}
    save_figures(figs, out, fcfg.dpi)
    print(f"figures: {', '.join(figs)} -> {out['library'].parent}")


if __name__ == "__main__":
    main()
