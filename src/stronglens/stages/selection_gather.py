"""Rule selection_gather: shards -> injections.parquet, completeness.parquet, sensitivity.parquet, summary.json.

python -m stronglens.stages.selection_gather --shards S1.parquet ... --selection '<gather JSON>' \
    --out injections=D/injections.parquet completeness=D/completeness.parquet sensitivity=D/sensitivity.parquet \
    summary=D/summary.json [--scores results/gates/R.scores.parquet --eval-split test --dataset D --dataset-source sky]
"""

from __future__ import annotations

import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.core.provenance import provenance
from stronglens.selection.realism import read_scores, realism_gap
from stronglens.selection.settings import SelectionGatherSettings
from stronglens.selection.tables import baseline_variants, completeness_tables, sensitivity_table, summary, thresholds
from stronglens.storage.artifacts import write_json, write_parquet


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=("injections", "completeness", "sensitivity", "summary"))
    ap.add_argument("--shards", nargs="+", required=True)
    ap.add_argument("--selection", required=True, help="selection gather settings (JSON text or file)")
    ap.add_argument("--scores", default=None, help="the run's results/gates/<run>.scores.parquet: recall on its lenses")
    ap.add_argument("--eval-split", default="test", help="split of the score table whose positives give the recall")
    ap.add_argument("--dataset", default="", help="the run's dataset (named in the realism gap)")
    ap.add_argument("--dataset-source", default="", help="that dataset's source (synthetic, sky, parquet, cutouts)")
    args = ap.parse_args(argv)
    cfg = read_settings(ap, SelectionGatherSettings, args.selection, "--selection")
    out = read_outputs(ap, args)
    inj = pd.concat([pd.read_parquet(p) for p in args.shards], ignore_index=True)
    inj = inj.sort_values(["variant", "cell_id", "injection", "attempt"], kind="stable").reset_index(drop=True)
    prov = provenance({"selection": as_dict(cfg)}, args.code_hash)
    thr, fpr_records = thresholds(inj, cfg.thresholds, cfg.fprs)
    comp = completeness_tables(inj, thr, cfg.beta_frac_max, baseline_variants(cfg.prior, cfg.also_priors, cfg.source_models))
    sens = sensitivity_table(inj, thr)
    for name, table in (("injections", inj), ("completeness", comp), ("sensitivity", sens)):
        write_parquet(table, out[name], prov)
    report = summary(inj, thr, fpr_records, comp, cfg)
    if args.scores:
        report["realism_gap"] = realism_gap(read_scores(args.scores), args.eval_split, report["completeness_by_source_model"],
                                            args.dataset, args.dataset_source)
    report["provenance"] = prov
    write_json(report, out["summary"])
    for prior, recs in report["completeness_by_prior"].items():
        print(f"{prior} prior, p > 0.3: {recs.get('p>0.3', {}).get('completeness')}")
    for model, recs in report["completeness_by_source_model"].items():
        print(f"{model} sources, p > 0.3: {recs.get('p>0.3', {}).get('completeness')}")
    if "realism_gap" in report:
        a = report["realism_gap"]["tier_a"]
        print(f"tier A recall ({args.dataset}, {args.eval_split}): p > 0.3 {a['p>0.3']['recall']} (n {a['p>0.3']['n']}), "
              f"p > 0.5 {a['p>0.5']['recall']}")
    for name, rec in report["completeness"].items():
        print(f"{name:14s} completeness {rec['completeness']:.3f} [{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}] "
              f"(n_ok {rec['n_ok']}, failed attempts {report['n_failed_attempts']})")


if __name__ == "__main__":
    main()
