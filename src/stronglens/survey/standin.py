"""The stand-in sky (``source: sky``): what a real survey's labelled cutouts look like to a finder.

docs/science.md section 11. Unlike the paired synthetic survey, every row is
one labelled stamp (the cutout schema: ``image_npz``, ``label``,
``galaxy_id``) and no row has a control image: a real survey never shows
a lens without its arc. Row i of a dataset is a lens when
``i % (negatives_per_lens + 1) == 0`` (so the ratio is exact on every
complete block of rows); lens number j = i // (negatives_per_lens + 1) is
tier A when ``floor((j + 1) f) > floor(j f)`` for f = tier_a_fraction (so
the tier fraction is exact to one lens).

Where it differs from the injection model, as the real sky does:

* lensed sources are real galaxies of the library's ``sky`` subset (never
  one of the ``injection`` subset the selection function injects),
  at a confirmed-lens-like prior; tier A sources are bright
  (tier_a_mag_r) and must reach tier_a_min_arc_snr, tier B fainter;
* the PSF is a Moffat (wings), whatever psf_model a synthetic survey uses;
* host and arc carry their own photon shot noise (Gaussian limit,
  variance = flux / gain per pixel) on top of the sky noise;
* host and arc are dimmed by Galactic extinction, A_b = R_b E(B-V) with
  the DECam R_b of Schlafly & Finkbeiner (2011): g 3.214, r 2.165, z 1.211.

Negatives are pool N1 (ordinary and LRG-like hosts) and N2 (confusers:
rings, spiral arms, mergers) in the host mix's proportions. Every draw of
row i comes from its own generator keyed by (seed, "sky:<dataset>", i): a
shard regenerates alone and identically. Rendering is float64 on the CPU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

from stronglens.core.constants import BANDS, PIXSCALE_ARCSEC
from stronglens.core.rng import generator
from stronglens.physics.render import RenderSettings, poisson_arc_noise
from stronglens.sources.library import SourceLibrary
from stronglens.storage.blobs import encode_bands
from stronglens.survey.settings import SkySettings
from stronglens.survey.synthetic import hosts as H
from stronglens.survey.synthetic.conditions import draw_conditions, field_centres
from stronglens.survey.synthetic.galaxies import GalaxyPool
from stronglens.survey.synthetic.priors import draw_lens
from stronglens.survey.synthetic.survey import (
    DTYPE,
    accepted_arcs,
    condition_columns,
    host_columns,
    host_images,
    lensing_columns,
    observing,
    position_columns,
    render_rows,
)

EXTINCTION_R = (3.214, 2.165, 1.211)  # A_b / E(B-V) for DECam g, r, z (Schlafly & Finkbeiner 2011)
CLUMP_COLUMNS = ("clump_x_arcsec", "clump_y_arcsec", "clump_sigma_arcsec", "clump_frac")


def is_lens(i: int, negatives_per_lens: int) -> bool:
    """Whether global row i is a lens."""
    return i % (negatives_per_lens + 1) == 0


def lens_tier(j: int, tier_a_fraction: float) -> str:
    """Tier of lens number j: "A" for an exact share tier_a_fraction of consecutive lenses, else "B"."""
    return "A" if np.floor((j + 1) * tier_a_fraction) > np.floor(j * tier_a_fraction) else "B"


def extinction_factor(ebv: np.ndarray) -> np.ndarray:
    """(B, 3) flux factor 10^(-0.4 R_b E(B-V)) per row and band."""
    return 10.0 ** (-0.4 * np.asarray(ebv)[:, None] * np.asarray(EXTINCTION_R)[None, :])


def _lensing(rng, cfg: SkySettings, host: H.HostDraw, tier: str, pool: GalaxyPool) -> dict:
    """One lens's columns: SIE + shear and a real galaxy of the sky subset at its tier's magnitudes."""
    lp = cfg.lens_prior
    follow = lp.follow_host_lrg and host.is_lrg
    lens = draw_lens(rng, cfg.source_prior.theta_e, lp.q, lp.shear_max, host.q if follow else None,
                     host.phi if follow else None)
    mag = cfg.sky.tier_a_mag_r if tier == "A" else cfg.sky.tier_b_mag_r
    cols = lensing_columns(rng, lens, dataclasses.replace(cfg.source_prior, mag_r=mag), pool)
    for key in CLUMP_COLUMNS:
        cols.pop(key)
    return cols


def simulate_sky_rows(cfg: SkySettings, dataset: str, rows: range, seed: int, library: SourceLibrary) -> pd.DataFrame:
    """The labelled stamps with global indices `rows` (see the module docstring)."""
    if len(rows) == 0:
        raise ValueError(f"empty row range {rows}")
    sky = cfg.sky
    npix = cfg.stamp_size
    settings = RenderSettings(npix=npix, pixscale=PIXSCALE_ARCSEC)
    pool = GalaxyPool(library, "sky", DTYPE)
    centres = field_centres(seed, f"sky:{dataset}", cfg.footprint)
    rngs, conds, hosts, labels, tiers = [], [], [], [], []
    for i in rows:
        rng = generator(seed, f"sky:{dataset}", i)
        lens = is_lens(i, sky.negatives_per_lens)
        conds.append(draw_conditions(rng, centres, cfg.footprint))
        if lens:
            hosts.append(H.draw_host(rng, sky.lens_lrg_fraction, 0.0))
        else:
            hosts.append(H.draw_host(rng, cfg.hosts.lrg_fraction, cfg.hosts.confuser_fraction))
        labels.append(int(lens))
        tiers.append(lens_tier(i // (sky.negatives_per_lens + 1), sky.tier_a_fraction) if lens else "none")
        rngs.append(rng)
    obs = observing(conds, "moffat", cfg.moffat_beta)
    dimming = torch.as_tensor(extinction_factor(np.array([c.ebv for c in conds])), dtype=DTYPE)[:, :, None, None]
    light = host_images(hosts, settings, obs.kernels) * dimming

    lens_rows = [k for k, lab in enumerate(labels) if lab]
    lens_cols: list[dict] = [{} for _ in rows]
    mu = np.full(len(rows), np.nan)
    snr = np.full(len(rows), np.nan)
    draws = np.zeros(len(rows), dtype=np.int64)
    if lens_rows:
        idx = torch.tensor(lens_rows)
        lensing = [_lensing(rngs[k], cfg, hosts[k], tiers[k], pool) for k in lens_rows]
        min_snr = np.array([sky.tier_a_min_arc_snr if tiers[k] == "A" else sky.tier_b_min_arc_snr for k in lens_rows])
        sigma_r = torch.as_tensor(obs.sigma[lens_rows, 1], dtype=DTYPE)
        arcs, mu_l, snr_l, draws_l = accepted_arcs(
            lensing, lambda recs, sub: render_rows(recs, settings, obs.kernels[idx[sub]], pool), sigma_r,
            min_snr, cfg.source_prior.min_mu_eff, cfg.source_prior.max_draws,
            lambda m: _lensing(rngs[lens_rows[m]], cfg, hosts[lens_rows[m]], tiers[lens_rows[m]], pool))
        # The acceptance cut reads the arc before extinction (A_r ~ 0.1 mag at the median E(B-V)); then it is dimmed.
        light[idx] = light[idx] + arcs * dimming[idx]
        for m, k in enumerate(lens_rows):
            lens_cols[k] = lensing[m]
        mu[lens_rows], snr[lens_rows], draws[lens_rows] = mu_l.numpy(), snr_l.numpy(), draws_l

    shot = np.stack([rr.standard_normal((len(BANDS), npix, npix)) for rr in rngs])
    noise = np.stack([rr.standard_normal((len(BANDS), npix, npix)) for rr in rngs]) * obs.sigma[:, :, None, None]
    photon = poisson_arc_noise(light, torch.tensor(cfg.gain_e_per_nmgy), torch.from_numpy(shot)).numpy()
    image = light.numpy() + photon + noise

    ids = [f"{dataset}-{i:07d}" for i in rows]
    out = pd.DataFrame({
        "galaxy_id": ids, "pair_id": ids, "host_id": ids,
        "image_npz": [encode_bands(im) for im in image],
        "label": np.asarray(labels, dtype=np.int64),
        **position_columns(conds, npix),
        **host_columns(hosts),
        "tier": np.asarray(tiers, dtype=object),
        "mu_eff": mu, "arc_snr": snr, "n_source_draws": draws,
        **condition_columns(conds, obs),
    })
    lensing_table = pd.DataFrame(lens_cols, index=out.index)
    lensing_table["theta_e_arcsec"] = lensing_table.get("theta_e_arcsec", pd.Series(np.nan, index=out.index))
    for col, none in (("src_model", "none"), ("src_galaxy_id", "")):  # negatives have no source: say so, not NaN
        lensing_table[col] = lensing_table.get(col, pd.Series(none, index=out.index)).fillna(none)
    return pd.concat([out, lensing_table], axis=1)
