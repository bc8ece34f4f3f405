"""Model gates, metrics and run comparison, probed with hand-made scorers whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import arc_image

from stronglens.data.interventions import mask_core, occlude_arcs, radius_pix
from stronglens.gates.metrics import MetricError, auroc_with_ci, calibration, delong_paired_test, low_fpr, plain_auroc
from stronglens.gates.model_gates import model_gates
from stronglens.gates.runs_table import compare_runs
from stronglens.gates.verdict import gate_record, verdict

SIZE = 33
THETA_E = 1.6  # arcsec: 6.1 px, the arc_image ring radius


def gates_cfg():
    from helpers import gate_settings

    return gate_settings()


def eval_split(n_pairs: int = 60, core_boost: float = 0.0, seed: int = 0):
    """Paired evaluation data: ctrl = host + noise; stamp = ctrl + arc (+ core_boost x host core)."""
    rng = np.random.default_rng(seed)
    r = radius_pix((SIZE, SIZE))
    host = 5.0 * np.exp(-0.5 * (r / 2.5) ** 2)
    stamps, ctrls, rows = [], [], []
    for i in range(n_pairs):
        ctrl = (host[None] * rng.uniform(0.7, 1.3) + rng.standard_normal((3, SIZE, SIZE))).astype(np.float32)
        stamp = ctrl + arc_image(rng, theta_px=THETA_E / 0.262, size=SIZE) + core_boost * host[None] * (r <= 2)
        stamps.append(stamp.astype(np.float32))
        ctrls.append(ctrl)
        for label in (1, 0):
            rows.append({"sample_id": f"{i}:{label}", "host_id": f"h{i}", "label": label, "theta_e_arcsec": THETA_E})
    x = np.stack([im for pair in zip(stamps, ctrls) for im in pair])
    return x, pd.DataFrame(rows), (np.stack(stamps), np.stack(ctrls))


def core_scorer(x: np.ndarray) -> np.ndarray:
    """Reads only the pixels r <= 2: the planted shortcut, nothing else."""
    core = x[..., radius_pix(x.shape[-2:]) <= 2].mean(axis=(1, 2))
    return 1 / (1 + np.exp(-(core - 4.6) * 3))


def arc_scorer(x: np.ndarray) -> np.ndarray:
    """Reads only the arc ring (4.5 <= r <= 8 px): what a lens finder should do."""
    ring = (radius_pix(x.shape[-2:]) >= 4.5) & (radius_pix(x.shape[-2:]) <= 8)
    peak = x[..., ring].max(axis=(1, 2))
    return 1 / (1 + np.exp(-(peak - 4.0) * 2))


def test_a_core_only_scorer_shows_core_reliance_and_masked_drop():
    x, index, pairs = eval_split(core_boost=0.3)
    out = model_gates(core_scorer, x, index, gates_cfg(), 0, pairs, clip=10.0)
    g = out["gates"]
    assert g["auroc"]["value"] > 0.9  # the shortcut alone separates the classes
    assert g["core_reliance"]["value"] > 0.3 and g["core_reliance"]["status"] == "FAIL"
    assert g["core_masked_drop"]["value"] > 0.3 and g["core_masked_drop"]["status"] != "PASS"
    assert out["reported"]["core_sensitivity"]["0"] > out["reported"]["core_sensitivity"]["7"]
    assert g["arc_occlusion_drop"]["status"] != "PASS"  # hiding the arc changes nothing for it


def test_an_arc_scorer_passes_the_core_gates_and_fails_without_its_arc():
    x, index, pairs = eval_split(core_boost=0.0)
    out = model_gates(arc_scorer, x, index, gates_cfg(), 0, pairs, clip=10.0)
    g = out["gates"]
    assert g["auroc"]["value"] > 0.9
    assert g["core_reliance"]["status"] == "PASS" and g["core_masked_drop"]["status"] == "PASS"
    assert g["arc_occlusion_drop"]["value"] > 0.3 and g["arc_occlusion_drop"]["status"] == "PASS"
    # a ring-max scorer still fires on the shuffled arc: hard negatives catch it
    assert g["hardneg_auroc"]["value"] < 0.9 and g["hardneg_mean_p"]["status"] != "PASS"


def test_missing_pairs_make_the_hard_negative_gates_not_applicable():
    x, index, _ = eval_split(n_pairs=20)
    out = model_gates(arc_scorer, x, index, gates_cfg(), 0, None)
    assert out["gates"]["hardneg_auroc"]["status"] == "N/A" and out["gates"]["hardneg_auroc"]["value"] is None
    assert verdict({**out["gates"], **{k: {"status": "PASS"} for k in ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc")}})[
        "verdict"] != "PASS"  # a critical gate could not be checked


def test_a_perfect_scorer_gives_auroc_one_with_its_interval():
    labels = np.r_[np.zeros(50), np.ones(50)]
    res = auroc_with_ci(labels + 0.1 * np.arange(100) / 100, labels)
    assert res["value"] == 1.0 and res["ci"] == [1.0, 1.0] and res["se"] == 0.0


def test_constant_scores_give_auroc_half_without_a_crash():
    labels = np.r_[np.zeros(30), np.ones(20)]
    res = auroc_with_ci(np.full(50, 0.7), labels)
    assert res["value"] == pytest.approx(0.5) and np.isfinite(res["se"])
    x, index, pairs = eval_split(n_pairs=15)
    out = model_gates(lambda im: np.full(len(im), 0.5), x, index, gates_cfg(), 0, pairs)
    assert out["gates"]["auroc"]["value"] == pytest.approx(0.5)
    assert out["gates"]["core_reliance"]["value"] == pytest.approx(0.0)


def test_delong_standard_error_agrees_with_the_bootstrap():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    scores = labels * 1.2 + rng.standard_normal(400)
    se = auroc_with_ci(scores, labels)["se"]
    boot = []
    for _ in range(1500):
        k = rng.integers(0, 400, 400)
        boot.append(plain_auroc(scores[k], labels[k]))
    assert se == pytest.approx(np.std(boot), rel=0.12)
    assert auroc_with_ci(scores, labels)["value"] == pytest.approx(plain_auroc(scores, labels), abs=1e-12)


def test_paired_delong_test_finds_a_real_difference_and_none_between_equals():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 600)
    good = labels * 2.0 + rng.standard_normal(600)
    bad = labels * 0.5 + rng.standard_normal(600)
    assert delong_paired_test(good, bad, labels)["p_value"] < 1e-6
    same = delong_paired_test(good, good, labels)
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_a_one_class_evaluation_split_is_a_clear_error():
    x, index, pairs = eval_split(n_pairs=10)
    keep = (index["label"] == 1).to_numpy()
    with pytest.raises(MetricError, match="10 positives and 0 negatives.*field label"):
        model_gates(arc_scorer, x[keep], index[keep].reset_index(drop=True), gates_cfg(), 0, pairs)


def test_a_calibrated_scorer_has_ece_near_zero_and_a_biased_one_does_not():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 40000)
    labels = (rng.uniform(0, 1, 40000) < p).astype(int)
    assert calibration(p, labels)["ece"] < 0.01
    assert calibration(np.clip(p + 0.2, 0, 1), labels)["ece"] > 0.1


def test_low_fpr_marks_unresolvable_rates():
    rng = np.random.default_rng(4)
    labels = np.r_[np.zeros(200), np.ones(200)]
    out = low_fpr(labels + rng.standard_normal(400), labels, [0.001, 0.01])
    assert out["0.001"]["resolved"] is False and out["0.01"]["resolved"] is True
    assert 0 <= out["0.01"]["tpr"] <= 1


def test_masks_touch_only_their_pixels():
    x = np.ones((2, 3, SIZE, SIZE), np.float32)
    r = radius_pix((SIZE, SIZE))
    m = mask_core(x, 5)
    assert np.all(m[..., r <= 5] == 0) and np.all(m[..., r > 5] == 1)
    o = occlude_arcs(x, np.array([1.0, 2.0]), (0.5, 1.5), fill="zero")
    t = 1.0 / 0.262
    ring = (r >= 0.5 * t) & (r <= 1.5 * t)
    assert np.all(o[0][..., ring] == 0) and np.all(o[0][..., ~ring] == 1)
    assert not np.array_equal(o[0], o[1])
    sky = np.random.default_rng(0).normal(0, 1.5, (1, 3, SIZE, SIZE)).astype(np.float32)
    sky[..., r < 4] += 50.0  # a bright host core inside the ring, none in the outer sky
    filled = occlude_arcs(sky, np.array([1.0]), (0.5, 1.5), seed=1)
    t_ring = (r >= 0.5 / 0.262) & (r <= 1.5 / 0.262)
    assert filled[..., t_ring].max() < 10 and abs(filled[..., t_ring].std() - 1.5) < 0.3
    np.testing.assert_array_equal(filled[..., ~t_ring], sky[..., ~t_ring])


@pytest.mark.parametrize(
    "name, value, status",
    [("core_lr_auc", 0.55, "PASS"), ("core_lr_auc", 0.62, "WARN"), ("core_lr_auc", 0.70, "FAIL"),
     ("annulus_lr_auc", 0.75, "PASS"), ("annulus_lr_auc", 0.6, "WARN"), ("hardneg_mean_p", 0.05, "PASS"),
     ("theta_e_min_auroc", 0.75, "WARN"), ("theta_e_min_auroc", 0.65, "FAIL"), ("auroc", None, "N/A")],
)
def test_gate_record_follows_direction_and_thresholds(name, value, status):
    assert gate_record(name, value, gates_cfg().thresholds)["status"] == status


@pytest.mark.parametrize(
    "core, radial, hardneg, annulus, occlusion, expected",
    [
        ("PASS", "PASS", "PASS", "PASS", "WARN", "PASS"),
        ("PASS", "WARN", "PASS", "PASS", "PASS", "MARGINAL"),
        ("FAIL", "PASS", "PASS", "PASS", "PASS", "FAIL"),
        ("PASS", "PASS", "WARN", "WARN", "WARN", "FAIL"),
    ],
)
def test_verdict_rule(core, radial, hardneg, annulus, occlusion, expected):
    gates = {"core_lr_auc": core, "radial_lr_auc": radial, "annulus_lr_auc": annulus, "arc_occlusion_drop": occlusion,
             "hardneg_auroc": hardneg, "hardneg_mean_p": "PASS"}
    assert verdict({k: {"status": v} for k, v in gates.items()})["verdict"] == expected


def fake_run(name: str, ids: list[str], p: np.ndarray, labels: np.ndarray, lr: float):
    report = {"run": name, "eval_split": "test", "verdict": {"verdict": "PASS"},
              "gates": {g: {"value": 0.5, "status": "PASS"} for g in
                        ("auroc", "core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "core_masked_drop", "core_reliance",
                         "hardneg_auroc", "hardneg_mean_p", "arc_occlusion_drop", "theta_e_min_auroc", "theta_e_spread")}}
    scores = pd.DataFrame({"sample_id": ids, "split": "test", "label": labels, "p": p})
    info = {"run_config": {"name": name, "train": {"lr": lr}}}
    return report, scores, info


def test_compare_runs_tests_the_auroc_difference_and_diffs_settings():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 300)
    ids = [f"s{i}" for i in range(300)]
    a = fake_run("a", ids, labels * 2.0 + rng.standard_normal(300), labels, 0.001)
    b = fake_run("b", ids[::-1], (labels * 0.3 + rng.standard_normal(300))[::-1], labels[::-1], 0.01)  # other row order
    out = compare_runs(a, b)
    assert out["n_samples"] == 300 and out["delong"]["difference"] > 0.2 and out["delong"]["p_value"] < 1e-6
    assert out["settings_diff"] == {"name": {"a": "a", "b": "b"}, "train.lr": {"a": 0.001, "b": 0.01}}


def test_compare_runs_scored_on_different_samples_uses_the_unpaired_test():
    labels = np.r_[np.zeros(10), np.ones(10)]
    a = fake_run("a", [f"s{i}" for i in range(20)], labels, labels, 0.1)
    b = fake_run("b", [f"t{i}" for i in range(20)], labels, labels, 0.1)
    out = compare_runs(a, b)
    assert out["test"] == "unpaired DeLong" and out["n_shared"] == 0 and "different test samples" in out["note"]
    assert out["delong"]["difference"] == 0 and out["delong"]["p_value"] == 1.0
