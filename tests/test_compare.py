"""Comparing two trained runs: unpaired DeLong, the paired / unpaired choice of compare_runs, completeness deltas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stronglens.gates.metrics import MetricError, delong_paired_test, delong_unpaired_test, plain_auroc
from stronglens.gates.runs_table import GATE_COLUMNS, compare_runs
from stronglens.selection.deltas import completeness_delta, newcombe_interval, read_completeness, wilson_interval
from stronglens.selection.recovery import completeness_table


def fake_run(name: str, ids: list[str], p: np.ndarray, labels: np.ndarray, split: str = "test"):
    report = {"run": name, "eval_split": split, "verdict": {"verdict": "PASS"},
              "gates": {g: {"value": 0.5, "status": "PASS"} for g in GATE_COLUMNS}}
    scores = pd.DataFrame({"sample_id": ids, "split": split, "label": labels, "p": p})
    info = {"run_config": {"name": name, "dataset": f"d_{name}"}}
    return report, scores, info


def synthetic(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, n)
    return labels * shift + rng.standard_normal(n), labels


# --- unpaired DeLong -------------------------------------------------------------------------------------------------


def test_unpaired_delong_se_matches_an_independent_bootstrap():
    rng = np.random.default_rng(11)
    sa, la = synthetic(rng, 400, 1.2)
    sb, lb = synthetic(rng, 300, 0.7)
    res = delong_unpaired_test(sa, la, sb, lb)
    boot = np.empty(2000)
    for i in range(len(boot)):  # each sample resampled on its own: the two are independent
        ia, ib = rng.integers(0, len(sa), len(sa)), rng.integers(0, len(sb), len(sb))
        boot[i] = plain_auroc(sa[ia], la[ia]) - plain_auroc(sb[ib], lb[ib])
    assert res["se"] == pytest.approx(np.std(boot), rel=0.12)
    assert res["difference"] == pytest.approx(plain_auroc(sa, la) - plain_auroc(sb, lb), abs=1e-12)
    assert res["test"] == "unpaired DeLong"
    assert (res["n_pos_a"], res["n_neg_a"]) == (int(la.sum()), int((la == 0).sum()))
    assert (res["n_pos_b"], res["n_neg_b"]) == (int(lb.sum()), int((lb == 0).sum()))
    assert res["n_pos"] == res["n_pos_a"] + res["n_pos_b"]
    assert set(delong_paired_test(sa, sa, la)) <= set(res)


def test_unpaired_delong_finds_a_real_difference_and_none_between_equals():
    rng = np.random.default_rng(12)
    sa, la = synthetic(rng, 600, 2.0)
    sb, lb = synthetic(rng, 500, 0.3)
    assert delong_unpaired_test(sa, la, sb, lb)["p_value"] < 1e-6
    same = delong_unpaired_test(sa, la, sa, la)
    assert same["difference"] == 0 and same["p_value"] == 1.0 and same["se"] > 0


def test_unpaired_delong_refuses_a_single_class_sample():
    with pytest.raises(MetricError, match="scores b has 5 positives and 0 negatives"):
        delong_unpaired_test(np.arange(10.0), np.r_[np.zeros(5), np.ones(5)], np.arange(5.0), np.ones(5))


# --- compare_runs ----------------------------------------------------------------------------------------------------


def test_compare_runs_keeps_the_paired_test_on_the_same_samples():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 300)
    ids = [f"s{i}" for i in range(300)]
    pa, pb = labels * 2.0 + rng.standard_normal(300), labels * 0.3 + rng.standard_normal(300)
    out = compare_runs(fake_run("a", ids, pa, labels), fake_run("b", ids[::-1], pb[::-1], labels[::-1]))
    assert out["test"] == out["delong"]["test"] == "paired DeLong" and out["note"] is None
    assert out["n_samples"] == out["n_shared"] == 300 and out["split"] == "test"
    assert out["delong"] == delong_paired_test(pa, pb, labels)


def test_compare_runs_on_different_samples_uses_the_unpaired_test():
    rng = np.random.default_rng(6)
    sa, la = synthetic(rng, 200, 2.0)
    sb, lb = synthetic(rng, 150, 0.5)
    a = fake_run("A1", [f"pair{i}" for i in range(200)], sa, la)
    b = fake_run("B1", [f"cut{i}" for i in range(150)], sb, lb)
    out = compare_runs(a, b)
    assert out["test"] == out["delong"]["test"] == "unpaired DeLong"
    assert (out["n_samples_a"], out["n_samples_b"], out["n_shared"], out["n_samples"]) == (200, 150, 0, 350)
    assert "A1" in out["note"] and "different test samples" in out["note"]
    assert out["delong"] == delong_unpaired_test(sa, la, sb, lb)
    assert out["settings_diff"]["dataset"] == {"a": "d_A1", "b": "d_B1"}


def test_compare_runs_on_different_splits_or_partial_overlap_is_unpaired():
    rng = np.random.default_rng(7)
    s, lab = synthetic(rng, 100, 1.0)
    ids = [f"s{i}" for i in range(100)]
    out = compare_runs(fake_run("a", ids, s, lab, "test"), fake_run("b", ids, s, lab, "val"))
    assert out["test"] == "unpaired DeLong" and out["split"] is None and out["splits"] == {"a": "test", "b": "val"}
    assert "different splits" in out["note"]
    part = compare_runs(fake_run("a", ids, s, lab), fake_run("b", ids[:80], s[:80], lab[:80]))
    assert part["test"] == "unpaired DeLong" and part["n_shared"] == 80 and "80 shared samples correlate" in part["note"]


@pytest.mark.parametrize("breakage, message", [
    ("nan", "run b: 1 non-finite test scores .*field p"),
    ("one_class", "run b: its test split has 0 positives and 20 negatives.*field label"),
    ("no_split", "run b: no scores for its evaluation split 'test'.*field split"),
])
def test_compare_runs_names_the_run_and_field_of_unusable_scores(breakage, message):
    labels = np.r_[np.zeros(10), np.ones(10)]
    ids = [f"s{i}" for i in range(20)]
    p = np.linspace(0, 1, 20)
    report, scores, info = fake_run("b", ids, p, labels)
    if breakage == "nan":
        scores.loc[3, "p"] = np.nan
    elif breakage == "one_class":
        scores["label"] = 0
    else:
        scores["split"] = "val"
    with pytest.raises(ValueError, match=message):
        compare_runs(fake_run("a", ids, p, labels), (report, scores, info))


# --- completeness deltas ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_newcombe_interval_always_contains_its_estimate(n):
    ks = sorted({0, 1, n - 1, n} & set(range(n + 1)))
    for k_a in ks:
        for k_b in ks:
            for n_b in (n, 3 * n + 1):
                for kb in {min(k_b, n_b), n_b}:
                    d, lo, hi = newcombe_interval(k_a, n, kb, n_b)
                    assert -1 <= lo <= d <= hi <= 1, (k_a, n, kb, n_b, lo, d, hi)
                    assert d == pytest.approx(k_a / n - kb / n_b)
    lo, hi = wilson_interval(np.array([0, n]), np.array([n, n]))
    assert lo[0] == 0 and hi[1] == 1


def test_newcombe_interval_matches_newcombes_worked_example():
    # Newcombe 1998, Table II example (56/70 vs 48/80): method 10 gives 0.0524 to 0.3339.
    d, lo, hi = newcombe_interval(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.0524, abs=5e-4) and hi == pytest.approx(0.3339, abs=5e-4)


def injections(rows: list[tuple[float, float, int, int]], seed: int) -> pd.DataFrame:
    """Ok injections (theta_e_cell, psf_fwhm, n, k): k of n score 0.9, the rest 0.1."""
    out = []
    for cell_id, (te, psf, n, k) in enumerate(rows):
        for j in range(n):
            out.append({"cell_id": cell_id, "theta_e_cell": te, "psf_fwhm": psf, "injection": j, "status": "ok",
                        "p": 0.9 if j < k else 0.1, "arc_snr": 10.0})
    return pd.DataFrame(out)


def stage_table(inj: pd.DataFrame, thr: dict[str, float]) -> pd.DataFrame:
    """A completeness table shaped like the selection stage's (grouping columns in front)."""
    frames = []
    for level, by in (("cell", ["cell_id", "theta_e_cell", "psf_fwhm"]), ("theta_e", ["theta_e_cell"])):
        tab = completeness_table(inj, by, thr)
        for col, val in (("level", level), ("subset", "all"), ("prior", "broad"), ("source_model", "sersic"),
                         ("variant", "baseline")):
            tab.insert(0, col, val)
        frames.append(tab)
    return pd.concat(frames, ignore_index=True)


