"""The experiment-matrix decision tree of seed 004 §10, applied to the runs' gates reports.

The seeds' tree, with its thresholds from `MatrixTreeSettings`::

    After A1 and B1 complete:
    B1 core AUC < 0.60 and core_reliance < 0.03        -> SUCCESS (use B1, proceed to full training)
    B1 core AUC 0.60-0.65 and core_reliance < 0.05     -> ACCEPTABLE (use B1 with monitoring)
    B1 core AUC > 0.65 but core_reliance < 0.05        -> TEST_MASKING_VARIANTS (B2, B3, B4):
        B3 (scheduled) passes all criteria             -> USE_B3
        B2 or B4 passes with a better theta_E spread   -> USE_B2 / USE_B4
        all fail the core criteria                     -> STOP_DATA_REDESIGN
    B1 core AUC > 0.65 and core_reliance > 0.05        -> STOP_SHORTCUT (the model exploits a shortcut)

How the project reads it (docs/decisions.md):

* "core AUC" is the run's ``core_lr_auc`` gate (5-fold LR on the central
  pixels of its evaluation inputs). Core dropout masks training inputs only,
  so for a masking variant the tree prefers the core LR AUC on its
  training-time inputs (``training_inputs.gates.core_lr_auc``) when the
  report has one, and records which figure it used;
* core AUC < success with core_reliance in [success, acceptable) is
  ACCEPTABLE (the seeds' tree leaves that square empty; it meets the
  ACCEPTABLE bounds); a core AUC at exactly the acceptable bound is
  ACCEPTABLE ("0.60-0.65"); core_reliance at exactly the acceptable bound
  counts as not below it;
* the "core criteria" of a variant are the ACCEPTABLE bounds; "passes all
  criteria" is the gates verdict PASS and the core criteria; "better
  theta_E spread" is a lower ``theta_e_spread`` gate than B1's (the lowest
  wins among B2 / B4, ties to the configured order);
* two squares the seeds' tree does not cover end in OUTSIDE_TREE with the
  reason: B1 core AUC <= 0.65 with core_reliance >= 0.05, and a masking
  branch where some variant meets the core criteria but none passes all
  criteria with a better theta_E spread;
* a missing run, verdict or N/A gate ends the tree at that node with
  CANNOT_DECIDE, naming what is missing: no branch is taken on a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from stronglens.decisions.nodes import CANNOT_DECIDE, NO, YES, Missing, finite, fmt, gate_value, node, verdict_of
from stronglens.decisions.settings import MatrixTreeSettings

TREE = "seed 004 §10"
TRAINING_INPUTS_GATE = "training_inputs.gates.core_lr_auc"
EVAL_GATE = "gates.core_lr_auc"
NEXT = {
    "SUCCESS": "Use the {b} configuration and proceed to full training.",
    "ACCEPTABLE": "Use the {b} configuration with monitoring of the core gates.",
    "STOP_SHORTCUT": "Stop: {b} exploits a core shortcut (core LR AUC and core_reliance both fail); redesign before "
                     "training further.",
    "STOP_DATA_REDESIGN": "Stop: every masking variant fails the core criteria; the data need a redesign.",
}


def core_auc(reports: Mapping[str, dict], run: str, variant: bool, settings: MatrixTreeSettings,
             missing: Missing) -> tuple[float | None, str]:
    """(core LR AUC, where it was read) of a run: a masking variant's training-time inputs when preferred and
    present, else the evaluation-input gate."""
    report = reports.get(run)
    if variant and settings.prefer_training_inputs_core_auc and report is not None:
        block = report.get("training_inputs", {}).get("gates", {}).get("core_lr_auc")
        if isinstance(block, Mapping):
            value = finite(block.get("value"))
            if value is not None and block.get("status") != "N/A":
                return value, TRAINING_INPUTS_GATE
            value = gate_value(reports, run, "core_lr_auc", missing)
            return value, f"{EVAL_GATE} ({TRAINING_INPUTS_GATE} is N/A)"
    return gate_value(reports, run, "core_lr_auc", missing), EVAL_GATE


def _meets(core: float | None, reliance: float | None, auc_max: float, reliance_max: float, auc_inclusive: bool) -> bool:
    assert core is not None and reliance is not None
    return (core <= auc_max if auc_inclusive else core < auc_max) and reliance < reliance_max


def _result(nodes: list[dict], branch: str, leaf: str, next_step: str, selected: str | None = None) -> dict:
    out = {"tree": TREE, "nodes": nodes, "branch": branch, "leaf": leaf, "decided": leaf != CANNOT_DECIDE,
           "selected_run": selected, "next_step": next_step}
    if leaf == CANNOT_DECIDE:
        out["cannot_decide"] = {"node": nodes[-1]["node"], "missing": nodes[-1].get("missing", [])}
    return out


def _cannot(nodes: list[dict], prefix: str = "") -> dict:
    last = nodes[-1]
    what = "; ".join(last.get("missing", []))
    return _result(nodes, prefix + CANNOT_DECIDE, CANNOT_DECIDE,
                   f"Cannot decide at node {last['node']}: {what}. Provide it and run the decision again.")


def matrix_decision(reports: Mapping[str, dict], settings: MatrixTreeSettings) -> dict:
    """Apply seed 004 §10 to gates reports (run name -> results/gates/<run>.json contents).

    Returns ``{"tree", "nodes": [node records], "branch", "leaf", "decided", "selected_run", "next_step"}``
    (plus ``cannot_decide: {node, missing}`` when the tree stopped); see the module docstring for the
    reading of each node.
    """
    s = settings
    b = s.baseline_run
    nodes: list[dict] = []

    # Start: A1 and B1 complete.
    needed = [r for r in (s.diagnostic_run, b) if r]
    missing = Missing()
    for r in needed:
        if r not in reports:
            missing.add(f"run {r}: no gates report (results/gates/{r}.json)")
    measured: dict = {f"{r}.report": "present" if r in reports else "missing" for r in needed}
    if s.diagnostic_run and s.diagnostic_run in reports:  # the diagnostic baseline, for the record
        a = reports[s.diagnostic_run]
        measured[f"{s.diagnostic_run}.core_lr_auc"] = finite(a.get("gates", {}).get("core_lr_auc", {}).get("value"))
        measured[f"{s.diagnostic_run}.verdict"] = a.get("verdict", {}).get("verdict")
    nodes.append(node("start", f"Have {' and '.join(needed)} completed (a gates report each)?", measured,
                      {f"{r}.report": "present" for r in needed}, YES, missing))
    if missing:
        return _cannot(nodes)

    missing = Missing()
    core = gate_value(reports, b, "core_lr_auc", missing)
    reliance = gate_value(reports, b, "core_reliance", missing)
    measured = {f"{b}.core_lr_auc": core, f"{b}.core_reliance": reliance, f"{b}.core_auc_source": EVAL_GATE}

    def b1_node(name: str, question: str, threshold: dict, answer: bool) -> bool:
        nodes.append(node(name, question, measured, threshold, YES if answer else NO, missing))
        return answer

    acc, rel_acc = fmt(s.core_auc_acceptable), fmt(s.core_reliance_acceptable)
    success_q = f"{b} core AUC < {fmt(s.core_auc_success)} and core_reliance < {fmt(s.core_reliance_success)}?"
    success_t = {f"{b}.core_lr_auc": f"< {fmt(s.core_auc_success)}", f"{b}.core_reliance": f"< {fmt(s.core_reliance_success)}"}
    if missing:
        b1_node("b1_success", success_q, success_t, False)
        return _cannot(nodes)
    assert core is not None and reliance is not None
    if b1_node("b1_success", success_q, success_t, _meets(core, reliance, s.core_auc_success, s.core_reliance_success, False)):
        return _result(nodes, "SUCCESS", "SUCCESS", NEXT["SUCCESS"].format(b=b), b)
    if b1_node("b1_acceptable", f"{b} core AUC <= {acc} and core_reliance < {rel_acc}?",
               {f"{b}.core_lr_auc": f"<= {acc}", f"{b}.core_reliance": f"< {rel_acc}"},
               _meets(core, reliance, s.core_auc_acceptable, s.core_reliance_acceptable, True)):
        return _result(nodes, "ACCEPTABLE", "ACCEPTABLE", NEXT["ACCEPTABLE"].format(b=b), b)
    if b1_node("b1_masking", f"{b} core AUC > {acc} but core_reliance < {rel_acc}?",
               {f"{b}.core_lr_auc": f"> {acc}", f"{b}.core_reliance": f"< {rel_acc}"},
               core > s.core_auc_acceptable and reliance < s.core_reliance_acceptable):
        return masking_branch(reports, s, nodes)
    if b1_node("b1_shortcut", f"{b} core AUC > {acc} and core_reliance >= {rel_acc}?",
               {f"{b}.core_lr_auc": f"> {acc}", f"{b}.core_reliance": f">= {rel_acc}"}, core > s.core_auc_acceptable):
        return _result(nodes, "STOP_SHORTCUT", "STOP_SHORTCUT", NEXT["STOP_SHORTCUT"].format(b=b))
    return _result(nodes, "OUTSIDE_TREE", "OUTSIDE_TREE",
                   f"{b} has core LR AUC {core:.4g} <= {fmt(s.core_auc_acceptable)} but core_reliance {reliance:.4g} >= "
                   f"{fmt(s.core_reliance_acceptable)}: seed 004 §10 has no branch for this; inspect the core "
                   "sensitivity curve by hand (masking r = 7 px also hides small-theta_E arcs).")


def _variant(reports: Mapping[str, dict], run: str, s: MatrixTreeSettings, missing: Missing) -> dict:
    """A masking variant's figures: verdict, core LR AUC (and its source), core_reliance."""
    verdict = verdict_of(reports, run, missing)
    core, source = core_auc(reports, run, True, s, missing)
    reliance = gate_value(reports, run, "core_reliance", missing)
    out = {"verdict": verdict, "core_lr_auc": core, "core_auc_source": source, "core_reliance": reliance}
    if core is not None and reliance is not None:
        out["core_ok"] = _meets(core, reliance, s.core_auc_acceptable, s.core_reliance_acceptable, True)
        out["passes_all"] = bool(verdict == "PASS" and out["core_ok"])
    return out


