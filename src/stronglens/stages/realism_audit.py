"""Rule realism: one run's realism audit -> results/realism/<run>.json (+ <run>.npz for the figures).

python -m stronglens.stages.realism_audit --checkpoint results/runs/R/best.pt --preprocessing '<JSON>' \
    --catalog '<catalog JSON>' --catalog-manifest results/data/C/manifest-unpaired.parquet \
    --run-manifest results/data/D/manifest-P.parquet [--library results/sources/library.npz] \
    --config '<realism JSON>' --seed S [--device auto --batch 256] --out report=... arrays=...
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.core.provenance import provenance
from stronglens.data.settings import PreprocessSettings
from stronglens.realism.audit import run_audit
from stronglens.realism.catalog import CatalogError, load_catalog
from stronglens.realism.embeddings import FeatureBlockError
from stronglens.realism.settings import CatalogSettings, RealismSettings
from stronglens.sources.library import load_library
from stronglens.storage.artifacts import atomic_path, write_json
from stronglens.storage.blobs import write_npz
from stronglens.survey.synthetic.galaxies import GalaxyPool
from stronglens.train.scoring import RunScorer


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=("report", "arrays"))
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--preprocessing", required=True, help="the run's preprocessing settings (JSON text or file)")
    ap.add_argument("--catalog", required=True, help="the lens catalog's settings (JSON: dataset, source, split, ...)")
    ap.add_argument("--catalog-manifest", required=True, help="the catalog dataset's unpaired manifest")
    ap.add_argument("--run-manifest", required=True, help="the run's own manifest (split balance)")
    ap.add_argument("--train-split", default="train")
    ap.add_argument("--library", default=None, help="results/sources/library.npz (source model real_galaxy)")
    ap.add_argument("--config", required=True, help="realism settings (JSON text or file)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (execution setting)")
    ap.add_argument("--batch", type=int, default=256, help="images per forward pass (execution setting)")
    args = ap.parse_args(argv)
    cfg = read_settings(ap, RealismSettings, args.config, "--config")
    cat = read_settings(ap, CatalogSettings, args.catalog, "--catalog")
    pp = read_settings(ap, PreprocessSettings, args.preprocessing, "--preprocessing")
    out = read_outputs(ap, args)
    if "real_galaxy" in cfg.source_models and not args.library:
        ap.error("--config: source_models real_galaxy needs --library (the source library)")
    scorer = RunScorer(args.checkpoint, args.device, args.batch)
    try:
        catalog = load_catalog(args.catalog_manifest, cat.split, cat.stamp_size, cfg.max_negatives, args.seed)
        galaxies = GalaxyPool(load_library(args.library), "injection") if args.library else None
        report, arrays = run_audit(scorer, pp, catalog, cat, cfg, pd.read_parquet(args.run_manifest), args.train_split,
                                   galaxies, args.seed)
    except (CatalogError, FeatureBlockError) as err:
        raise SystemExit(f"realism: {err}") from None
    report["provenance"] = provenance({"realism": as_dict(cfg), "catalog": as_dict(cat), "preprocessing": as_dict(pp)},
                                      args.code_hash)
    with atomic_path(out["arrays"]) as tmp:
        write_npz(tmp, {k: np.asarray(v) for k, v in arrays.items()})
    write_json(report, out["report"])
    print_summary(report)


def print_summary(report: dict) -> None:
    """The audit's headline figures, one line each (the stage log)."""
    r = report["recall"]["tiers"]["A"]["p>0.3"]
    print(f"{report['run']}: tier A recall p>0.3 {r['recall']} ({r['n_detected']}/{r['n']}) on {report['catalog']['dataset']}")
    for m, pr in report["probe"]["by_model"].items():
        p = pr["probe"]
        print(f"  probe real vs {m}: AUC {p['auc_mean']:.3f} +- {p['auc_std']:.3f} [{p['ci95'][0]:.3f}, {p['ci95'][1]:.3f}],"
              f" MMD p {pr['mmd']['p_value']:.3g}")
    print(f"  null tests pass: {report['probe']['nulls_pass']}; FD ratio {report['probe']['fd_ratio']}")
    for g, v in report["d01"].items():
        print(f"  {g:18s} {v['status']}")
    print(f"  {report['timings_s']['total']:.1f} s")


if __name__ == "__main__":
    main()