def test_completeness_delta_per_cell_and_pooled_with_empty_cells_kept_empty(tmp_path):
    thr = {"p>0.5": 0.5}
    # run a: cell (1.0, 1.2) has no ok injection; run b numbers its cells differently and lacks (2.0, 1.2)
    inj_a = injections([(1.0, 1.0, 20, 20), (1.0, 1.2, 0, 0), (1.5, 1.0, 30, 0), (2.0, 1.2, 10, 5)], 1)
    inj_a = pd.concat([inj_a, pd.DataFrame([{"cell_id": 1, "theta_e_cell": 1.0, "psf_fwhm": 1.2, "injection": 0,
                                             "status": "failed", "reason": "host: x"}])], ignore_index=True)
    inj_b = injections([(1.5, 1.0, 25, 1), (1.0, 1.2, 8, 4), (1.0, 1.0, 20, 19)], 2)
    comp_a, comp_b = stage_table(inj_a, thr), stage_table(inj_b, thr)
    comp_a.to_parquet(tmp_path / "completeness.parquet")
    out = completeness_delta(read_completeness(tmp_path), comp_b, names=("A", "B"))
    json.dumps(out)  # JSON-ready
    cells = {(c["theta_e_cell"], c["psf_fwhm"]): c for c in out["cells"] if c["level"] == "cell"}
    assert set(cells) == {(1.0, 1.0), (1.0, 1.2), (1.5, 1.0)} and out["n_unmatched_a"] == 2 and out["n_unmatched_b"] == 0
    empty = cells[(1.0, 1.2)]
    assert empty["empty"] and empty["empty_in"] == ["a"] and empty["delta"] is None and empty["ci"] is None
    assert empty["completeness_a"] is None and empty["completeness_b"] == 0.5
    full = cells[(1.0, 1.0)]  # k = n against k = n - 1
    assert full["delta"] == pytest.approx(1 - 19 / 20) and full["ci"][0] <= full["delta"] <= full["ci"][1]
    zero = cells[(1.5, 1.0)]  # k = 0 against k = 1
    assert zero["delta"] == pytest.approx(-1 / 25) and zero["ci"][0] <= zero["delta"] <= zero["ci"][1]
    assert (full["cell_id_a"], full["cell_id_b"]) == (0, 2)
    (pooled,) = out["overall"]
    assert pooled["n_cells"] == 2 and pooled["n_cells_empty"] == 1
    assert (pooled["n_detected_a"], pooled["n_ok_a"], pooled["n_detected_b"], pooled["n_ok_b"]) == (20, 50, 20, 45)
    assert pooled["delta"] == pytest.approx(20 / 50 - 20 / 45) and pooled["ci"][0] <= pooled["delta"] <= pooled["ci"][1]
    marg = [c for c in out["cells"] if c["level"] == "theta_e"]
    assert {c["theta_e_cell"] for c in marg} == {1.0, 1.5}  # 2.0 (its cell and its marginal) only in run a


