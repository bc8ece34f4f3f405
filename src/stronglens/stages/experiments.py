"""Rule experiments: results/experiments.tsv, one row per run (settings and gate figures).

python -m stronglens.stages.experiments --reports results/gates/A.json ... --infos results/runs/A/run_info.json ... \
    [--realism results/realism/A.json ... --summaries results/selection/A/summary.json ... --threshold-sets '<JSON>'] \
    --out T.tsv

An audited run's decision (`stronglens.realism.decision.decide`) is made here, where its gates report
(AUROC), its realism report and its selection summary (main-map completeness) meet: a change to one of
them re-makes this table, never the audit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stronglens.config.settings import SettingsError, load_settings
from stronglens.gates.runs_table import experiments_table
from stronglens.realism.decision import decide
from stronglens.realism.settings import ThresholdSetSettings
from stronglens.storage.artifacts import atomic_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", nargs="+", required=True)
    ap.add_argument("--infos", nargs="+", required=True)
    ap.add_argument("--realism", nargs="*", default=[], help="realism reports (results/realism/R.json) of audited runs")
    ap.add_argument("--summaries", nargs="*", default=[], help="selection summaries (results/selection/R/summary.json)")
    ap.add_argument("--threshold-sets", default="{}", help="realism.threshold_sets (JSON text or file)")
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    try:
        sets = load_settings(ThresholdSetSettings, args.threshold_sets, "--threshold-sets")
    except SettingsError as err:
        ap.error(str(err))
    if len(args.reports) != len(args.infos):
        raise SystemExit("--reports and --infos must pair up one to one")
    pairs = [(json.loads(Path(r).read_text()), json.loads(Path(i).read_text())) for r, i in zip(args.reports, args.infos)]
    audits = {(rep := json.loads(Path(p).read_text()))["run"]: rep for p in args.realism if p}
    summaries = {Path(p).parent.name: json.loads(Path(p).read_text()) for p in args.summaries if p}
    gates = {info["run_config"]["name"]: report for report, info in pairs}
    decisions = {run: decide(audit, gates[run], summaries.get(run), sets) for run, audit in audits.items() if run in gates}
    table = experiments_table(pairs, audits, decisions)
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4f")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
