"""Runs side by side: the experiments table and the comparison of two runs.

`experiments_table` flattens each run's key settings (run_info.json) and gate
figures (results/gates/<run>.json) into one row, like `dvc exp show`.
`compare_runs` tests the difference of two runs' evaluation AUROCs (DeLong:
paired when both were scored on the same samples, unpaired, as two
independent samples, otherwise), and gives the settings that differ and the
change of every gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.gates.metrics import delong_paired_test, delong_unpaired_test

SETTINGS = {
    "dataset": ("dataset",), "pairing": ("pairing",), "preprocessing": ("preprocessing",), "model": ("model",),
    "seed": ("seed",), "epochs": ("train", "epochs"), "lr": ("train", "lr"), "batch": ("train", "batch_size"),
    "hardneg_ratio": ("train", "hard_negatives", "ratio"),
}
GATE_COLUMNS = ("auroc", "core_lr_auc", "radial_lr_auc", "radial_pre_lr_auc", "annulus_lr_auc", "core_masked_drop",
                "core_reliance", "hardneg_auroc", "hardneg_mean_p", "arc_occlusion_drop", "theta_e_min_auroc", "theta_e_spread")


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
    row["replicate_of"] = run.get("replicate_of")
    row["pretrained"] = run.get("pretrained")
    row["ensemble"] = "+".join(run["ensemble"]["members"]) + f" ({run['ensemble'].get('combine', 'mean')})" if run.get("ensemble") else None
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
    row["n_critical_pass"] = f"{report['verdict']['n_critical_pass']}/{report['verdict']['of_critical']}"
    row["radial_basis"] = report["verdict"]["radial_basis"]
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
    return pd.DataFrame(with_replicate_summaries(rows))


def with_replicate_summaries(rows: list[dict]) -> list[dict]:
    """The rows, each replicated run's group (the run itself and the rows whose `replicate_of` names it)
    followed by one summary row: 'mean +- std' (std over seeds, ddof 1) of every numeric figure, the statuses
    counted (e.g. 'PASS 2/3, WARN 1/3'), shared settings kept."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("replicate_of"):
            groups.setdefault(row["replicate_of"], [])
    for row in rows:
        base = row.get("replicate_of") or row["run"]
        if base in groups:
            groups[base].append(row)
    out: list[dict] = []
    for row in rows:
        out.append(row)
        base = row.get("replicate_of") or row["run"]
        if base in groups and row is groups[base][-1]:
            out.append(replicate_summary(base, groups[base]))
    return out