def test_completeness_delta_of_a_cell_empty_in_both_runs_is_empty_not_zero():
    thr = {"p>0.5": 0.5}
    inj = injections([(1.0, 1.0, 10, 3)], 1)
    inj = pd.concat([inj, pd.DataFrame([{"cell_id": 1, "theta_e_cell": 2.0, "psf_fwhm": 1.0, "injection": 0,
                                         "status": "failed", "reason": "preprocess: x"}])], ignore_index=True)
    table = completeness_table(inj, ["cell_id", "theta_e_cell", "psf_fwhm"], thr)
    out = completeness_delta(table, table)
    empty = next(c for c in out["cells"] if c["theta_e_cell"] == 2.0)
    assert empty["empty"] and empty["empty_in"] == ["a", "b"] and empty["delta"] is None
    (pooled,) = out["overall"]
    assert pooled["delta"] == 0 and pooled["n_cells"] == 1 and pooled["n_cells_empty"] == 1


# --- the stage -------------------------------------------------------------------------------------------------------


def test_compare_stage_writes_the_unpaired_test_and_the_completeness_delta(tmp_path, capsys):
    from stronglens.stages.compare import main

    rng = np.random.default_rng(8)
    args = []
    for name, n, shift in (("A1", 120, 2.0), ("B1", 90, 1.0)):
        s, lab = synthetic(rng, n, shift)
        report, scores, info = fake_run(name, [f"{name}{i}" for i in range(n)], s, lab)
        (tmp_path / f"{name}.json").write_text(json.dumps(report))
        scores.to_parquet(tmp_path / f"{name}.scores.parquet")
        (tmp_path / f"{name}.info.json").write_text(json.dumps(info))
        sel = tmp_path / "selection" / name
        sel.mkdir(parents=True)
        stage_table(injections([(1.0, 1.0, 20, 15 if name == "A1" else 10), (2.0, 1.0, 10, 5)], 1),
                    {"p>0.5": 0.5}).to_parquet(sel / "completeness.parquet")
        args += [f"--{'a' if name == 'A1' else 'b'}", str(tmp_path / f"{name}.json"),
                 str(tmp_path / f"{name}.scores.parquet"), str(tmp_path / f"{name}.info.json")]
    out = tmp_path / "compare" / "A1--B1.json"
    main([*args, "--selection", str(tmp_path / "selection" / "A1"), str(tmp_path / "selection" / "B1"), "--out", str(out)])
    res = json.loads(out.read_text())
    assert res["test"] == "unpaired DeLong" and res["n_samples_a"] == 120 and res["n_samples_b"] == 90
    cd = res["completeness_delta"]
    assert cd["runs"] == {"a": "A1", "b": "B1"} and cd["overall"][0]["delta"] == pytest.approx(20 / 30 - 15 / 30)
    assert cd["n_empty"] == 0 and cd["n_cells"] == 4
    printed = capsys.readouterr().out.splitlines()
    assert "unpaired DeLong" in printed[0] and "+0.167" in printed[1] and len(printed) == 3
    main([*args[:8], "--out", str(out)])  # without --selection: as before
    assert "completeness_delta" not in json.loads(out.read_text())
