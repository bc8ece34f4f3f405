"""Rule experiments: results/experiments.tsv, one row per run (settings and gate figures).

python -m stronglens.stages.experiments --reports results/gates/A.json ... --infos results/runs/A/run_info.json ... \
    [--realism results/realism/A.json ...] --out T.tsv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stronglens.gates.runs_table import experiments_table
from stronglens.storage.artifacts import atomic_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", nargs="+", required=True)
    ap.add_argument("--infos", nargs="+", required=True)
    ap.add_argument("--realism", nargs="*", default=[], help="realism reports (results/realism/R.json) of audited runs")
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if len(args.reports) != len(args.infos):
        raise SystemExit("--reports and --infos must pair up one to one")
    pairs = [(json.loads(Path(r).read_text()), json.loads(Path(i).read_text())) for r, i in zip(args.reports, args.infos)]
    audits = {(rep := json.loads(Path(p).read_text()))["run"]: rep for p in args.realism if p}
    table = experiments_table(pairs, audits)
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4f")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
