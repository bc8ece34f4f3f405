"""Rule gates: one run's shortcut gates -> results/gates/<run>.json (+ <run>.scores.parquet).

python -m stronglens.stages.gates --checkpoint results/runs/R/best.pt --data results/data/D/PAIRING/MODE \
    [--paired results/data/D/paired/MODE] --config '<gates science JSON>' --data-gates '<data_gates JSON>' \
    --clip 10 --seed S [--device auto --batch 256] --out report=results/gates/R.json scores=results/gates/R.scores.parquet

--config is the science slice of `gates` (GateSettings); --device and --batch
are execution settings from the rule's resources.
"""

from __future__ import annotations

import json
from pathlib import Path

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.gates.run_report import evaluate_run, with_provenance
from stronglens.gates.settings import DataGateSettings, GateSettings
from stronglens.gates.verdict import verdict_label
from stronglens.storage.artifacts import write_json, write_parquet


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=("report", "scores"))
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True, help="the run's preprocessed folder")
    ap.add_argument("--paired", default=None, help="the dataset's paired folder (evaluation hard negatives)")
    ap.add_argument("--config", required=True, help="gates settings (JSON text or file)")
    ap.add_argument("--data-gates", required=True, help="data_gates settings (JSON text or file)")
    ap.add_argument("--clip", default="null", help="the preprocessing clip (JSON number or null)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (execution setting)")
    ap.add_argument("--batch", type=int, default=256, help="images per forward pass (execution setting)")
    args = ap.parse_args(argv)
    cfg = read_settings(ap, GateSettings, args.config, "--config")
    data_cfg = read_settings(ap, DataGateSettings, args.data_gates, "--data-gates")
    out = read_outputs(ap, args)
    report, scores = evaluate_run(Path(args.checkpoint), Path(args.data), Path(args.paired) if args.paired else None,
                                  cfg, data_cfg, json.loads(args.clip), args.seed, args.device, args.batch)
    report = with_provenance(report, cfg, data_cfg, args.code_hash)
    write_parquet(scores, out["scores"], report["provenance"])
    write_json(report, out["report"])
    v = report["verdict"]
    print(f"{report['run']}: {verdict_label(v)} in {report['seconds']:.1f} s")
    for name, g in report["gates"].items():
        value = "n/a" if g["value"] is None else f"{g['value']:.4f}"
        print(f"  {name:20s} {value:>8s}  {g['status']}")


if __name__ == "__main__":
    main()
