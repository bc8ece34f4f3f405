"""Gates that can fail: N/A for features constant by construction, the radial check under residual
preprocessing (issue 17), and the verdict's accounting of both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from helpers import gate_thresholds

from stronglens.data.normalise import preprocess_and_rings
from stronglens.data.settings import PreprocessSettings
from stronglens.gates.model_free import data_gates
from stronglens.gates.settings import DataGateSettings
from stronglens.gates.verdict import data_verdict, verdict, verdict_label
from stronglens.physics.pixels import radius_map_pix

SIZE = 48
RESIDUAL = PreprocessSettings(mode="residual_radial_profile", annulus=(16.0, 24.0), clip=10.0, stretch="none")
RAW = PreprocessSettings(mode="raw_robust", annulus=(16.0, 24.0), clip=10.0, stretch="none")
GATES = DataGateSettings(core_px=10, annulus_px=(8.0, 14.0), folds=5, max_samples=10_000, theta_e_bins=(0.5, 3.0))


def thin_arc(rng: np.random.Generator, r: np.ndarray, theta_px: float = 11.0) -> np.ndarray:
    """(3, SIZE, SIZE) arc of radius theta_px spanning 50 degrees, peak 2 sky sigmas: outside the 10 x 10 core
    square and a seventh of its ring, so it barely moves the ring's median."""
    yy, xx = np.indices((SIZE, SIZE)) - SIZE // 2
    phase = rng.uniform(-np.pi, np.pi)
    ring = 2.0 * np.exp(-0.5 * (r - theta_px) ** 2) * (np.cos(np.arctan2(yy, xx) - phase) > np.cos(np.radians(25)))
    return ring[None] * np.array([0.6, 1.0, 1.2])[:, None, None]


def paired_sample(n_hosts: int, core_change: float, seed: int = 3, with_arc: bool = True) -> tuple[torch.Tensor, pd.DataFrame]:
    """Stamp and ctrl of n_hosts galaxies on Gaussian sky: the stamp adds an arc (unless with_arc is False), and,
    when core_change > 0, an isotropic Gaussian brightening of the galaxy's core (sigma 1.5 px, peak
    core_change in sky sigmas)."""
    rng = np.random.default_rng(seed)
    r = radius_map_pix(SIZE).numpy()
    images, rows = [], []
    for h in range(n_hosts):
        galaxy = rng.uniform(5, 15) * np.exp(-r / rng.uniform(2, 4))
        ctrl = galaxy[None] * np.array([0.6, 1.0, 1.3])[:, None, None] + rng.standard_normal((3, SIZE, SIZE))
        arc = thin_arc(rng, r) if with_arc else 0.0
        core = core_change * np.exp(-0.5 * (r / 1.5) ** 2)
        stamp = ctrl + arc + core[None]
        for label, img in ((1, stamp), (0, ctrl)):
            images.append(img)
            rows.append({"host_id": f"h{h}", "label": label, "theta_e_arcsec": 1.8 if label else np.nan})
    return torch.from_numpy(np.stack(images)), pd.DataFrame(rows)


def gates_of(x: torch.Tensor, index: pd.DataFrame, pp: PreprocessSettings) -> dict:
    y, rings = preprocess_and_rings(x, pp)
    return data_gates(y.numpy().astype(np.float32), index, GATES, gate_thresholds(), pp.clip, 0, rings.numpy())


def test_the_radial_gate_is_not_applicable_under_residual_preprocessing_never_pass():
    x, index = paired_sample(60, core_change=0.0)
    out = gates_of(x, index, RESIDUAL)
    radial = out["gates"]["radial_lr_auc"]
    assert radial["status"] == "N/A" and radial["value"] is None and "constant" in radial["reason"]
    assert out["gates"]["annulus_lr_auc"]["status"] == "PASS"  # the arcs are there to be found
    # the known limit (docs/gates.md): a thin arc alone moves its ring's median enough for the check to fire
    assert out["gates"]["radial_pre_lr_auc"]["value"] > 0.8


def test_the_pre_subtraction_radial_check_passes_when_the_classes_do_not_differ():
    x, index = paired_sample(60, core_change=0.0, with_arc=False)  # stamp = ctrl: no difference at all
    out = gates_of(x, index, RESIDUAL)
    assert out["gates"]["radial_pre_lr_auc"]["status"] == "PASS" and out["gates"]["radial_pre_lr_auc"]["value"] < 0.55


def test_a_planted_isotropic_core_change_fails_the_new_radial_check_under_residual_preprocessing():
    x, index = paired_sample(60, core_change=3.0)
    out = gates_of(x, index, RESIDUAL)
    assert out["gates"]["radial_lr_auc"]["status"] == "N/A"  # the model input no longer shows the profile
    pre = out["gates"]["radial_pre_lr_auc"]
    assert pre["status"] == "FAIL" and pre["value"] > 0.9
    assert data_verdict(out["gates"]) == "FAIL"
    gates = {**{k: {"status": "PASS"} for k in ("core_lr_auc", "annulus_lr_auc", "hardneg_auroc", "hardneg_mean_p",
                                               "arc_occlusion_drop")},
             "radial_lr_auc": out["gates"]["radial_lr_auc"], "radial_pre_lr_auc": pre}
    v = verdict(gates)
    assert v["radial_basis"] == "radial_pre_lr_auc" and v["status"]["radial_lr_auc"] == "FAIL"
    assert v["verdict"] == "FAIL" and "radial_lr_auc" in v["not_applicable"]


def test_raw_preprocessing_keeps_the_radial_gate_on_the_model_input():
    x, index = paired_sample(60, core_change=3.0)
    out = gates_of(x, index, RAW)
    assert out["gates"]["radial_lr_auc"]["status"] == "FAIL"
    gates = {k: {"status": "PASS"} for k in ("core_lr_auc", "annulus_lr_auc", "hardneg_auroc", "hardneg_mean_p",
                                             "arc_occlusion_drop", "radial_pre_lr_auc")}
    assert verdict({**gates, "radial_lr_auc": out["gates"]["radial_lr_auc"]})["radial_basis"] == "radial_lr_auc"


def test_a_critical_gate_not_applicable_caps_the_verdict_and_is_labelled():
    gates = {k: {"status": "PASS"} for k in ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "arc_occlusion_drop",
                                             "hardneg_auroc")}
    gates["hardneg_mean_p"] = {"status": "N/A", "note": "no stamp/ctrl pairs"}
    v = verdict(gates)
    assert v["verdict"] == "MARGINAL" and v["n_pass"] == 4 and v["n_critical_pass"] == 2
    assert v["not_applicable"] == {"hardneg_mean_p": "no stamp/ctrl pairs"}
    assert verdict_label(v) == "MARGINAL (4/5 verdict gates, 2/3 critical pass)"


def test_the_profile_file_holds_what_residual_preprocessing_subtracts():
    x, _ = paired_sample(4, core_change=1.0)
    y_res, rings_res = preprocess_and_rings(x, RESIDUAL)
    y_raw, rings_raw = preprocess_and_rings(x, PreprocessSettings(mode="raw_robust", annulus=(16.0, 24.0), clip=None,
                                                                  stretch="none"))
    assert torch.allclose(rings_res, rings_raw)  # the profile of the normalised image, before any subtraction
    r = radius_map_pix(SIZE).round().long()
    inside = r <= SIZE // 2
    rebuilt = (y_res + rings_res[..., r.clamp(max=SIZE // 2)])[..., inside]
    assert torch.allclose(rebuilt.clamp(-10, 10), y_raw[..., inside].clamp(-10, 10), atol=1e-5)
