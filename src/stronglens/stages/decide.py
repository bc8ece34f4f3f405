"""Rule decide: the lens team's two decision trees -> results/decision.json and results/figures/decision.html.

python -m stronglens.stages.decide \\
    --reports results/gates/A1.json results/gates/B1.json ... \\
    [--realism results/realism/P4.json ...] \\
    [--selection results/selection/P4/completeness.parquet results/selection/P4/summary.json ...] \\
    [--config '<decisions JSON>'] [--code-hash H] \\
    --out decision=results/decision.json page=results/figures/decision.html

--reports: gates reports (results/gates/<run>.json), keyed by their ``run`` field; --realism: realism
reports (results/realism/<run>.json), keyed by their ``run`` field; --selection: selection outputs of a
run, ``completeness.parquet`` (the per-cell table step 3 reads) and optionally ``summary.json`` (context),
keyed by their folder name (results/selection/<run>/); --config: the ``decisions`` config block (JSON text
or a .json file; `stronglens.decisions.settings.DecisionTreeSettings`, every key optional).

The matrix tree is seed 004 §10 (`stronglens.decisions.matrix_tree`), the sequential tree seed 003 §20.2
(`stronglens.decisions.sequential_tree`); docs/decisions.md explains every node. One line per tree is
printed with its branch. A bad config key, a missing or unreadable input file or a report without its
``run`` field exits with status 2 and one line naming the file or field; a run or gate the trees need but
do not find is not an error: the tree says "cannot decide" at that node and names it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser
from stronglens.core.provenance import provenance
from stronglens.decisions.matrix_tree import matrix_decision
from stronglens.decisions.page import render_page
from stronglens.decisions.sequential_tree import sequential_decision
from stronglens.decisions.settings import DecisionTreeSettings
from stronglens.storage.artifacts import atomic_path, write_json


def read_json(ap: argparse.ArgumentParser, path: str, flag: str) -> dict:
    """A JSON object from `path`; exits (status 2) naming the flag and file when it is missing or not JSON."""
    p = Path(path)
    if not p.is_file():
        ap.error(f"{flag}: {p} does not exist")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        ap.error(f"{flag}: {p} is not valid JSON ({err})")
    if not isinstance(data, dict):
        ap.error(f"{flag}: {p} is not a JSON object")
    return data


def by_run(ap: argparse.ArgumentParser, paths: list[str], flag: str) -> tuple[dict[str, dict], dict[str, str]]:
    """(run -> report, run -> path) of JSON reports keyed by their ``run`` field (exits on a duplicate run)."""
    reports: dict[str, dict] = {}
    where: dict[str, str] = {}
    for path in paths:
        data = read_json(ap, path, flag)
        run = data.get("run")
        if not isinstance(run, str) or not run:
            ap.error(f"{flag}: {path}: missing field 'run'")
        if run in reports:
            ap.error(f"{flag}: run {run!r} given twice ({where[run]} and {path})")
        reports[run], where[run] = data, path
    return reports, where


def read_selection(ap: argparse.ArgumentParser, paths: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, dict], dict]:
    """(run -> completeness table, run -> summary, run -> {kind: path}) from results/selection/<run>/ files."""
    tables: dict[str, pd.DataFrame] = {}
    summaries: dict[str, dict] = {}
    where: dict[str, dict[str, str]] = {}
    for path in paths:
        p = Path(path)
        run = p.parent.name
        if p.name == "summary.json":
            summaries[run] = read_json(ap, path, "--selection")
            where.setdefault(run, {})["summary"] = path
        elif p.suffix == ".parquet" and p.name.startswith("completeness"):
            if not p.is_file():
                ap.error(f"--selection: {p} does not exist")
            try:
                tables[run] = pd.read_parquet(p)
            except Exception as err:  # any unreadable parquet is a user error naming the file
                ap.error(f"--selection: {p} is not a readable parquet table ({type(err).__name__}: {err})")
            where.setdefault(run, {})["completeness"] = path
        else:
            ap.error(f"--selection: {p} is neither results/selection/<run>/completeness.parquet nor .../summary.json")
    return tables, summaries, where


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=("decision", "page"))
    ap.add_argument("--reports", nargs="+", required=True, help="gates reports (results/gates/<run>.json)")
    ap.add_argument("--realism", nargs="*", default=[], help="realism reports (results/realism/<run>.json)")
    ap.add_argument("--selection", nargs="*", default=[],
                    help="selection outputs (results/selection/<run>/completeness.parquet, summary.json)")
    ap.add_argument("--config", default="{}", help="the decisions config block (JSON text or .json file)")
    args = ap.parse_args(argv)
    cfg = read_settings(ap, DecisionTreeSettings, args.config, "--config")
    out = read_outputs(ap, args)
    reports, report_paths = by_run(ap, args.reports, "--reports")
    realism, realism_paths = by_run(ap, [p for p in args.realism if p], "--realism")
    tables, summaries, selection_paths = read_selection(ap, [p for p in args.selection if p])

    decision = {
        "matrix": matrix_decision(reports, cfg.matrix),
        "sequential": sequential_decision(reports, realism, tables, summaries, cfg.sequential),
        "inputs": {"reports": report_paths, "realism": realism_paths, "selection": selection_paths},
        "provenance": provenance({"decisions": as_dict(cfg)}, args.code_hash),
    }
    write_json(decision, out["decision"])
    with atomic_path(out["page"]) as tmp:
        tmp.write_text(render_page(decision))
    for name, tree in (("matrix", decision["matrix"]), ("sequential", decision["sequential"])):
        print(f"{name} ({tree['tree']}): {tree['branch']}")


if __name__ == "__main__":
    main()
