"""Rule selection_gather: shards -> injections.parquet, completeness.parquet, sensitivity.parquet, summary.json.

python -m stronglens.stages.selection_gather --shards S1.parquet ... --selection '<JSON>' --outdir results/selection/R
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.core.provenance import provenance
from stronglens.selection.tables import completeness_tables, prior_variants, sensitivity_table, summary, thresholds
from stronglens.storage.artifacts import write_json, write_parquet


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", nargs="+", required=True)
    ap.add_argument("--selection", required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args(argv)
    cfg = json.loads(args.selection)
    out = Path(args.outdir)
    inj = pd.concat([pd.read_parquet(p) for p in args.shards], ignore_index=True)
    inj = inj.sort_values(["variant", "cell_id", "injection", "attempt"], kind="stable").reset_index(drop=True)
    prov = provenance({"selection": cfg}, args.code_hash)
    thr, fpr_records = thresholds(inj, cfg["thresholds"], cfg["fprs"])
    comp = completeness_tables(inj, thr, cfg["beta_frac_max"], prior_variants(cfg))
    sens = sensitivity_table(inj, thr)
    write_parquet(inj, out / "injections.parquet", prov)
    write_parquet(comp, out / "completeness.parquet", prov)
    write_parquet(sens, out / "sensitivity.parquet", prov)
    report = summary(inj, thr, fpr_records, comp, cfg)
    report["provenance"] = prov
    write_json(report, out / "summary.json")
    for prior, recs in report["completeness_by_prior"].items():
        print(f"{prior} prior, p > 0.3: {recs.get('p>0.3', {}).get('completeness')}")
    for name, rec in report["completeness"].items():
        print(f"{name:14s} completeness {rec['completeness']:.3f} [{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}] "
              f"(n_ok {rec['n_ok']}, failed attempts {report['n_failed_attempts']})")


if __name__ == "__main__":
    main()
