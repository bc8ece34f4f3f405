"""The realism audit's statistics, catalog, embeddings, morphology and decision, on planted cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from stronglens.realism.catalog import CatalogError, check_rows, load_catalog
from stronglens.realism.decision import d01_gates, decide, lower_gate, overall, threshold_sets, upper_gate
from stronglens.realism.embeddings import FEATURE_BLOCKS, FeatureBlockError, embed, feature_blocks
from stronglens.realism.morphology import arc_statistics
from stronglens.realism.recall import recall_table, table4, thresholds
from stronglens.realism.settings import DecisionSettings, Threshold, ThresholdSetSettings
from stronglens.realism.stats import frechet_distance, linear_probe, mcnemar, mmd_test, rank_auc
from stronglens.selection.realism import recall
from stronglens.storage.blobs import encode_bands
from stronglens.train.models import build_model

RNG = np.random.default_rng(0)


def two_samples(shift: float, n: int = 150, d: int = 20, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    b[:, 0] += shift
    return a, b


# -- the probe, MMD and FD on planted cases -----------------------------------------------------------


def test_probe_on_one_distribution_gives_auc_near_one_half():
    for seed in range(3):
        res = linear_probe(*two_samples(0.0, seed=seed), folds=5, seed=seed, bootstrap=200)
        assert 0.4 <= res["auc_mean"] <= 0.6, res
        assert res["ci95"][0] <= 0.5 <= res["ci95"][1] and res["folds"] == 5


def test_probe_finds_a_planted_feature():
    res = linear_probe(*two_samples(3.0), folds=5, seed=0, bootstrap=200)
    assert res["auc_mean"] > 0.9 and res["ci95"][0] > 0.85


def test_probe_uses_fewer_folds_for_a_small_group():
    a, b = two_samples(3.0)
    assert linear_probe(a[:3], b, folds=5, seed=0, bootstrap=50)["folds"] == 3


def test_rank_auc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    neg, pos = RNG.normal(size=60).round(1), RNG.normal(0.4, size=45).round(1)
    assert rank_auc(neg, pos) == pytest.approx(roc_auc_score(np.r_[np.zeros(60), np.ones(45)], np.r_[neg, pos]))


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_mean_shift():
    a, _ = two_samples(0.0)
    assert frechet_distance(a, a)["fd"] == pytest.approx(0.0, abs=1e-8)
    fds = [frechet_distance(*two_samples(s))["fd"] for s in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(x < y for x, y in zip(fds, fds[1:])), fds
    # the mean term dominates a pure shift: FD ~ shift^2 for large shifts
    assert fds[-1] == pytest.approx(16.0, rel=0.2)


def test_frechet_distance_stays_defined_when_n_is_below_the_dimension():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(12, 256)), rng.normal(size=(12, 256)) + 0.5
    res = frechet_distance(a, b)
    assert np.isfinite(res["fd"]) and res["fd"] > 0 and res["dim"] == 256 and res["estimator"] == "ledoit_wolf"
    assert frechet_distance(a, a)["fd"] == pytest.approx(0.0, abs=1e-6)


def test_mmd_p_value_is_not_small_for_one_distribution_and_small_for_a_shift():
    same = [mmd_test(*two_samples(0.0, n=60, seed=s), permutations=200, seed=s)["p_value"] for s in range(3)]
    assert min(same) > 0.05, same
    shifted = mmd_test(*two_samples(2.0, n=60), permutations=200, seed=0)
    assert shifted["p_value"] < 0.01
    mmds = [mmd_test(*two_samples(s, n=60), permutations=20, seed=0)["mmd2"] for s in (0.0, 0.5, 1.0, 2.0)]
    assert all(x < y for x, y in zip(mmds, mmds[1:])), mmds


# -- intervals, McNemar -------------------------------------------------------------------------------


def test_recall_intervals_contain_the_estimate_at_zero_and_all_and_are_jeffreys_elsewhere():
    zero = recall(np.zeros(20), 0.5)
    assert zero["recall"] == 0 and zero["ci95"][0] == 0 and zero["ci95"][1] > 0
    full = recall(np.ones(20), 0.5)
    assert full["recall"] == 1 and full["ci95"][1] == 1 and full["ci95"][0] < 1
    some = recall(np.r_[np.ones(7), np.zeros(13)], 0.5)
    for level, key in ((0.95, "ci95"), (0.68, "ci68")):
        lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], 7.5, 13.5)
        assert some[key] == pytest.approx([lo, hi])


def test_mcnemar_matches_the_exact_binomial_and_the_chi_square_on_a_fixed_table():
    # 10 discordant one way, 3 the other, 20 both, 7 neither
    first = np.r_[np.ones(10), np.zeros(3), np.ones(20), np.zeros(7)].astype(bool)
    second = np.r_[np.zeros(10), np.ones(3), np.ones(20), np.zeros(7)].astype(bool)
    res = mcnemar(first, second)
    n = 13
    exact = min(1.0, 2 * sum(math.comb(n, i) for i in range(0, 4)) / 2**n)
    assert res["only_first"] == 10 and res["only_second"] == 3 and res["both"] == 20 and res["neither"] == 7
    assert res["p_exact"] == pytest.approx(exact)
    assert res["chi2_cc"] == pytest.approx((abs(10 - 3) - 1) ** 2 / 13)
    assert res["p_chi2_cc"] == pytest.approx(stats.chi2.sf((abs(10 - 3) - 1) ** 2 / 13, 1))
    assert mcnemar(first, first)["p_exact"] == 1.0


# -- the lens catalog ---------------------------------------------------------------------------------


def write_catalog(folder, tiers: list[str], n_neg: int = 6, npix: int = 32, field_tier: str = "tier"):
    """A cutouts-like shard and manifest: one lens per tier entry (a bright blob), n_neg noise-only negatives."""
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:npix, :npix] - npix // 2
    blob = np.exp(-(xx**2 + yy**2) / 8.0)
    images, labels = [], []
    for i in range(len(tiers) + n_neg):
        img = rng.normal(0, 0.01, (3, npix, npix))
        if i < len(tiers):
            img += blob[None] * 0.5
        images.append(img), labels.append(int(i < len(tiers)))
    shard = folder / "part-0.parquet"
    pd.DataFrame({"image_npz": [encode_bands(im) for im in images]}).to_parquet(shard)
    manifest = pd.DataFrame({"shard": str(shard), "row": np.arange(len(images)), "image_column": "image_npz",
                             "label": labels, "split": "test", field_tier: list(tiers) + ["none"] * n_neg,
                             "psfsize_r": 1.2, "psfdepth_r": 3000.0,
                             "theta_e_arcsec": [1.2] * len(tiers) + [np.nan] * n_neg})
    path = folder / "manifest-unpaired.parquet"
    manifest.to_parquet(path)
    return path


def test_a_cutouts_catalog_with_a_tier_column_is_scored_per_tier(tmp_path):
    path = write_catalog(tmp_path, ["A", "A", "B", "A", "B"])
    cat = load_catalog(str(path), "test", 32, max_negatives=100, seed=0)
    assert len(cat.lenses) == 5 and len(cat.negatives) == 6 and cat.images.shape == (11, 3, 32, 32)
    p = cat.images[:, 1, 16, 16] > 0.2  # a perfect "scorer": the central pixel
    p_lens, p_neg = p[cat.lenses].astype(float), p[cat.negatives].astype(float)
    thr = thresholds(p_neg, (0.5,), (0.5,))
    table = recall_table(p_lens, cat.rows.iloc[cat.lenses].reset_index(drop=True), thr, (1.0, 1.5))
    assert table["tiers"]["A"]["p>0.5"]["n"] == 3 and table["tiers"]["B"]["p>0.5"]["n"] == 2
    assert table["tiers"]["A"]["p>0.5"]["recall"] == 1.0 and table["theta_e_bins"]["1-1.5"]["p>0.5"]["n"] == 5
    assert thr["fpr<=0.5"]["smallest_resolvable_fpr"] == pytest.approx(1 / 6)
    groups = {(r["group"], r["threshold"]) for r in table4(table)}
    assert ("tier A", "p>0.5") in groups and ("tier B", "fpr<=0.5") in groups


def test_a_catalog_without_positives_fails_naming_the_file_and_field(tmp_path):
    path = write_catalog(tmp_path, [])
    with pytest.raises(CatalogError, match=r"manifest-unpaired.parquet: no positives \(field label = 1\)"):
        load_catalog(str(path), "test", 32, 100, 0)


def test_a_tier_of_unknown_value_fails_naming_the_file_and_field(tmp_path):
    path = write_catalog(tmp_path, ["A", "grade-3"])
    with pytest.raises(CatalogError, match=r"part-0.parquet row 1: field tier is 'grade-3'.*manifest-unpaired.parquet"):
        load_catalog(str(path), "test", 32, 100, 0)


def test_a_catalog_without_a_tier_column_fails_naming_the_field(tmp_path):
    path = write_catalog(tmp_path, ["A"], field_tier="grade")
    with pytest.raises(CatalogError, match=r"lacks field 'tier'"):
        check_rows(pd.read_parquet(path), str(path), "test")


def test_a_nan_pixel_in_the_catalog_stops_naming_shard_row_and_field(tmp_path):
    path = write_catalog(tmp_path, ["A", "B"])
    shard = tmp_path / "part-0.parquet"
    df = pd.read_parquet(shard)
    bad = np.zeros((3, 32, 32))
    bad[0, 3, 3] = np.nan
    df.loc[4, "image_npz"] = encode_bands(bad)
    df.to_parquet(shard)
    with pytest.raises(CatalogError, match=r"part-0.parquet row 4 field image_npz: 1 NaN/Inf pixels"):
        load_catalog(str(path), "test", 32, 100, 0)


# -- embeddings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", list(FEATURE_BLOCKS))
def test_every_architecture_gives_one_embedding_per_block_and_the_last_feeds_the_head(arch):
    torch.manual_seed(0)
    model = build_model(arch, 8).eval()
    x = np.random.default_rng(0).normal(size=(3, 3, 64, 64)).astype(np.float32)
    p, feats = embed(model, arch, x, torch.device("cpu"), batch=2)
    assert list(feats) == list(FEATURE_BLOCKS[arch]) and all(f.shape[0] == 3 for f in feats.values())
    head = getattr(model, model.head_name)
    with torch.no_grad():
        logit = head(torch.from_numpy(feats[FEATURE_BLOCKS[arch][-1]])).squeeze(1).double().numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p, rtol=1e-4, atol=1e-6)


def test_a_model_whose_blocks_cannot_be_hooked_fails_naming_the_architecture():
    with pytest.raises(FeatureBlockError, match=r"architecture 'resnet18': feature block 'relu' is not a submodule"):
        feature_blocks(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), "resnet18")
    with pytest.raises(FeatureBlockError, match=r"architecture 'vit_b_16': no feature blocks"):
        feature_blocks(torch.nn.Identity(), "vit_b_16")


# -- arc morphology -----------------------------------------------------------------------------------


def stamp(kind: str, npix: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:npix, :npix] - npix // 2
    r, phi = np.hypot(xx, yy), np.arctan2(yy, xx)
    host = 2.0 * np.exp(-r / 3.0)
    if kind == "arc":
        arc = np.exp(-((r - 10) ** 2) / 2.0) * np.exp(-(phi**2) / 0.3)
    elif kind == "blob":
        arc = np.exp(-((xx - 10) ** 2 + yy**2) / 8.0)
    else:
        arc = np.zeros_like(r)
    colours = (0.6, 1.0, 1.3)
    return np.stack([host + c * arc + rng.normal(0, 0.02, r.shape) for c in colours])


def test_a_thin_arc_is_more_anisotropic_than_a_round_blob_and_no_arc_gives_nan():
    images = np.stack([stamp("arc"), stamp("blob"), stamp("none")])
    out = arc_statistics(images, (20, 32))
    assert out["anisotropy"][0] > 2 * out["anisotropy"][1] > 0
    assert out["colour_gradient_coherence"][0] > 0.8  # the arc's structure is shared by every band
    assert out["local_variance_ratio"][0] > 10
    assert np.isnan(out["anisotropy"][2]) and out["arc_pixels"][2] < 10
    assert 0 <= out["hf_power_fraction"][0] <= 1


# -- decision -----------------------------------------------------------------------------------------


def test_gate_bands_and_the_overall_decision():
    t = Threshold(0.7, 0.85)
    assert [upper_gate(v, t) for v in (0.6, 0.7, 0.8, 0.9, None)] == ["PASS", "PASS", "BORDERLINE", "FAIL", "N/A"]
    c = Threshold(0.4, 0.3)
    assert [lower_gate(v, c) for v in (0.45, 0.355, 0.2)] == ["PASS", "BORDERLINE", "FAIL"]
    cfg = DecisionSettings()
    quality = {"split_balance": {"psfsize_r": {"p_value": 0.17}, "psfdepth_r": {"p_value": 0.12}},
               "bad_pixels": {"flagged_share": 0.0}}
    frag = {"scoring": {"p>0.3": {"recall_delta": -0.036}}}
    # the seeds' D01 figures: ceiling 35.5%, probe AUC 0.991
    gates = d01_gates(quality, frag, 0.355, 0.991, 3.0, cfg)
    assert {k: v["status"] for k, v in gates.items()} == {"data_quality": "PASS", "annulus_impact": "BORDERLINE",
                                                          "beta_frac_ceiling": "BORDERLINE", "realism": "FAIL"}
    sets = threshold_sets(0.9921, 0.733, 0.70, 0.355, 0.035, ThresholdSetSettings())
    assert not sets["set_1"]["met"] and sets["set_2"]["met"]  # the seeds' 73.3% / ~70%: set 2 only
    assert overall(gates, sets)["decision"] == "NO-GO" and "realism: FAIL" in overall(gates, sets)["reasons"]
    calm = d01_gates(quality, frag, 0.45, 0.55, 0.5, cfg)
    assert overall(calm, sets)["decision"] == "GO"
    unknown = threshold_sets(None, None, None, None, None, ThresholdSetSettings())
    assert unknown["set_1"]["auroc"]["met"] is None and not unknown["set_2"]["met"]
    # decide(): the table's view of one run, from its realism report, gates report and selection summary
    realism = {"d01": calm, "recall": {"tiers": {"A": {"p>0.3": {"recall": 0.9}, "p>0.5": {"recall": 0.5}}}},
               "ceiling": {"sersic": {"peak_p>0.3": 0.5}}}
    gates_report = {"gates": {"auroc": {"value": 0.995}}}
    go = decide(realism, gates_report, {"completeness": {"p>0.3": {"completeness": 0.08}}}, ThresholdSetSettings())
    assert go["decision"] == "GO" and go["threshold_sets"]["set_1"]["met"]
    no_map = decide(realism, gates_report, None, ThresholdSetSettings())
    assert no_map["decision"] == "NO-GO" and "set_1.main_map_completeness" in no_map["reasons"][0]


# -- injections ---------------------------------------------------------------------------------------


def test_matched_injections_hit_the_lens_snr_and_twins_share_their_draws(tmp_path, source_library):
    from stronglens.realism.injections import ceiling_injections, matched_injections
    from stronglens.realism.settings import CatalogSettings, CeilingSettings
    from stronglens.survey.synthetic.galaxies import GalaxyPool

    path = write_catalog(tmp_path, ["A", "B", "A"], n_neg=12, npix=64)
    manifest = pd.read_parquet(path)
    manifest["psfdepth_r"] = 800.0
    manifest["arc_snr"] = [40.0, 15.0, np.nan] + [np.nan] * 12  # the third lens has no known SNR
    manifest.to_parquet(path)
    cat = load_catalog(str(path), "test", 64, 100, 0)
    settings = CatalogSettings("c", "cutouts", "test", 64)
    pool = GalaxyPool(source_library, "injection")
    inj = matched_injections(cat, 2, settings, ("sersic", "real_galaxy"), pool, seed=3)
    rec = inj.records
    assert len(rec) == 3 * 2 * 2 and inj.stamps.shape == (12, 3, 64, 64) and np.isfinite(inj.stamps).all()
    for model in ("sersic", "real_galaxy"):
        m = rec[rec["source_model"] == model]
        np.testing.assert_allclose(m["arc_snr"].to_numpy()[:4], [40, 40, 15, 15], rtol=1e-9)
        assert list(m["matched"]) == [True] * 4 + [False] * 2
        np.testing.assert_allclose(m["theta_e_cell"].to_numpy()[:4], 1.2)
    ser, real = rec[rec["source_model"] == "sersic"], rec[rec["source_model"] == "real_galaxy"]
    for col in ("host_pos", "theta_e_arcsec", "src_x_arcsec", "src_mag_r"):
        np.testing.assert_array_equal(ser[col].to_numpy(), real[col].to_numpy())
    assert set(rec["host_pos"]) <= set(cat.negatives)  # injected onto negatives only
    # the stamp is the host plus the arc, nothing else
    np.testing.assert_allclose(inj.stamps - inj.arcs, cat.images[rec["host_pos"].to_numpy()], atol=1e-12)
    noisy = inj.with_shot_noise(100.0, seed=1)
    assert np.array_equal(noisy, inj.with_shot_noise(100.0, seed=1)) and not np.array_equal(noisy, inj.stamps)
    ceil = ceiling_injections(cat, CeilingSettings(mag_edges=(20.0, 22.0, 24.0), per_bin=3), settings, ("sersic",), None, 3)
    assert list(ceil.records["mag_bin"]) == ["20-22"] * 3 + ["22-24"] * 3
    assert ceil.records["src_mag_r"].between(20, 24).all() and ceil.records["beta_frac"].between(0.1, 0.55).all()
    # brighter bins give brighter arcs
    assert ceil.records["arc_snr"].iloc[:3].median() > ceil.records["arc_snr"].iloc[3:].median()


def test_grouped_folds_stop_twins_leaking_and_the_permutation_null_calibrates_the_probe():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(60, 150))
    twins = np.repeat(base, 2, axis=0) + rng.normal(0, 0.05, (120, 150))  # two near-copies per group
    groups = np.repeat(np.arange(60), 2)
    a, b = twins[:60], twins[60:]  # 30 groups each side: one distribution, but twins share a side
    leaky = linear_probe(a, b, folds=5, seed=0, bootstrap=0)
    grouped = linear_probe(a, b, folds=5, seed=0, bootstrap=0, groups=groups, permutations=30)
    assert leaky["auc_mean"] > 0.7  # a twin in the training folds gives its copy's label away
    assert grouped["auc_mean"] < 0.65 and grouped["grouped"]
    assert grouped["permutation"]["p_two_sided"] >= 0.05 and grouped["permutation"]["n"] == 30
    shifted = linear_probe(*two_samples(3.0, n=40), folds=5, seed=0, bootstrap=0, permutations=30)
    assert shifted["permutation"]["p_two_sided"] < 0.05
