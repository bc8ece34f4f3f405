"""The lens team's decision trees (docs/decisions.md): every branch of seed 004 §10 on planted gates reports,
the steps of seed 003 §20.2 on planted realism and selection outputs, thresholds from config, "cannot decide"
on a missing run or an N/A gate, and the decide stage end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from stronglens.config.settings import SettingsError, Threshold, parse_settings
from stronglens.decisions.matrix_tree import TRAINING_INPUTS_GATE, matrix_decision
from stronglens.decisions.page import render_page
from stronglens.decisions.sequential_tree import sequential_decision
from stronglens.decisions.settings import DecisionTreeSettings, MatrixTreeSettings, SequentialTreeSettings
from stronglens.gates.verdict import gate_record
from stronglens.realism.recall import recall_table, thresholds
from stronglens.selection.tables import completeness_tables
from stronglens.stages import decide

THRESHOLDS = {"auroc": Threshold(0.85), "core_lr_auc": Threshold(0.60, 0.65), "core_reliance": Threshold(0.03, 0.05),
              "theta_e_spread": Threshold(0.15, 0.20)}


def report(run: str, core: float | None = 0.55, reliance: float | None = 0.01, verdict: str = "PASS",
           spread: float | None = 0.10, auroc: float = 0.95, se: float | None = 0.001,
           training_core: float | None = None) -> dict:
    """A gates report with planted figures, in the shape of results/gates/<run>.json."""
    gates = {name: gate_record(name, value, THRESHOLDS) for name, value in
             (("core_lr_auc", core), ("core_reliance", reliance), ("theta_e_spread", spread), ("auroc", auroc))}
    if se is not None:
        gates["auroc"]["se"] = se
    out = {"run": run, "gates": gates, "verdict": {"verdict": verdict}}
    if training_core is not None:
        out["training_inputs"] = {"gates": {"core_lr_auc": gate_record("core_lr_auc", training_core, THRESHOLDS)}}
    return out


def runs(*reports: dict) -> dict[str, dict]:
    return {r["run"]: r for r in reports}


MATRIX = MatrixTreeSettings()


def test_b1_success_and_acceptable():
    out = matrix_decision(runs(report("A1"), report("B1", core=0.55, reliance=0.01)), MATRIX)
    assert out["branch"] == "SUCCESS" and out["selected_run"] == "B1" and out["decided"]
    assert [n["node"] for n in out["nodes"]] == ["start", "b1_success"]
    assert out["nodes"][1]["measured"]["B1.core_lr_auc"] == 0.55
    assert out["nodes"][1]["threshold"] == {"B1.core_lr_auc": "< 0.6", "B1.core_reliance": "< 0.03"}
    for core, reliance in ((0.62, 0.04), (0.65, 0.01), (0.55, 0.04)):
        out = matrix_decision(runs(report("A1"), report("B1", core=core, reliance=reliance)), MATRIX)
        assert out["branch"] == "ACCEPTABLE", (core, reliance)
        assert [n["answer"] for n in out["nodes"]] == ["yes", "no", "yes"]


def test_b1_shortcut_and_the_square_outside_the_tree():
    out = matrix_decision(runs(report("A1"), report("B1", core=0.70, reliance=0.08)), MATRIX)
    assert out["branch"] == "STOP_SHORTCUT" and out["nodes"][-1]["node"] == "b1_shortcut"
    out = matrix_decision(runs(report("A1"), report("B1", core=0.55, reliance=0.08)), MATRIX)
    assert out["branch"] == "OUTSIDE_TREE" and "no branch" in out["next_step"]


def masking(**variants: dict) -> dict[str, dict]:
    base = {"A1": report("A1"), "B1": report("B1", core=0.70, reliance=0.02, verdict="FAIL", spread=0.15)}
    return {**base, **{run: report(run, **kw) for run, kw in variants.items()}}


def test_masking_uses_b3_when_it_passes_with_its_training_time_core_auc():
    reports = masking(B3=dict(core=0.70, training_core=0.52, verdict="PASS"), B2={}, B4={})
    out = matrix_decision(reports, MATRIX)
    assert out["branch"] == "TEST_MASKING_VARIANTS -> USE_B3" and out["selected_run"] == "B3"
    node = out["nodes"][-1]
    assert node["node"] == "scheduled_passes"
    assert node["measured"]["B3.core_lr_auc"] == 0.52 and node["measured"]["B3.core_auc_source"] == TRAINING_INPUTS_GATE
    assert "core dropout" in node["note"]  # its evaluation-input core gate (0.70) is not what the tree used
    # Without the training-time block, or with the preference off, the evaluation-input gate is used: B3 fails it.
    reports["B3"].pop("training_inputs")
    assert matrix_decision(reports, MATRIX)["nodes"][-2]["measured"]["B3.core_auc_source"] == "gates.core_lr_auc"
    reports = masking(B3=dict(core=0.70, training_core=0.52), B2={}, B4={})
    off = parse_settings(MatrixTreeSettings, {"prefer_training_inputs_core_auc": False}, "test")
    assert matrix_decision(reports, off)["leaf"] != "USE_B3"


def test_masking_picks_b2_or_b4_by_theta_e_spread():
    out = matrix_decision(masking(B3=dict(verdict="MARGINAL"), B2=dict(spread=0.12), B4=dict(spread=0.08)), MATRIX)
    assert out["branch"] == "TEST_MASKING_VARIANTS -> USE_B4"
    node = out["nodes"][-1]
    assert node["node"] == "alternative_passes" and node["answer"] == "yes"
    assert node["measured"]["B1.theta_e_spread"] == 0.15 and node["measured"]["B4.theta_e_spread"] == 0.08
    out = matrix_decision(masking(B3=dict(verdict="MARGINAL"), B2=dict(spread=0.12), B4=dict(spread=0.18)), MATRIX)
    assert out["leaf"] == "USE_B2"
    # Passing but no better spread than B1, while meeting the core criteria: outside the seeds' tree.
    out = matrix_decision(masking(B3=dict(verdict="MARGINAL"), B2=dict(spread=0.16), B4=dict(verdict="FAIL")), MATRIX)
    assert out["leaf"] == "OUTSIDE_TREE" and out["nodes"][-1]["node"] == "all_fail_core"


def test_masking_stops_for_a_data_redesign_when_all_fail_the_core_criteria():
    fail = dict(core=0.70, verdict="FAIL")
    out = matrix_decision(masking(B3=fail, B2=dict(fail, reliance=0.06), B4=fail), MATRIX)
    assert out["branch"] == "TEST_MASKING_VARIANTS -> STOP_DATA_REDESIGN"
    assert [n["answer"] for n in out["nodes"][-3:]] == ["no", "no", "yes"]
    assert out["nodes"][-1]["measured"]["B2.core_ok"] is False


def test_a_missing_run_or_an_na_gate_cannot_decide_and_is_named():
    out = matrix_decision(runs(report("B1")), MATRIX)
    assert out["leaf"] == "CANNOT_DECIDE" and out["cannot_decide"]["node"] == "start"
    assert any("run A1" in m for m in out["cannot_decide"]["missing"])
    out = matrix_decision(runs(report("A1"), report("B1", reliance=None)), MATRIX)
    assert out["leaf"] == "CANNOT_DECIDE" and out["nodes"][-1]["answer"] == "cannot decide"
    assert out["cannot_decide"]["missing"] == ["run B1: gate core_reliance is N/A"]
    assert "core_reliance" in out["next_step"]
    out = matrix_decision(masking(B2={}, B4={}), MATRIX)  # B3 never trained
    assert out["branch"] == "TEST_MASKING_VARIANTS -> CANNOT_DECIDE"
    assert out["cannot_decide"]["node"] == "scheduled_passes" and "run B3" in out["cannot_decide"]["missing"][0]
    out = matrix_decision(masking(B3=dict(verdict="FAIL"), B2={}, B4={}, B1=dict(core=0.7, spread=None)), MATRIX)
    assert out["cannot_decide"]["missing"] == ["run B1: gate theta_e_spread is N/A"]
    assert matrix_decision(runs(report("B1")), parse_settings(MatrixTreeSettings, {"diagnostic_run": None}, "t"))["decided"]


def test_matrix_thresholds_and_run_names_come_from_config():
    reports = runs(report("A1"), report("B1", core=0.55, reliance=0.01))
    strict = parse_settings(MatrixTreeSettings, {"core_auc_success": 0.50}, "test")
    assert matrix_decision(reports, MATRIX)["leaf"] == "SUCCESS"
    assert matrix_decision(reports, strict)["leaf"] == "ACCEPTABLE"
    renamed = parse_settings(MatrixTreeSettings, {"baseline_run": "base", "diagnostic_run": "diag"}, "test")
    out = matrix_decision(runs(report("diag"), report("base", core=0.7, reliance=0.09)), renamed)
    assert out["leaf"] == "STOP_SHORTCUT" and "base.core_lr_auc" in out["nodes"][-1]["measured"]


def realism_report(run: str, recall_a: float, n: int = 40) -> dict:
    """A realism report's recall block made by the audit's own recall_table (tier A lenses, planted scores)."""
    k = round(recall_a * n)
    p = np.r_[np.full(k, 0.9), np.full(n - k, 0.1), np.full(10, 0.95)]
    rows = pd.DataFrame({"tier": ["A"] * n + ["B"] * 10, "theta_e_arcsec": 1.2})
    recall = recall_table(p, rows, thresholds(np.zeros(20), (0.3, 0.5), ()), (0.5, 3.0))
    return {"run": run, "recall": recall, "ceiling": {"sersic": {"peak_p>0.3": 0.355}}}


def completeness(fraction_by_cell: dict[int, float], n: int = 20) -> pd.DataFrame:
    """A selection completeness table made by the selection function's own completeness_tables."""
    rows = []
    for cell, frac in fraction_by_cell.items():
        k = round(frac * n)
        for i in range(n):
            rows.append({"variant": "baseline", "cell_id": cell, "injection": i, "theta_e_cell": 0.5 + 0.25 * cell,
                         "psf_fwhm": 1.2, "depth_r": 24.5, "status": "ok", "p": 0.9 if i < k else 0.1,
                         "arc_snr": 10.0, "src_mag_r": 24.5, "beta_frac": 0.5})
    return completeness_tables(pd.DataFrame(rows), {"p>0.3": 0.3, "p>0.5": 0.5}, 0.55, {"baseline": ("broad", "sersic")})


