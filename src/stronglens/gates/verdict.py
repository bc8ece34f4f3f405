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


def verdict(gates: dict) -> dict:
    """docs/science.md section 7: PASS if every critical gate passes and >= 4 of the 5 pass; MARGINAL if 3 of 5
    pass with no critical FAIL; FAIL otherwise. `hardneg` passes when both its gates pass."""
    hn = [gates["hardneg_auroc"]["status"], gates["hardneg_mean_p"]["status"]]
    status = {k: gates[k]["status"] for k in VERDICT_GATES if k != "hardneg"}
    status["hardneg"] = ("PASS" if all(s == "PASS" for s in hn) else "FAIL" if "FAIL" in hn
                         else "N/A" if "N/A" in hn else "WARN")
    n_pass = sum(s == "PASS" for s in status.values())
    critical = [status[k] for k in CRITICAL]
    if all(s == "PASS" for s in critical) and n_pass >= 4:
        overall = "PASS"
    elif n_pass >= 3 and "FAIL" not in critical:
        overall = "MARGINAL"
    else:
        overall = "FAIL"
    return {"verdict": overall, "n_pass": n_pass, "of": len(VERDICT_GATES), "status": status,
            "critical": list(CRITICAL)}


DATA_GATES = ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc")  # the model-free gates, on data alone
DATA_CRITICAL = ("core_lr_auc", "radial_lr_auc")


def data_verdict(gates: dict) -> str:
    """Verdict of the model-free data gates alone: FAIL if a critical gate (core, radial) fails, WARN if any
    gate warns (or cannot be computed), PASS otherwise."""
    statuses = [g["status"] for g in gates.values()]
    if any(gates[k]["status"] == "FAIL" for k in DATA_CRITICAL):
        return "FAIL"
    return "PASS" if all(s == "PASS" for s in statuses) else "WARN"
