"""The sequential decision tree of seed 003 §20.2 (reviewer 2's), applied to gates, realism and selection outputs.

The seeds' four steps, each evaluated on its own (each outcome leads on to
the next step), with thresholds from `SequentialTreeSettings`:

1. AUROC gain from a baseline run to a candidate run (the seeds: a retrain
   with the corrected annulus) >= 0.002 -> the change was a genuine
   confounder, proceed; flat -> it was cosmetic, focus on the injection
   priors. Seed 003 §20.1 adds that a gain counts only beyond 2 standard
   errors: the SE of the difference is sqrt(se_a^2 + se_b^2) from the two
   reports' DeLong SEs (``gates.auroc.se``), an unpaired approximation (two
   runs scored on the same split are correlated; a paired DeLong test on
   their score tables would be tighter). A gain below either bound is flat.
2. Tier A recall at p > 0.5 (the realism audit's ``recall.tiers.A["p>0.5"]``,
   with its Jeffreys 95% interval) >= 65% -> PASS (publishable); below ->
   investigate further. The dual threshold sets of seed 003 §20.1 are shown
   beside it when the realism JSON carries them (``threshold_sets``); the
   project applies them in the experiments table (results/experiments.tsv).
3. The selection function's completeness grid: if any cell exceeds 20%,
   report those cells as a "detectable lens population". The seeds' grid
   is (theta_E, beta_frac, depth); the project's cells are (theta_E, PSF,
   depth) with beta_frac drawn within each cell, and a beta_frac-restricted
   subset (``completeness_subset``) stands in for the beta_frac axis.
4. The literature comparison table (Jacobs+19, Huang+20, He+20, Rojas+22,
   Herle+24; same-survey vs cross-survey kept apart) cannot be computed
   from the project's outputs: it is reported as a manual step with its
   list.

A missing input (run, field, file, column) makes that step answer
"cannot decide" naming it; the other steps are still evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from stronglens.decisions.nodes import CANNOT, CANNOT_DECIDE, MANUAL, NO, YES, Missing, finite, fmt, gate_value, node
from stronglens.decisions.settings import SequentialTreeSettings

TREE = "seed 003 §20.2"
CELL_COLUMNS = ("variant", "subset", "level", "threshold", "completeness", "n_ok", "n_detected")
CELL_KEYS = ("cell_id", "theta_e_cell", "psf_fwhm", "depth_r")
SE_METHOD = ("unpaired approximation sqrt(se_a^2 + se_b^2) of the two gates reports' DeLong SEs (gates.auroc.se); "
             "runs scored on the same split are correlated, so a paired DeLong test would give a smaller SE")


def _step(record: dict, outcome: str, next_step: str) -> dict:
    if record["answer"] == CANNOT:
        outcome = CANNOT_DECIDE
        next_step = f"Cannot decide at {record['node']}: {'; '.join(record.get('missing', []))}."
    return {**record, "outcome": outcome, "next_step": next_step}


def auroc_se(reports: Mapping[str, dict], run: str) -> float | None:
    """The DeLong standard error of a run's evaluation AUROC (gates.auroc.se), None when absent."""
    return finite(reports.get(run, {}).get("gates", {}).get("auroc", {}).get("se"))


def step1_auc(reports: Mapping[str, dict], s: SequentialTreeSettings) -> dict:
    """Step 1: does the candidate run raise the evaluation AUROC by >= auc_min_improvement (and >= k SE)?"""
    a, b = s.auc_baseline_run, s.auc_candidate_run
    missing = Missing()
    auc_a, auc_b = gate_value(reports, a, "auroc", missing), gate_value(reports, b, "auroc", missing)
    measured: dict = {f"{a}.auroc": auc_a, f"{b}.auroc": auc_b}
    threshold = {"delta_auroc": f">= {fmt(s.auc_min_improvement)}"}
    k = s.auc_significance_se
    if k is not None:
        threshold["delta_auroc / se_delta"] = f">= {fmt(k)}"
        for run in (a, b):
            se = auroc_se(reports, run)
            measured[f"{run}.auroc_se"] = se
            if se is None and run in reports:
                missing.add(f"run {run}: gates.auroc.se (DeLong SE) is not in its gates report")
    answer = NO
    if not missing:
        assert auc_a is not None and auc_b is not None
        delta = auc_b - auc_a
        measured["delta_auroc"] = delta
        improves = delta >= s.auc_min_improvement
        measured["improves_by_min"] = improves
        significant = True
        if k is not None:
            se_delta = math.hypot(measured[f"{a}.auroc_se"], measured[f"{b}.auroc_se"])
            measured["se_delta"] = se_delta
            measured["se_method"] = SE_METHOD
            measured["delta_over_se"] = delta / se_delta if se_delta > 0 else (math.inf if delta > 0 else 0.0)
            significant = delta >= k * se_delta
            measured[f"beyond_{fmt(k)}_se"] = significant
        answer = YES if improves and significant else NO
    question = (f"Does {b} improve the evaluation AUROC over {a} by >= {fmt(s.auc_min_improvement)}"
                + (f" and by >= {fmt(k)} SE of the difference?" if k is not None else "?"))
    record = node("step1_auc_improvement", question, measured, threshold, answer, missing)
    if answer == YES:
        return _step(record, "GENUINE_CONFOUNDER_PROCEED",
                     f"The {a} -> {b} change is a genuine confounder fix: proceed with {b}.")
    why = "below the minimum gain" if not measured.get("improves_by_min") else f"within {fmt(k or 0)} SE"
    return _step(record, "FLAT_FOCUS_ON_INJECTION_PRIORS",
                 f"AUROC flat from {a} to {b} ({why}): the change is cosmetic; focus on the injection priors.")


