"""Runs side by side: the experiments table and the comparison of two runs.

`experiments_table` flattens each run's key settings (run_info.json) and gate
figures (results/gates/<run>.json) into one row, like `dvc exp show`.
`compare_runs` gives the paired DeLong test of two runs' AUROCs on the samples
both were evaluated on (it refuses runs evaluated on different samples), the
settings that differ and the change of every gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.gates.metrics import delong_paired_test

SETTINGS = {
    "dataset": ("dataset",), "pairing": ("pairing",), "preprocessing": ("preprocessing",), "model": ("model",),
    "seed": ("seed",), "epochs": ("train", "epochs"), "lr": ("train", "lr"), "batch": ("train", "batch_size"),
    "hardneg_ratio": ("train", "hard_negatives", "ratio"),
}
GATE_COLUMNS = ("auroc", "core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "core_masked_drop", "core_reliance",
                "hardneg_auroc", "hardneg_mean_p", "arc_occlusion_drop", "theta_e_min_auroc", "theta_e_spread")


def _get(d: dict, path: tuple[str, ...]):
    for key in path:
        d = d.get(key) if isinstance(d, dict) else None
    return d


def core_dropout_text(run: dict) -> str:
    sched = run["train"]["core_dropout"]["schedule"]
    return ";".join(f"r{e['radius']:g}p{e['p']:g}" + (f"<{e['until_epoch']}" if e.get("until_epoch") else "")
                    for e in sched) or "none"


def experiment_row(report: dict, info: dict) -> dict:
    run = info["run_config"]
    row = {"run": run["name"]}
    row.update({k: _get(run, path) for k, path in SETTINGS.items()})
    row["core_dropout"] = core_dropout_text(run)
    row["best_epoch"] = info["best_epoch"]
    row["val_auroc"] = report["reported"]["auroc_val"]["value"]
    a = report["gates"]["auroc"]
    row["auroc_ci95"] = f"[{a['ci'][0]:.4f}, {a['ci'][1]:.4f}]"
    for name in GATE_COLUMNS:
        g = report["gates"][name]
        row[name] = g["value"]
        row[f"{name}_status"] = g["status"]
    fprs = report["reported"]["low_fpr"]
    for f, rec in fprs.items():
        row[f"tpr_at_fpr_{f}"] = rec["tpr"]
    row["ece"] = report["reported"]["calibration"]["all"]["ece"]
    row["verdict"] = report["verdict"]["verdict"]
    row["n_pass"] = f"{report['verdict']['n_pass']}/{report['verdict']['of']}"
    row["config_sha256"] = info["config_sha256"][:12]
    return row


def realism_columns(realism: dict | None, decision: dict | None) -> dict:
    """The realism audit's headline figures and its decision (`realism.decision.decide`) for the experiments
    table ("not audited" when a run has none)."""
    if realism is None or decision is None:
        return {"realism_decision": "not audited"}
    tier_a = realism["recall"]["tiers"]["A"]
    main = next(iter(realism["probe"]["by_model"]))
    return {"realism_decision": decision["decision"], "realism_reasons": "; ".join(decision["reasons"]),
            **{f"{name}_met": s["met"] for name, s in decision["threshold_sets"].items()},
            "tier_a_recall_p03": tier_a["p>0.3"]["recall"], "tier_a_recall_p05": tier_a.get("p>0.5", {}).get("recall"),
            f"probe_auc_{main}": realism["probe"]["by_model"][main]["probe"]["auc_mean"],
            "fd_ratio": realism["probe"]["fd_ratio"],
            **{f"d01_{g}": v["status"] for g, v in realism["d01"].items()}}


def experiments_table(pairs: list[tuple[dict, dict]], realism: dict[str, dict] | None = None,
                      decisions: dict[str, dict] | None = None) -> pd.DataFrame:
    """One row per run; with `realism` and `decisions` (run -> realism report, run -> decision) the audit's
    headline figures and GO / NO-GO beside."""
    rows = [experiment_row(r, i) for r, i in pairs]
    if realism is not None:
        rows = [{**row, **realism_columns(realism.get(row["run"]), (decisions or {}).get(row["run"]))} for row in rows]
    return pd.DataFrame(rows)


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(flatten(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def compare_runs(a: tuple[dict, pd.DataFrame, dict], b: tuple[dict, pd.DataFrame, dict]) -> dict:
    """DeLong test of AUROC(a) - AUROC(b) on their common evaluation samples, settings diff, gate deltas."""
    (rep_a, sc_a, info_a), (rep_b, sc_b, info_b) = a, b
    split = rep_a["eval_split"]
    if rep_b["eval_split"] != split:
        raise ValueError(f"runs were gated on different splits: {rep_a['run']} on {split}, {rep_b['run']} on {rep_b['eval_split']}")
    ea = sc_a[sc_a["split"] == split].set_index("sample_id")
    eb = sc_b[sc_b["split"] == split].set_index("sample_id")
    common = ea.index.intersection(eb.index)
    if len(common) < max(len(ea), len(eb)):
        raise ValueError(f"runs {rep_a['run']} and {rep_b['run']} were not scored on the same {split} samples "
                         f"({len(ea)} and {len(eb)} samples, {len(common)} shared): field sample_id. A paired test "
                         "needs the same dataset and pairing.")
    labels = ea.loc[common, "label"].to_numpy()
    if not np.array_equal(labels, eb.loc[common, "label"].to_numpy()):
        raise ValueError("the two runs' score tables disagree on labels: field label")
    test = delong_paired_test(ea.loc[common, "p"].to_numpy(), eb.loc[common, "p"].to_numpy(), labels)
    fa, fb = flatten(info_a["run_config"]), flatten(info_b["run_config"])
    diff = {k: {"a": fa.get(k), "b": fb.get(k)} for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}
    gates = {name: {"a": rep_a["gates"][name]["value"], "b": rep_b["gates"][name]["value"],
                    "status_a": rep_a["gates"][name]["status"], "status_b": rep_b["gates"][name]["status"]}
             for name in GATE_COLUMNS}
    return {"a": rep_a["run"], "b": rep_b["run"], "split": split, "n_samples": int(len(common)), "delong": test,
            "settings_diff": diff, "gates": gates,
            "verdicts": {"a": rep_a["verdict"]["verdict"], "b": rep_b["verdict"]["verdict"]}}