SEQ = SequentialTreeSettings()


def sequential(settings: SequentialTreeSettings = SEQ, *, delta: float = 0.003, se: float = 0.0005,
               recall_a: float = 0.7, cells: dict[int, float] | None = None) -> dict:
    reports = runs(report("B1", auroc=0.95, se=se), report("B2_hn", auroc=0.95 + delta, se=se))
    tables = {"P4": completeness(cells or {0: 0.1, 1: 0.25, 2: 0.05})}
    return sequential_decision(reports, {"P4": realism_report("P4", recall_a)}, tables, {}, settings)


def test_sequential_steps_on_planted_numbers():
    out = sequential()
    assert out["branch"] == ("step1=GENUINE_CONFOUNDER_PROCEED; step2=PASS_PUBLISHABLE; "
                             "step3=REPORT_DETECTABLE_POPULATION; step4=MANUAL")
    s1, s2, s3, s4 = out["nodes"]
    assert s1["measured"]["delta_auroc"] == pytest.approx(0.003)
    assert s1["measured"]["se_delta"] == pytest.approx(0.0005 * np.sqrt(2))
    assert "unpaired" in s1["measured"]["se_method"]
    assert s2["measured"]["P4.tier_A_recall_p>0.5"] == pytest.approx(0.7) and s2["measured"]["n"] == 40
    assert s2["measured"]["ci95"][0] < 0.7 < s2["measured"]["ci95"][1]
    assert "experiments.tsv" in s2["threshold_sets"]  # the realism JSON does not carry the dual sets
    assert s3["measured"]["P4.max_cell_completeness"] == pytest.approx(0.25) and s3["measured"]["max_cell"]["cell_id"] == 1
    assert s3["measured"]["n_cells_above"] == 1 and s3["measured"]["n_cells"] == 3
    assert s4["answer"] == "manual" and s4["measured"]["required_comparisons"] == \
        ["Jacobs+19", "Huang+20", "He+20", "Rojas+22", "Herle+24"]
    assert "cannot be computed" in s4["note"]