def step2_recall(realism: Mapping[str, dict], s: SequentialTreeSettings) -> dict:
    """Step 2: tier `recall_tier` recall at p > recall_threshold of `recall_run`'s realism audit >= recall_min?"""
    run, key = s.recall_run, f"p>{s.recall_threshold:g}"
    missing = Missing()
    measured: dict = {}
    field = f"recall.tiers.{s.recall_tier}[{key!r}]"
    report = realism.get(run)
    rec = None
    if report is None:
        missing.add(f"run {run}: no realism report (results/realism/{run}.json)")
    else:
        rec = report.get("recall", {}).get("tiers", {}).get(s.recall_tier, {}).get(key)
        if rec is None:
            missing.add(f"run {run}: {field} is not in its realism report (is {s.recall_threshold:g} in realism.thresholds?)")
        elif finite(rec.get("recall")) is None:
            missing.add(f"run {run}: {field} has no recall (n = {rec.get('n', 0)} tier {s.recall_tier} lenses)")
    if rec is not None:
        measured = {f"{run}.tier_{s.recall_tier}_recall_{key}": finite(rec.get("recall")), "n": rec.get("n"),
                    "n_detected": rec.get("n_detected"), "ci95": rec.get("ci95")}
    extra: dict = {}
    if report is not None:
        context = report.get("recall", {}).get("tiers", {}).get(s.recall_tier, {})
        extra["context"] = {f"tier_{s.recall_tier}_recall_{name}": finite(r.get("recall")) for name, r in context.items()
                            if isinstance(r, Mapping) and name != key}
        ceiling = report.get("ceiling") or {}
        if ceiling:
            model = next(iter(ceiling))
            extra["context"][f"bright_arc_ceiling_peak_p>0.3 ({model})"] = finite(ceiling[model].get("peak_p>0.3"))
        sets = report.get("threshold_sets")
        extra["threshold_sets"] = ({name: {"met": v.get("met")} for name, v in sets.items()} if isinstance(sets, Mapping)
                                   else "not in the realism report: the experiments table (results/experiments.tsv, "
                                        "set_1_met / set_2_met) applies seed 003 §20.1's dual threshold sets")
    value = measured.get(f"{run}.tier_{s.recall_tier}_recall_{key}")
    answer = YES if value is not None and value >= s.recall_min else NO
    record = node("step2_tier_a_recall", f"Is {run}'s tier {s.recall_tier} recall at {key} >= {fmt(s.recall_min)}?",
                  measured, {f"{run}.tier_{s.recall_tier}_recall_{key}": f">= {fmt(s.recall_min)}"}, answer, missing,
                  **extra)
    if answer == YES:
        return _step(record, "PASS_PUBLISHABLE", f"Tier {s.recall_tier} recall meets the bar: publishable (PASS).")
    return _step(record, "INVESTIGATE_FURTHER",
                 f"Tier {s.recall_tier} recall {value if value is None else f'{value:.3f}'} is below "
                 f"{fmt(s.recall_min)}: investigate further.")


def max_cell(table: pd.DataFrame, s: SequentialTreeSettings, run: str, missing: Missing
             ) -> tuple[dict | None, pd.DataFrame, int]:
    """(cell of highest completeness, every cell above completeness_cell_min, number of filled cells) among the
    table's cells of the configured variant, subset and threshold with >= completeness_min_injections ok
    injections; (None, empty, 0) with a `missing` line when there is none."""
    absent = [c for c in CELL_COLUMNS if c not in table.columns]
    if absent:
        missing.add(f"run {run}: selection completeness table has no column {absent[0]!r}")
        return None, table.iloc[:0], 0
    rows = table[(table["level"] == "cell") & (table["variant"] == s.completeness_variant)
                 & (table["subset"] == s.completeness_subset) & (table["threshold"] == s.completeness_threshold)]
    rows = rows[(rows["n_ok"] >= s.completeness_min_injections) & rows["completeness"].notna()]
    if rows.empty:
        missing.add(f"run {run}: no filled cell (n_ok >= {s.completeness_min_injections}) with variant "
                    f"{s.completeness_variant!r}, subset {s.completeness_subset!r}, threshold {s.completeness_threshold!r} "
                    "in its selection completeness table")
        return None, rows, 0
    keep = [c for c in (*CELL_KEYS, "completeness", "n_ok", "n_detected", "lo95", "hi95", "in_prior") if c in rows.columns]
    top = rows.loc[[rows["completeness"].idxmax()], keep].to_dict("records")[0]  # one row: each column keeps its dtype
    cell = {c: _plain(v) for c, v in top.items()}
    above = rows[rows["completeness"] > s.completeness_cell_min]
    return cell, above[keep], int(len(rows))


