"""The D01 decision (seed 003 §§15, 20, 29) as gates, dual threshold sets and one GO / NO-GO line.

Gate statuses are PASS, BORDERLINE or FAIL (N/A when a figure is missing);
every threshold comes from `DecisionSettings`. The seeds' four D01 gates:

* data_quality: split-balance KS p-values (PASS at or above the pass
  p-value, FAIL below the fail one) and the flagged-cutout share (FAIL
  above its limit); the worse of the two;
* annulus_impact: |recall change| at p > 0.3 under the alternative annulus
  (PASS at or below pass, FAIL above fail). The seeds read a fragile model
  as "GO for a retrain with the corrected annulus" (their -3.6 pp sits in
  BORDERLINE with the default 2 / 5 pp);
* beta_frac_ceiling: peak detection at p > 0.3 over the ceiling's magnitude
  bins, first source model (PASS at or above pass, FAIL below fail; the
  seeds' 35.5% is BORDERLINE with 40 / 30%);
* realism: probe AUC real vs injection and FD(real, inj) / FD(real, neg),
  first source model (PASS below pass, FAIL above fail); the worse of the
  two.

The dual sets of seed 003 §20.1 (`decide`, applied by the experiments
table, which also reads the gates report and the selection summary): set 1 (reviewer 1) needs AUROC, tier A
recall at p > 0.3, the ceiling and the main-map completeness (the
selection function's at p > 0.3) at or above their thresholds; set 2
(reviewer 2) tier A recall at p > 0.5. The overall line is GO when data
quality and realism do not FAIL and at least one set is met, NO-GO
otherwise, with every reason listed. This combination is the project's,
written down so that it can be argued with; the seeds applied their trees
by hand.
"""

from __future__ import annotations

from stronglens.realism.settings import DecisionSettings, Threshold, ThresholdSetSettings

ORDER = {"PASS": 0, "BORDERLINE": 1, "FAIL": 2}


def worst(*statuses: str) -> str:
    known = [s for s in statuses if s in ORDER]
    return max(known, key=ORDER.get) if known else "N/A"


def upper_gate(value: float | None, t: Threshold) -> str:
    """PASS when value <= pass, FAIL when value > fail, else BORDERLINE (a lower value is better)."""
    if value is None:
        return "N/A"
    if value <= t.passes:
        return "PASS"
    return "FAIL" if t.fail is not None and value > t.fail else "BORDERLINE"


def lower_gate(value: float | None, t: Threshold) -> str:
    """PASS when value >= pass, FAIL when value < fail, else BORDERLINE (a higher value is better)."""
    if value is None:
        return "N/A"
    if value >= t.passes:
        return "PASS"
    return "FAIL" if t.fail is not None and value < t.fail else "BORDERLINE"


def d01_gates(quality: dict, fragility: dict, ceiling_peak: float | None, probe_auc: float | None,
              fd_ratio: float | None, cfg: DecisionSettings) -> dict:
    """The four D01 gates with their values, thresholds and statuses."""
    ks_p = [quality["split_balance"][c]["p_value"] for c in ("psfsize_r", "psfdepth_r")]
    ks_min = min((p for p in ks_p if p is not None), default=None)
    balance = lower_gate(ks_min, Threshold(cfg.split_balance_ks_p, cfg.split_balance_ks_fail))
    pixels = "FAIL" if quality["bad_pixels"]["flagged_share"] > cfg.flagged_share else "PASS"
    drop = fragility["scoring"].get("p>0.3", {}).get("recall_delta")
    return {
        "data_quality": {"status": worst(balance, pixels), "split_balance_min_ks_p": ks_min, "split_balance": balance,
                         "flagged_share": quality["bad_pixels"]["flagged_share"], "bad_pixels": pixels,
                         "thresholds": {"ks_pass": cfg.split_balance_ks_p, "ks_fail": cfg.split_balance_ks_fail,
                                        "flagged_share": cfg.flagged_share}},
        "annulus_impact": {"status": upper_gate(None if drop is None else abs(drop), cfg.annulus_recall_drop),
                           "value": drop, "thresholds": _t(cfg.annulus_recall_drop)},
        "beta_frac_ceiling": {"status": lower_gate(ceiling_peak, cfg.ceiling), "value": ceiling_peak,
                              "thresholds": _t(cfg.ceiling)},
        "realism": {"status": worst(upper_gate(probe_auc, cfg.probe_auc), upper_gate(fd_ratio, cfg.fd_ratio)),
                    "probe_auc": probe_auc, "probe_status": upper_gate(probe_auc, cfg.probe_auc),
                    "fd_ratio": fd_ratio, "fd_status": upper_gate(fd_ratio, cfg.fd_ratio),
                    "thresholds": {"probe_auc": _t(cfg.probe_auc), "fd_ratio": _t(cfg.fd_ratio)}},
    }


def _t(t: Threshold) -> dict:
    return {"pass": t.passes, "fail": t.fail}


def _criterion(value: float | None, threshold: float) -> dict:
    return {"value": value, "threshold": threshold, "met": None if value is None else bool(value >= threshold)}


def threshold_sets(auroc: float | None, tier_a_p03: float | None, tier_a_p05: float | None,
                   ceiling_peak: float | None, main_map: float | None, cfg: ThresholdSetSettings) -> dict:
    """The two reviewers' threshold sets: each criterion's value and whether it is met (None when unknown)."""
    sets = {
        "set_1": {"auroc": _criterion(auroc, cfg.auroc), "tier_a_recall_p>0.3": _criterion(tier_a_p03, cfg.tier_a_recall_p03),
                  "bright_arc_ceiling": _criterion(ceiling_peak, cfg.ceiling),
                  "main_map_completeness": _criterion(main_map, cfg.main_map_completeness)},
        "set_2": {"tier_a_recall_p>0.5": _criterion(tier_a_p05, cfg.tier_a_recall_p05)},
    }
    for crit in sets.values():
        crit["met"] = all(c["met"] is True for c in crit.values())
    return sets


def overall(gates: dict, sets: dict) -> dict:
    """GO when data quality and realism do not FAIL and a threshold set is met; NO-GO with the reasons otherwise."""
    reasons = [f"{g}: FAIL" for g in ("data_quality", "realism") if gates[g]["status"] == "FAIL"]
    if not any(s["met"] for s in sets.values()):
        missing = [f"{name}.{k}" for name, s in sets.items() for k, c in s.items() if k != "met" and c["met"] is not True]
        reasons.append("no threshold set met (" + ", ".join(missing) + ")")
    return {"decision": "NO-GO" if reasons else "GO", "reasons": reasons,
            "rule": "GO = data_quality and realism not FAIL, and set_1 or set_2 met"}


def decide(realism: dict, gates_report: dict, selection_summary: dict | None, cfg: ThresholdSetSettings) -> dict:
    """A run's threshold sets and GO / NO-GO from its realism report, its gates report (evaluation AUROC) and,
    when it has one, its selection summary (main-map completeness at p > 0.3)."""
    auroc = gates_report.get("gates", {}).get("auroc", {}).get("value")
    main_map = None
    if selection_summary is not None:
        main_map = selection_summary["completeness"].get("p>0.3", {}).get("completeness")
    tier_a = realism["recall"]["tiers"]["A"]
    main = next(iter(realism["ceiling"]))
    sets = threshold_sets(auroc, tier_a.get("p>0.3", {}).get("recall"), tier_a.get("p>0.5", {}).get("recall"),
                          realism["ceiling"][main]["peak_p>0.3"], main_map, cfg)
    return {"threshold_sets": sets, **overall(realism["d01"], sets)}