def replicate_summary(base: str, group: list[dict]) -> dict:
    """One summary row of a replicated run's rows (see `with_replicate_summaries`)."""
    summary: dict = {"run": f"{base} (mean +- std, {len(group)} seeds)", "replicate_of": base}
    for key in group[0]:
        if key in summary:
            continue
        values = [r.get(key) for r in group]
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None]
        if key == "seed":
            summary[key] = ",".join(str(v) for v in values)
        elif len(numeric) == len(values) and key not in ("best_epoch", "replicate"):
            arr = np.asarray(numeric, dtype=np.float64)
            summary[key] = f"{arr.mean():.4f} +- {arr.std(ddof=1) if len(arr) > 1 else 0.0:.4f}"
        elif key.endswith("_status") or key == "verdict":
            counts = pd.Series(values).value_counts()
            summary[key] = ", ".join(f"{s} {n}/{len(values)}" for s, n in counts.items())
        elif all(v == values[0] for v in values):
            summary[key] = values[0]
        else:  # differing text (e.g. n_pass "2/5" and "3/5"): each value with its count
            counts = pd.Series([str(v) for v in values]).value_counts()
            summary[key] = ", ".join(f"{v} x{n}" for v, n in counts.items())
    return summary


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(flatten(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def evaluation_scores(report: dict, scores: pd.DataFrame) -> pd.DataFrame:
    """The run's evaluation-split rows of its score table, indexed by sample_id, checked usable for an AUROC.

    Raises ValueError naming the run and the field for: missing columns, no
    rows of the split, duplicated sample_id, labels other than 0/1, a split
    with one class only, and non-finite scores (field p).
    """
    run, split = report["run"], report["eval_split"]
    missing = [c for c in ("sample_id", "split", "label", "p") if c not in scores.columns]
    if missing:
        raise ValueError(f"run {run}: score table lacks column(s) {', '.join(missing)}: field {missing[0]}")
    ev = scores[scores["split"] == split]
    if ev.empty:
        raise ValueError(f"run {run}: no scores for its evaluation split {split!r} "
                         f"(splits present: {sorted(map(str, set(scores['split'])))}): field split")
    dup = ev["sample_id"].duplicated()
    if dup.any():
        raise ValueError(f"run {run}: {int(dup.sum())} duplicated {split} sample(s), e.g. {ev.loc[dup, 'sample_id'].iloc[0]!r}: "
                         "field sample_id")
    if not ev["label"].isin([0, 1]).all():
        raise ValueError(f"run {run}: {split} labels other than 0/1 (or missing): field label")
    n_pos, n_neg = int((ev["label"] == 1).sum()), int((ev["label"] == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"run {run}: its {split} split has {n_pos} positives and {n_neg} negatives; an AUROC needs both: "
                         "field label")
    bad = ~np.isfinite(pd.to_numeric(ev["p"], errors="coerce").to_numpy(dtype=np.float64))
    if bad.any():
        raise ValueError(f"run {run}: {int(bad.sum())} non-finite {split} scores (NaN or inf): field p")
    return ev.set_index("sample_id")


def auroc_difference(rep_a: dict, sc_a: pd.DataFrame, rep_b: dict, sc_b: pd.DataFrame) -> dict:
    """DeLong test of AUROC(a) - AUROC(b) on each run's evaluation split, paired when the samples are the same.

    Paired ("paired DeLong") when both evaluation tables hold the same
    sample_ids (and so the same split); otherwise unpaired ("unpaired
    DeLong") on each run's own evaluation samples, with a note of why. Also
    returns n_samples (samples in the test: shared ones when paired, n_a +
    n_b when unpaired), n_samples_a, n_samples_b, n_shared and split (the
    common evaluation split, None when they differ).
    """
    ea, eb = evaluation_scores(rep_a, sc_a), evaluation_scores(rep_b, sc_b)
    split_a, split_b = rep_a["eval_split"], rep_b["eval_split"]
    common = ea.index.intersection(eb.index)
    counts = {"n_samples_a": int(len(ea)), "n_samples_b": int(len(eb)), "n_shared": int(len(common)),
              "split": split_a if split_a == split_b else None}
    if split_a == split_b and len(common) == len(ea) == len(eb):
        labels = ea.loc[common, "label"].to_numpy()
        if not np.array_equal(labels, eb.loc[common, "label"].to_numpy()):
            raise ValueError(f"runs {rep_a['run']} and {rep_b['run']} disagree on the labels of the same {split_a} samples: "
                             "field label")
        test = delong_paired_test(ea.loc[common, "p"].to_numpy(), eb.loc[common, "p"].to_numpy(), labels)
        return {"test": test["test"], "note": None, "n_samples": int(len(common)), **counts, "delong": test}
    test = delong_unpaired_test(ea["p"].to_numpy(), ea["label"].to_numpy(), eb["p"].to_numpy(), eb["label"].to_numpy())
    where = (f"on different splits ({rep_a['run']}: {split_a}, {rep_b['run']}: {split_b})" if split_a != split_b
             else f"on different {split_a} samples")
    note = (f"runs {rep_a['run']} and {rep_b['run']} were scored {where}: {len(ea)} and {len(eb)} samples, "
            f"{len(common)} shared (e.g. another dataset or pairing), so there is no sample-by-sample pairing; the AUROCs "
            "are compared as two independent samples (unpaired DeLong, variance var_a + var_b).")
    if len(common):
        note += (f" The {len(common)} shared samples correlate the two AUROCs, which this test ignores "
                 "(conservative when the correlation is positive, the usual case).")
    return {"test": test["test"], "note": note, "n_samples": int(len(ea) + len(eb)), **counts, "delong": test}


def compare_runs(a: tuple[dict, pd.DataFrame, dict], b: tuple[dict, pd.DataFrame, dict]) -> dict:
    """DeLong test of AUROC(a) - AUROC(b) (see `auroc_difference`), settings diff, gate deltas.

    a and b are (gates report, score table, run_info). Runs scored on
    different samples are compared with the unpaired test, never refused;
    unusable scores (none for the split, one class, NaN) raise ValueError
    naming the run and field.
    """
    (rep_a, sc_a, info_a), (rep_b, sc_b, info_b) = a, b
    auc = auroc_difference(rep_a, sc_a, rep_b, sc_b)
    fa, fb = flatten(info_a["run_config"]), flatten(info_b["run_config"])
    diff = {k: {"a": fa.get(k), "b": fb.get(k)} for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}
    ga, gb = rep_a["gates"], rep_b["gates"]  # a gate added after one report was written is None there
    gates = {name: {"a": ga.get(name, {}).get("value"), "b": gb.get(name, {}).get("value"),
                    "status_a": ga.get(name, {}).get("status"), "status_b": gb.get(name, {}).get("status")}
             for name in GATE_COLUMNS}
    return {"a": rep_a["run"], "b": rep_b["run"], **auc, "splits": {"a": rep_a["eval_split"], "b": rep_b["eval_split"]},
            "settings_diff": diff, "gates": gates,
            "verdicts": {"a": rep_a["verdict"]["verdict"], "b": rep_b["verdict"]["verdict"]}}