def test_sequential_branches_follow_the_numbers_and_the_config():
    # Step 1: a gain within 2 SE of the difference is flat; without the SE rule it counts.
    assert sequential(se=0.002)["nodes"][0]["outcome"] == "FLAT_FOCUS_ON_INJECTION_PRIORS"
    no_se = parse_settings(SequentialTreeSettings, {"auc_significance_se": None}, "test")
    assert sequential(no_se, se=0.002)["nodes"][0]["outcome"] == "GENUINE_CONFOUNDER_PROCEED"
    bigger = parse_settings(SequentialTreeSettings, {"auc_min_improvement": 0.005}, "test")
    assert sequential(bigger)["nodes"][0]["outcome"] == "FLAT_FOCUS_ON_INJECTION_PRIORS"
    # Step 2: recall below the bar, or a stricter bar.
    assert sequential(recall_a=0.6)["nodes"][1]["outcome"] == "INVESTIGATE_FURTHER"
    strict = parse_settings(SequentialTreeSettings, {"recall_min": 0.75}, "test")
    assert sequential(strict)["nodes"][1]["outcome"] == "INVESTIGATE_FURTHER"
    # Step 3: no cell above 20%, or a higher bar, or another threshold name.
    assert sequential(cells={0: 0.1, 1: 0.2})["nodes"][2]["outcome"] == "NO_DETECTABLE_CELL"
    high = parse_settings(SequentialTreeSettings, {"completeness_cell_min": 0.3}, "test")
    assert sequential(high)["nodes"][2]["outcome"] == "NO_DETECTABLE_CELL"
    at_05 = parse_settings(SequentialTreeSettings, {"completeness_threshold": "p>0.5"}, "test")
    assert sequential(at_05)["nodes"][2]["measured"]["P4.max_cell_completeness"] == pytest.approx(0.25)


