"""Rule compare: results/compare/<a>--<b>.json, the DeLong test of two runs' AUROCs and their differences.

python -m stronglens.stages.compare --a A.json A.scores.parquet A/run_info.json \
    --b B.json B.scores.parquet B/run_info.json --out C.json \
    [--selection results/selection/A results/selection/B] [--code-hash H]

--a / --b: each run's gates report (results/gates/<run>.json), score table
(results/gates/<run>.scores.parquet) and run_info.json. The AUROC test is
paired DeLong when both runs were scored on the same evaluation samples and
unpaired DeLong (two independent samples) otherwise; the JSON says which
("test") and why ("note").

--selection A_SEL B_SEL (optional): the two runs' selection outputs, each
either the folder results/selection/<run>/ (its completeness.parquet is
read) or the completeness table itself (.parquet, or .csv); adds
"completeness_delta": completeness(a) - completeness(b) per matched cell
and threshold and pooled, with Newcombe 95% intervals
(`stronglens.selection.deltas`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.core.provenance import provenance
from stronglens.gates.runs_table import compare_runs
from stronglens.selection.deltas import completeness_delta, read_completeness
from stronglens.storage.artifacts import write_json


def load(paths: list[str]) -> tuple[dict, pd.DataFrame, dict]:
    report, scores, info = paths
    return json.loads(Path(report).read_text()), pd.read_parquet(scores), json.loads(Path(info).read_text())


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def delta_line(rec: dict) -> str:
    """One printed line of a pooled completeness difference."""
    where = " ".join(str(rec[k]) for k in ("variant", "subset") if rec.get(k) is not None)
    head = f"completeness {where} {rec['threshold']}".replace("  ", " ")
    counts = f"(a {rec['n_detected_a']}/{rec['n_ok_a']}, b {rec['n_detected_b']}/{rec['n_ok_b']}, {rec['n_cells']} cells)"
    if rec["empty"]:
        return f"{head}: empty in {', '.join(rec['empty_in'])} {counts}"
    lo, hi = rec["ci"]
    return (f"{head}: {fmt(rec['completeness_a'])} - {fmt(rec['completeness_b'])} = {rec['delta']:+.3f} "
            f"[{lo:+.3f}, {hi:+.3f}] {counts}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", nargs=3, required=True, metavar=("REPORT", "SCORES", "RUN_INFO"))
    ap.add_argument("--b", nargs=3, required=True, metavar=("REPORT", "SCORES", "RUN_INFO"))
    ap.add_argument("--selection", nargs=2, default=None, metavar=("A_SEL", "B_SEL"),
                    help="results/selection/<run>/ folders (or completeness tables) of runs a and b")
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    result = compare_runs(load(args.a), load(args.b))
    inputs: dict = {"a": args.a, "b": args.b}
    if args.selection:
        comp_a, comp_b = (read_completeness(p) for p in args.selection)
        result["completeness_delta"] = completeness_delta(comp_a, comp_b, names=(result["a"], result["b"]))
        inputs["selection"] = args.selection
    result["provenance"] = provenance(inputs, args.code_hash)
    write_json(result, args.out)
    d = result["delong"]
    if result["test"] == "paired DeLong":
        on = f"on {result['n_samples']} {result['split']} samples"
    else:
        on = (f"on {result['n_samples_a']} {result['splits']['a']} samples of {result['a']} and {result['n_samples_b']} "
              f"{result['splits']['b']} samples of {result['b']} ({result['n_shared']} shared)")
    print(f"{result['a']} - {result['b']} {on}: AUROC {d['auroc_a']:.4f} - {d['auroc_b']:.4f} = {d['difference']:+.4f} "
          f"+- {d['se']:.4f} ({result['test']}), p = {d['p_value']:.3g}")
    if "completeness_delta" in result:
        cd = result["completeness_delta"]
        for rec in cd["overall"]:
            print(delta_line(rec))
        print(f"completeness cells: {cd['n_cells']} matched, {cd['n_empty']} empty in a run, "
              f"{cd['n_unmatched_a']} only in {result['a']}, {cd['n_unmatched_b']} only in {result['b']}")


if __name__ == "__main__":
    main()