def _plain(value):
    """A pandas / numpy scalar as a JSON type."""
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def step3_completeness(completeness: Mapping[str, pd.DataFrame], summaries: Mapping[str, dict],
                       s: SequentialTreeSettings) -> dict:
    """Step 3: does any cell of `completeness_run`'s selection completeness exceed completeness_cell_min?"""
    run = s.completeness_run
    missing = Missing()
    table = completeness.get(run)
    cell, above, n_filled = None, None, 0
    if table is None:
        missing.add(f"run {run}: no selection completeness table (results/selection/{run}/completeness.parquet)")
    else:
        cell, above, n_filled = max_cell(table, s, run, missing)
    measured: dict = {}
    if cell is not None and above is not None:
        measured = {f"{run}.max_cell_completeness": cell["completeness"], "max_cell": cell, "n_cells": n_filled,
                    "n_cells_above": int(len(above))}
    extra: dict = {}
    if run in summaries:
        main = summaries[run].get("completeness", {}).get(s.completeness_threshold, {})
        extra["context"] = {f"overall_completeness_{s.completeness_threshold}": finite(main.get("completeness")),
                            "peak_theta_e": summaries[run].get("peak_theta_e")}
    if above is not None and len(above):
        extra["cells_above"] = [{k: _plain(v) for k, v in row.items()} for row in above.to_dict("records")]
    answer = YES if cell is not None and cell["completeness"] > s.completeness_cell_min else NO
    record = node("step3_completeness_cell",
                  f"Does any {s.completeness_variant} / {s.completeness_subset} cell of {run}'s completeness at "
                  f"{s.completeness_threshold} exceed {fmt(s.completeness_cell_min)}?",
                  measured, {f"{run}.max_cell_completeness": f"> {fmt(s.completeness_cell_min)}"}, answer, missing, **extra)
    if answer == YES:
        return _step(record, "REPORT_DETECTABLE_POPULATION",
                     f"Report the {measured['n_cells_above']} cell(s) above {fmt(s.completeness_cell_min)} as the "
                     "\"detectable lens population\".")
    return _step(record, "NO_DETECTABLE_CELL",
                 f"No cell exceeds {fmt(s.completeness_cell_min)}: no \"detectable lens population\" to report.")


def step4_literature(s: SequentialTreeSettings) -> dict:
    """Step 4: the literature table, a manual step (nothing in the project's outputs can compute it)."""
    record = node("step4_literature", "Does the literature comparison table include " + ", ".join(s.literature)
                  + ", with same-survey (apples-to-apples) and cross-survey comparisons kept apart?",
                  {"required_comparisons": list(s.literature)}, {"required_comparisons": "all present"}, MANUAL,
                  note="cannot be computed from the project's outputs: the table is written and checked by hand")
    return _step(record, "MANUAL", "Write the literature table by hand with: " + ", ".join(s.literature)
                 + "; keep same-survey and cross-survey comparisons apart.")


def sequential_decision(reports: Mapping[str, dict], realism: Mapping[str, dict], completeness: Mapping[str, pd.DataFrame],
                        summaries: Mapping[str, dict], settings: SequentialTreeSettings) -> dict:
    """Apply seed 003 §20.2. reports: run -> gates report; realism: run -> realism report; completeness: run ->
    selection completeness table (results/selection/<run>/completeness.parquet); summaries: run -> selection
    summary (context only).

    Returns ``{"tree", "nodes": [one record per step, each with outcome and next_step], "branch", "decided",
    "next_step"}``; branch joins the steps' outcomes.
    """
    steps = [step1_auc(reports, settings), step2_recall(realism, settings),
             step3_completeness(completeness, summaries, settings), step4_literature(settings)]
    undecided = [st["node"] for st in steps if st["outcome"] == CANNOT_DECIDE]
    out = {"tree": TREE, "nodes": steps,
           "branch": "; ".join(f"step{i}={st['outcome']}" for i, st in enumerate(steps, 1)),
           "decided": not undecided, "next_step": " ".join(st["next_step"] for st in steps)}
    if undecided:
        out["cannot_decide"] = {"nodes": undecided,
                                "missing": [m for st in steps for m in st.get("missing", [])]}
    return out
