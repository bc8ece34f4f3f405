"""The stand-in sky and the lens-like training prior: ratios, tiers, no control image, shot noise, subsets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml
from helpers import REPO, validated

from stronglens.config.validation import ConfigError
from stronglens.storage.blobs import decode_bands
from stronglens.survey.settings import sky_settings, survey_settings
from stronglens.survey.standin import extinction_factor, is_lens, lens_tier, simulate_sky_rows
from stronglens.survey.synthetic.survey import simulate_rows


def sky_block(**sky) -> dict:
    block = {"source": "sky", "n_pairs": 40, "shard_size": 20, "footprint": {"n_fields": 4},
             "source_prior": {"theta_e": [0.8, 2.5]}, "sky": {"negatives_per_lens": 3, "tier_a_fraction": 0.5, **sky}}
    return validated({"datasets": {"s": block}})["datasets"]["s"]


@pytest.fixture(scope="module")
def sky_rows(source_library):
    return simulate_sky_rows(sky_settings(sky_block()), "s", range(0, 24), 5, source_library)


def test_negative_ratio_and_tier_fractions_follow_the_config(sky_rows):
    lenses = sky_rows[sky_rows["label"] == 1]
    assert len(lenses) == 6 and (sky_rows["label"] == 0).sum() == 18  # 3 negatives per lens, exactly
    assert (lenses["tier"] == "A").sum() == 3 and set(lenses["tier"]) == {"A", "B"}
    assert set(sky_rows.loc[sky_rows["label"] == 0, "tier"]) == {"none"}
    assert set(sky_rows["pool"]) <= {"N1", "N2"}
    tiers = [lens_tier(j, 0.3) for j in range(1000)]
    assert tiers.count("A") == 300
    assert sum(is_lens(i, 93) for i in range(94 * 50)) == 50


def test_tier_a_lenses_are_brighter_and_reach_their_snr(sky_rows):
    lenses = sky_rows[sky_rows["label"] == 1]
    a, b = lenses[lenses["tier"] == "A"], lenses[lenses["tier"] == "B"]
    assert a["src_mag_r"].between(20.5, 22.5).all() and b["src_mag_r"].between(22.5, 24.0).all()
    assert (a["arc_snr"] >= 30).all() and (b["arc_snr"] >= 8).all()
    assert (lenses["mu_eff"] >= 3).all()


def test_no_control_image_and_no_paired_run(sky_rows):
    assert "ctrl_stamp_npz" not in sky_rows.columns and "stamp_npz" not in sky_rows.columns
    img = decode_bands(sky_rows["image_npz"].iloc[0])
    assert img.shape == (3, 64, 64) and np.isfinite(img).all()
    cfg = {"datasets": {"s": {"source": "sky", "n_pairs": 4}},
           "preprocessing": {"raw": {"mode": "raw_robust", "annulus": [20, 32]}},
           "runs": {"r": {"dataset": "s", "pairing": "paired", "preprocessing": "raw"}}}
    with pytest.raises(ConfigError, match="unpaired only"):
        validated(cfg)


def test_lenses_use_only_the_sky_subset(sky_rows, source_library):
    lenses = sky_rows[sky_rows["label"] == 1]
    sky_ids = set(source_library.catalog["galaxy_id"][source_library.indices("sky")])
    assert (lenses["src_model"] == "real_galaxy").all() and set(lenses["src_galaxy_id"]) <= sky_ids
    negatives = sky_rows[sky_rows["label"] == 0]
    assert (negatives["src_model"] == "none").all() and negatives["theta_e_arcsec"].isna().all()


def test_shot_noise_variance_rises_with_flux(source_library):
    """Same generators, gain 100 vs no shot noise (gain 1e15): the difference is the shot noise, variance = flux / gain."""
    cfg = sky_settings(sky_block())
    quiet = dataclasses.replace(cfg, gain_e_per_nmgy=1e15)
    rows = range(0, 8)
    noisy = np.stack([decode_bands(b) for b in simulate_sky_rows(cfg, "s", rows, 5, source_library)["image_npz"]])
    clean = np.stack([decode_bands(b) for b in simulate_sky_rows(quiet, "s", rows, 5, source_library)["image_npz"]])
    diff, flux = (noisy - clean).ravel().astype(float), clean.ravel().astype(float)
    bright = flux > 0.05
    slope = (diff[bright] ** 2).sum() / flux[bright].sum()  # E[diff^2] = flux / gain
    assert slope == pytest.approx(1.0 / cfg.gain_e_per_nmgy, rel=0.15)
    faint = (flux > -0.01) & (flux < 0.01)
    assert (diff[faint] ** 2).mean() < 0.1 * (diff[bright] ** 2).mean()


def test_a_shard_regenerates_alone(source_library):
    cfg = sky_settings(sky_block())
    whole = simulate_sky_rows(cfg, "s", range(0, 12), 5, source_library)
    part = simulate_sky_rows(cfg, "s", range(8, 12), 5, source_library)
    assert list(part["image_npz"]) == list(whole["image_npz"].iloc[8:12])


def test_extinction_dims_blue_bands_most():
    f = extinction_factor(np.array([0.0, 0.1]))
    assert (f[0] == 1).all()
    np.testing.assert_allclose(f[1], 10 ** (-0.4 * 0.1 * np.array([3.214, 2.165, 1.211])))


def test_default_training_positives_are_strongly_magnified(source_library):
    """The default synth prior (config/config.yaml): median mu_eff >= 5 on a sample of its rows, in both source models."""
    cfg = validated(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))["datasets"]["synth"]
    for model in ("sersic", "real_galaxy"):
        rows = simulate_rows(survey_settings({**cfg, "source_model": model}), "synth", range(0, 40), 42, source_library)
        mu = rows["mu_eff"].to_numpy()
        print(f"{model}: mu_eff median {np.median(mu):.2f}, > 5 {np.mean(mu > 5):.0%}, > 10 {np.mean(mu > 10):.0%}")
        assert np.median(mu) >= 5 and (mu >= cfg["source_prior"]["min_mu_eff"]).all()
        assert (rows["beta_frac"] <= 0.45).all() and (rows["src_re_arcsec"] >= 0.15).all()