def _measured(run: str, v: dict) -> dict:
    return {f"{run}.{k}": v[k] for k in ("verdict", "core_lr_auc", "core_auc_source", "core_reliance") if k in v}


def _criteria(run: str, s: MatrixTreeSettings) -> dict:
    return {f"{run}.verdict": "PASS", f"{run}.core_lr_auc": f"<= {fmt(s.core_auc_acceptable)}",
            f"{run}.core_reliance": f"< {fmt(s.core_reliance_acceptable)}"}


def _verdict_note(reports: Mapping[str, dict], run: str, v: dict) -> dict:
    """A note when the verdict counted an evaluation-input core gate that the tree itself did not use."""
    if v.get("core_auc_source") != TRAINING_INPUTS_GATE or run not in reports:
        return {}
    status = reports[run].get("gates", {}).get("core_lr_auc", {}).get("status")
    if status in ("WARN", "FAIL"):
        return {"note": f"{run}'s verdict counts its evaluation-input core_lr_auc ({status}), which core dropout does "
                        f"not change; the tree's core criteria use {TRAINING_INPUTS_GATE}"}
    return {}


def masking_branch(reports: Mapping[str, dict], s: MatrixTreeSettings, nodes: list[dict]) -> dict:
    """The TEST_MASKING_VARIANTS subtree: scheduled variant first, then the alternatives by theta_E spread."""
    pre = "TEST_MASKING_VARIANTS -> "
    b, sched = s.baseline_run, s.scheduled_run

    missing = Missing()
    v = _variant(reports, sched, s, missing)
    nodes.append(node("scheduled_passes", f"Does {sched} (scheduled masking) pass all criteria (verdict PASS, core LR AUC "
                      f"<= {fmt(s.core_auc_acceptable)}, core_reliance < {fmt(s.core_reliance_acceptable)})?",
                      _measured(sched, v), _criteria(sched, s), YES if v.get("passes_all") else NO, missing,
                      **_verdict_note(reports, sched, v)))
    if missing:
        return _cannot(nodes, pre)
    if v["passes_all"]:
        return _result(nodes, pre + f"USE_{sched}", f"USE_{sched}",
                       f"Use the {sched} configuration (scheduled core masking) and proceed to full training.", sched)
    variants = {sched: v}

    missing = Missing()
    for run in s.alternative_runs:
        variants[run] = _variant(reports, run, s, missing)
    passing = [r for r in s.alternative_runs if variants[r].get("passes_all")]
    spreads: dict[str, float | None] = {}
    if passing:
        for r in (b, *passing):
            spreads[r] = gate_value(reports, r, "theta_e_spread", missing)
    measured: dict = {}
    for r in s.alternative_runs:
        measured.update(_measured(r, variants[r]))
    measured.update({f"{r}.theta_e_spread": spreads[r] for r in spreads})
    better = [] if missing else [r for r in passing if spreads[r] < spreads[b]]  # type: ignore[operator]
    threshold = {k: t for r in s.alternative_runs for k, t in _criteria(r, s).items()}
    threshold.update({f"{r}.theta_e_spread": f"< {b}.theta_e_spread" for r in s.alternative_runs})
    notes = [n["note"] for r in s.alternative_runs if (n := _verdict_note(reports, r, variants[r]))]
    alts = " or ".join(s.alternative_runs)
    nodes.append(node("alternative_passes", f"Does {alts} pass all criteria with a better (lower) theta_E spread than {b}?",
                      measured, threshold, YES if better else NO, missing, **({"note": "; ".join(notes)} if notes else {})))
    if missing:
        return _cannot(nodes, pre)
    if better:
        pick = min(better, key=lambda r: (spreads[r], s.alternative_runs.index(r)))
        return _result(nodes, pre + f"USE_{pick}", f"USE_{pick}",
                       f"Use the {pick} configuration: it passes all criteria with theta_E spread {spreads[pick]:.4g} "
                       f"against {b}'s {spreads[b]:.4g}.", pick)

    order = (sched, *s.alternative_runs)
    core_ok = [r for r in order if variants[r]["core_ok"]]
    measured = {f"{r}.core_ok": variants[r]["core_ok"] for r in order}
    measured.update({f"{r}.core_lr_auc": variants[r]["core_lr_auc"] for r in order})
    measured.update({f"{r}.core_reliance": variants[r]["core_reliance"] for r in order})
    nodes.append(node("all_fail_core", f"Do all of {', '.join(order)} fail the core criteria (core LR AUC <= "
                      f"{fmt(s.core_auc_acceptable)} and core_reliance < {fmt(s.core_reliance_acceptable)})?",
                      measured, {f"{r}.core_ok": "false" for r in order}, NO if core_ok else YES))
    if not core_ok:
        return _result(nodes, pre + "STOP_DATA_REDESIGN", "STOP_DATA_REDESIGN", NEXT["STOP_DATA_REDESIGN"])
    return _result(nodes, pre + "OUTSIDE_TREE", "OUTSIDE_TREE",
                   f"{', '.join(core_ok)} meet(s) the core criteria but no masking variant passes all criteria with a "
                   f"better theta_E spread than {b}: seed 004 §10 has no branch for this; decide by hand.")
