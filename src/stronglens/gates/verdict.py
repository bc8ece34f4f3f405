"""The one place gate statuses and verdicts are decided (docs/science.md section 7).

Thresholds are never written here: they come from the config's
`gates.thresholds` (pass, and fail where the spec gives one), so the data
gates, a run's model gates and every table that reads them agree. What is
fixed here is each gate's direction and the verdict rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from stronglens.gates.settings import Threshold

# gate -> pass direction. above: value > pass; at_least: >=; below: <; at_most: <=.
# A fail threshold, where the spec gives one, is crossed strictly on the other side; in between is WARN.
DIRECTIONS = {
    "auroc": "above",
    "core_lr_auc": "below",
    "radial_lr_auc": "below",
    "radial_pre_lr_auc": "below",
    "annulus_lr_auc": "at_least",
    "core_masked_drop": "below",
    "core_reliance": "below",
    "hardneg_auroc": "above",
    "hardneg_mean_p": "at_most",
    "arc_occlusion_drop": "at_least",
    "theta_e_min_auroc": "above",
    "theta_e_spread": "below",
}
CRITICAL = ("core_lr_auc", "radial_lr_auc", "hardneg")
VERDICT_GATES = ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "hardneg", "arc_occlusion_drop")


def gate_record(name: str, value: float | None, thresholds: Mapping[str, Threshold]) -> dict:
    """A gate's record: value, thresholds, direction and PASS / WARN / FAIL (N/A when it cannot be computed).

    thresholds: gate name -> Threshold (`gates.thresholds`, parsed by `stronglens.gates.settings`).
    """
    direction = DIRECTIONS[name]
    ok, bad = thresholds[name].passes, thresholds[name].fail
    record = {"value": value, "pass_threshold": ok, "fail_threshold": bad, "direction": direction}
    if value is None or not np.isfinite(value):
        return {**record, "value": None, "status": "N/A"}
    passes = {"above": value > ok, "at_least": value >= ok, "below": value < ok, "at_most": value <= ok}[direction]
    fails = bad is not None and (value < bad if direction in ("above", "at_least") else value > bad)
    return {**record, "status": "PASS" if passes else ("FAIL" if fails else "WARN")}


def radial_slot(gates: dict) -> str:
    """The gate that fills the verdict's radial slot: `radial_lr_auc` (the model input's azimuthal median
    profile) unless it is N/A, then `radial_pre_lr_auc` (the same profile before residual_radial_profile
    subtracts it) when that one was measured."""
    if gates["radial_lr_auc"]["status"] == "N/A" and gates.get("radial_pre_lr_auc", {}).get("status", "N/A") != "N/A":
        return "radial_pre_lr_auc"
    return "radial_lr_auc"


def verdict(gates: dict) -> dict:
    """docs/science.md section 7: PASS if every critical gate passes and >= 4 of the 5 pass; MARGINAL if 3 of 5
    pass with no critical FAIL; FAIL otherwise. `hardneg` passes when both its gates pass.

    N/A (a gate that cannot be computed, or whose features are constant by construction) counts as not
    passed, never as PASS: a critical gate N/A therefore caps the verdict at MARGINAL. The radial slot is
    filled by `radial_slot`; `radial_basis` names the gate used and `not_applicable` every N/A gate's reason.
    """
    hn = [gates["hardneg_auroc"]["status"], gates["hardneg_mean_p"]["status"]]
    basis = radial_slot(gates)
    status = {k: gates[basis if k == "radial_lr_auc" else k]["status"] for k in VERDICT_GATES if k != "hardneg"}
    status["hardneg"] = ("PASS" if all(s == "PASS" for s in hn) else "FAIL" if "FAIL" in hn
                         else "N/A" if "N/A" in hn else "WARN")
    n_pass = sum(s == "PASS" for s in status.values())
    critical = [status[k] for k in CRITICAL]
    n_critical_pass = sum(s == "PASS" for s in critical)
    if all(s == "PASS" for s in critical) and n_pass >= 4:
        overall = "PASS"
    elif n_pass >= 3 and "FAIL" not in critical:
        overall = "MARGINAL"
    else:
        overall = "FAIL"
    not_applicable = {k: g.get("reason") or g.get("note") or "cannot be computed" for k, g in gates.items()
                      if isinstance(g, dict) and g.get("status") == "N/A"}
    return {"verdict": overall, "n_pass": n_pass, "of": len(VERDICT_GATES), "status": status,
            "critical": list(CRITICAL), "n_critical_pass": n_critical_pass, "of_critical": len(CRITICAL),
            "radial_basis": basis, "not_applicable": not_applicable}


def verdict_label(v: dict) -> str:
    """One-line verdict for figures and tables: 'PASS (4/5 verdict gates, 3/3 critical pass)'."""
    crit = f", {v['n_critical_pass']}/{v['of_critical']} critical" if "n_critical_pass" in v else ""
    return f"{v['verdict']} ({v['n_pass']}/{v['of']} verdict gates{crit} pass)"


DATA_GATES = ("core_lr_auc", "radial_lr_auc", "radial_pre_lr_auc", "annulus_lr_auc")  # the model-free gates
DATA_CRITICAL = ("core_lr_auc", "radial_lr_auc")


def data_verdict(gates: dict) -> str:
    """Verdict of the model-free data gates alone: FAIL if a critical gate (core, radial slot) fails, WARN if any
    gate warns or a critical one is N/A, PASS otherwise. An N/A non-critical gate (radial_lr_auc under residual
    preprocessing, its slot then read from radial_pre_lr_auc) does not count."""
    slot = {"core_lr_auc": gates["core_lr_auc"]["status"], "radial_lr_auc": gates[radial_slot(gates)]["status"]}
    others = [g["status"] for k, g in gates.items() if k not in DATA_CRITICAL and k != "radial_pre_lr_auc"]
    if "FAIL" in slot.values():
        return "FAIL"
    return "PASS" if all(s == "PASS" for s in [*slot.values(), *others]) else "WARN"