def test_sequential_cannot_decide_names_what_is_missing():
    out = sequential_decision(runs(report("B1", se=None)), {}, {}, {}, SEQ)
    assert not out["decided"]
    s1, s2, s3, s4 = out["nodes"]
    assert s1["outcome"] == "CANNOT_DECIDE" and any("run B2_hn" in m for m in s1["missing"])
    assert any("gates.auroc.se" in m for m in s1["missing"])
    assert s2["outcome"] == "CANNOT_DECIDE" and "results/realism/P4.json" in s2["missing"][0]
    assert s3["outcome"] == "CANNOT_DECIDE" and "completeness.parquet" in s3["missing"][0]
    assert s4["outcome"] == "MANUAL"
    other = parse_settings(SequentialTreeSettings, {"recall_threshold": 0.7}, "test")
    out = sequential(other)
    assert out["nodes"][1]["outcome"] == "CANNOT_DECIDE" and "'p>0.7'" in out["nodes"][1]["missing"][0]


def test_settings_are_checked():
    assert DecisionTreeSettings().sequential.literature[0] == "Jacobs+19"
    with pytest.raises(SettingsError, match="unknown key 'core_auc_sucess'.*core_auc_success"):
        parse_settings(DecisionTreeSettings, {"matrix": {"core_auc_sucess": 0.5}}, "--config")
    with pytest.raises(SettingsError, match="core_auc_success .* must not exceed"):
        parse_settings(MatrixTreeSettings, {"core_auc_success": 0.7}, "test")
    with pytest.raises(SettingsError, match="distinct"):
        parse_settings(MatrixTreeSettings, {"alternative_runs": ["B3", "B4"]}, "test")


