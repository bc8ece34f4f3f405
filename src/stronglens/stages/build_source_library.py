"""Rule build_source_library: the HST deep field -> results/sources/library.npz (real-galaxy sources).

python -m stronglens.stages.build_source_library --sources '<sources settings JSON>' --seed S \
    --out results/sources/library.npz
"""

from __future__ import annotations

import time

import numpy as np

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_settings, stage_parser
from stronglens.core.provenance import provenance
from stronglens.sources.deep_field import deep_field_rgb, linear_bands
from stronglens.sources.library import build_library, save_library
from stronglens.sources.segmentation import segment_galaxies
from stronglens.sources.settings import SourceLibrarySettings


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__)
    ap.add_argument("--sources", required=True, help="the sources block (JSON text or file)")
    ap.add_argument("--seed", type=int, required=True, help="seeds the sky / injection subset hash")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    cfg = read_settings(ap, SourceLibrarySettings, args.sources, "--sources")
    t0 = time.perf_counter()
    seg = segment_galaxies(linear_bands(deep_field_rgb(), cfg.display_gamma), cfg)
    lib = build_library(seg, cfg, args.seed)
    save_library(lib, args.out, provenance({"sources": as_dict(cfg), "seed": args.seed}, args.code_hash))
    r = lib.catalog["r_half_pix"] * lib.pixscale_arcsec
    print(f"{lib.meta['n_detected']} detections, {lib.meta['n_deblended']} after deblending, {len(lib)} galaxies kept "
          f"({lib.meta['n_sky']} sky, {lib.meta['n_injection']} injection); half-light radius median "
          f"{np.median(r):.2f}\" [{r.min():.2f}, {r.max():.2f}], axis ratio median {np.median(lib.catalog['q']):.2f}; "
          f"{time.perf_counter() - t0:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
