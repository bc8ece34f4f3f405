"""Rule gates: one run's shortcut gates -> results/gates/<run>.json (+ <run>.scores.parquet).

python -m stronglens.stages.gates --checkpoint results/runs/R/best.pt --data results/data/D/PAIRING/MODE \
    [--paired results/data/D/paired/MODE] --config '<gates JSON>' --data-gates '<data_gates JSON>' \
    --clip 10 --seed S --out results/gates/R.json --scores results/gates/R.scores.parquet
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stronglens.gates.run_report import evaluate_run, with_provenance
from stronglens.storage.artifacts import write_json, write_parquet


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--paired", default=None)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data-gates", required=True)
    ap.add_argument("--clip", default="null")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scores", required=True)
    args = ap.parse_args(argv)
    cfg, data_cfg = json.loads(args.config), json.loads(args.data_gates)
    report, scores = evaluate_run(Path(args.checkpoint), Path(args.data), Path(args.paired) if args.paired else None,
                                  cfg, data_cfg, json.loads(args.clip), args.seed, cfg["device"])
    report = with_provenance(report, cfg, data_cfg, args.code_hash)
    write_parquet(scores, args.scores, report["provenance"])
    write_json(report, args.out)
    v = report["verdict"]
    print(f"{report['run']}: {v['verdict']} ({v['n_pass']}/{v['of']} pass) in {report['seconds']:.1f} s")
    for name, g in report["gates"].items():
        value = "n/a" if g["value"] is None else f"{g['value']:.4f}"
        print(f"  {name:20s} {value:>8s}  {g['status']}")


if __name__ == "__main__":
    main()
