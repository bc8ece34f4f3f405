"""Rule compare: results/compare/<a>--<b>.json, the paired DeLong test of two runs and their differences.

python -m stronglens.stages.compare --a A.json A.scores.parquet A/run_info.json --b B.json ... --out C.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.core.provenance import provenance
from stronglens.gates.runs_table import compare_runs
from stronglens.storage.artifacts import write_json


def load(paths: list[str]) -> tuple[dict, pd.DataFrame, dict]:
    report, scores, info = paths
    return json.loads(Path(report).read_text()), pd.read_parquet(scores), json.loads(Path(info).read_text())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", nargs=3, required=True, metavar=("REPORT", "SCORES", "RUN_INFO"))
    ap.add_argument("--b", nargs=3, required=True, metavar=("REPORT", "SCORES", "RUN_INFO"))
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    result = compare_runs(load(args.a), load(args.b))
    result["provenance"] = provenance({"a": args.a, "b": args.b}, args.code_hash)
    write_json(result, args.out)
    d = result["delong"]
    print(f"{result['a']} - {result['b']} on {result['n_samples']} {result['split']} samples: AUROC "
          f"{d['auroc_a']:.4f} - {d['auroc_b']:.4f} = {d['difference']:+.4f} +- {d['se']:.4f} (DeLong), p = {d['p_value']:.3g}")


if __name__ == "__main__":
    main()