def test_the_page_escapes_text():
    tree = {"tree": "t", "branch": "<b>X</b>", "decided": False, "next_step": "a & b",
            "nodes": [{"node": "n", "question": "<script>alert(1)</script>?", "measured": {"x": 0.123456},
                       "threshold": {"x": "< 0.5"}, "answer": "cannot decide", "missing": ["run <B3>"]}]}
    page = render_page({"matrix": tree, "sequential": {**tree, "decided": True}, "inputs": {}})
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt; 0.5" in page and "run &lt;B3&gt;" in page
    assert "0.1235" in page and 'class="taken"' in page


def write_inputs(tmp_path) -> list[str]:
    """The decide stage's arguments on files planted under tmp_path/results."""
    res = tmp_path / "results"
    (res / "gates").mkdir(parents=True)
    (res / "realism").mkdir()
    (res / "selection" / "P4").mkdir(parents=True)
    reports = [report("A1"), report("B1", core=0.70, reliance=0.02, spread=0.15), report("B2", spread=0.12),
               report("B3", verdict="FAIL", core=0.7), report("B4", spread=0.10), report("B2_hn", auroc=0.96)]
    paths = []
    for r in reports:
        (res / "gates" / f"{r['run']}.json").write_text(json.dumps(r))
        paths.append(str(res / "gates" / f"{r['run']}.json"))
    (res / "realism" / "P4.json").write_text(json.dumps(realism_report("P4", 0.7)))
    completeness({0: 0.1, 1: 0.3}).to_parquet(res / "selection" / "P4" / "completeness.parquet")
    (res / "selection" / "P4" / "summary.json").write_text(json.dumps({"completeness": {"p>0.3": {"completeness": 0.2}},
                                                                         "peak_theta_e": 0.75}))
    return ["--reports", *paths, "--realism", str(res / "realism" / "P4.json"),
            "--selection", str(res / "selection" / "P4" / "completeness.parquet"), str(res / "selection" / "P4" / "summary.json"),
            "--code-hash", "abc", "--out", f"decision={res / 'decision.json'}", f"page={res / 'decision.html'}"]


def test_stage_end_to_end(tmp_path, capsys):
    decide.main(write_inputs(tmp_path))
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["matrix (seed 004 §10): TEST_MASKING_VARIANTS -> USE_B4",
                       "sequential (seed 003 §20.2): step1=GENUINE_CONFOUNDER_PROCEED; step2=PASS_PUBLISHABLE; "
                       "step3=REPORT_DETECTABLE_POPULATION; step4=MANUAL"]
    decision = json.loads((tmp_path / "results" / "decision.json").read_text())
    assert decision["matrix"]["selected_run"] == "B4"
    assert decision["sequential"]["nodes"][2]["context"]["overall_completeness_p>0.3"] == 0.2
    assert decision["provenance"]["code_hash"] == "abc" and decision["provenance"]["config"] == {"decisions": {}}
    assert set(decision["inputs"]["reports"]) == {"A1", "B1", "B2", "B3", "B4", "B2_hn"}
    page = (tmp_path / "results" / "decision.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "USE_B4" in page and "Herle+24" in page


def test_stage_user_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    args = write_inputs(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        decide.main([*args, "--config", '{"matrix": {"core_auc_sucess": 0.5}}'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--config.matrix: unknown key 'core_auc_sucess' (did you mean 'core_auc_success'?)" in err
    missing = str(tmp_path / "results" / "gates" / "B9.json")
    with pytest.raises(SystemExit) as exit_info:
        decide.main(["--reports", missing, *args[args.index("--out"):]])
    assert exit_info.value.code == 2 and f"--reports: {missing} does not exist" in capsys.readouterr().err
    # Run by hand: one line, no traceback.
    proc = subprocess.run([sys.executable, "-m", "stronglens.stages.decide", *args, "--config", '{"sequential": {"recall_min": 2}}'],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "sequential.recall_min = 2 must lie in [0, 1]" in proc.stderr.splitlines()[-1]
