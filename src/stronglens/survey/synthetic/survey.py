"""Assemble one shard of the synthetic paired survey (docs/science.md section 4).

Every row is a pair sharing one host: ``ctrl`` = host (PSF-convolved) + sky
noise, ``stamp`` = host + lensed arc (+ the planted core shortcut, if asked)
+ the *same* noise realisation, so ``stamp - ctrl`` is exactly the noiseless
arc. Row i draws everything from its own generator keyed by
(seed, "survey:<dataset>", i), so a shard regenerates alone and identically.
Splits are not assigned here: the manifest stage derives them from bricks
or HEALPix cells, so changing split settings never re-simulates the survey.
Rendering is batched over the shard in float64 on the CPU (bytes are then the
same on every machine with the same library versions).
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import torch

from stronglens.core.constants import BANDS, PIXSCALE_ARCSEC
from stronglens.core.rng import generator
from stronglens.physics.photometry import sky_sigma_pix
from stronglens.physics.pixels import radius_map_pix
from stronglens.physics.psf import band_fwhm, psf_convolve
from stronglens.physics.render import RenderSettings, arc_snr, poisson_arc_noise, render_arcs
from stronglens.storage.blobs import encode_bands
from stronglens.survey.settings import SurveySettings, survey_settings
from stronglens.survey.sky import brick_names, healpix_nested
from stronglens.survey.synthetic import hosts as H
from stronglens.survey.synthetic.conditions import draw_conditions, field_centres
from stronglens.survey.synthetic.params import (
    lens_from_rows,
    lens_source_columns,
    psf_kernels_from_rows,
    source_band_flux,
    source_from_rows,
)
from stronglens.survey.synthetic.priors import draw_lens, draw_source

DTYPE = torch.float64
CORE_RADIUS_PIX = 3.0  # the shortcut's amplitude is A x the host flux within r < 3 px
CORE_BLOB_SIGMA_PIX = 1.5
HEALPIX_NSIDE = 128


class SurveyError(RuntimeError):
    """The survey cannot honour its configuration (e.g. an unreachable arc-SNR cut)."""


def shard_rows(n_pairs: int, shard_size: int, part: int) -> range:
    """Global row indices of shard `part`."""
    n_parts = math.ceil(n_pairs / shard_size)
    if not 0 <= part < n_parts:
        raise ValueError(f"part {part} out of range: the dataset has {n_parts} shards")
    return range(part * shard_size, min(n_pairs, (part + 1) * shard_size))


def _columns(records: list[dict]) -> dict[str, list]:
    return {k: [r[k] for r in records] for k in records[0]}


def _draw_lensing(rng, cfg: SurveySettings, host: H.HostDraw) -> dict:
    lp = cfg.lens_prior
    follow = lp.follow_host_lrg and host.is_lrg
    lens = draw_lens(rng, cfg.source_prior.theta_e, lp.q, lp.shear_max, host.q if follow else None,
                     host.phi if follow else None)
    src = draw_source(rng, cfg.source_prior, lens.theta_e)
    return lens_source_columns(lens, src)


def _render(records: list[dict], cfg: SurveySettings, settings: RenderSettings, kernels: torch.Tensor):
    cols = _columns(records)
    return render_arcs(lens_from_rows(cols, DTYPE), source_from_rows(cols, DTYPE), source_band_flux(cols, DTYPE), kernels, settings)


def _accepted_arcs(
    rngs: list[np.random.Generator], hosts: list[H.HostDraw], lensing: list[dict], cfg: SurveySettings,
    settings: RenderSettings, kernels: torch.Tensor, sigma_r: torch.Tensor,
):
    """Render arcs, redrawing lens+source of rows below min_arc_snr (row's own generator)."""
    prior = cfg.source_prior
    n = len(lensing)
    arcs = torch.zeros((n, len(BANDS), settings.npix, settings.npix), dtype=DTYPE)
    mu = torch.zeros(n, dtype=DTYPE)
    snr = torch.zeros(n, dtype=DTYPE)
    draws = np.ones(n, dtype=np.int64)
    pending = list(range(n))
    for attempt in range(prior.max_draws):
        idx = torch.tensor(pending)
        out = _render([lensing[i] for i in pending], cfg, settings, kernels[idx])
        s = arc_snr(out.arcs[:, BANDS.index("r")], sigma_r[idx])
        ok = s >= prior.min_arc_snr
        arcs[idx[ok]], mu[idx[ok]], snr[idx[ok]] = out.arcs[ok], out.mu_eff[ok], s[ok]
        pending = [i for i, good in zip(pending, ok.tolist()) if not good]
        if not pending:
            return arcs, mu, snr, draws
        if attempt + 1 < prior.max_draws:
            for i in pending:
                lensing[i] = _draw_lensing(rngs[i], cfg, hosts[i])
                draws[i] += 1
    raise SurveyError(
        f"source_prior.min_arc_snr = {prior.min_arc_snr}: {len(pending)} rows found no arc above it in "
        f"source_prior.max_draws = {prior.max_draws} draws (first row index {pending[0]}); "
        "brighten source_prior.mag_r or lower the cut"
    )


def _core_shortcut(host_img: torch.Tensor, amplitude: float) -> torch.Tensor:
    """Centred Gaussian blob (sigma 1.5 px) carrying A x the host's flux within r < 3 px, per band."""
    npix = host_img.shape[-1]
    r = radius_map_pix(npix, dtype=host_img.dtype)
    core_flux = (host_img * (r < CORE_RADIUS_PIX)).sum(dim=(-1, -2))
    blob = torch.exp(-0.5 * (r / CORE_BLOB_SIGMA_PIX) ** 2)
    blob = blob / blob.sum()
    return amplitude * core_flux[..., None, None] * blob


def simulate_shard(block: dict, dataset: str, part: int, seed: int) -> pd.DataFrame:
    """Simulate shard `part` of a whole synthetic dataset block (validated, defaults filled), its survey
    slice parsed as the simulate_survey stage parses it."""
    rows = shard_rows(block["n_pairs"], block["shard_size"], part)
    return simulate_rows(survey_settings(block, f"datasets.{dataset}"), dataset, rows, seed)


def simulate_rows(cfg: SurveySettings, dataset: str, rows: range, seed: int) -> pd.DataFrame:
    """Simulate the pairs with global indices `rows`; only `rows` depends on n_pairs and shard_size."""
    if len(rows) == 0:
        raise ValueError(f"empty row range {rows}")
    npix = cfg.stamp_size
    settings = RenderSettings(npix=npix, pixscale=PIXSCALE_ARCSEC)
    centres = field_centres(seed, dataset, cfg.footprint)
    rngs, hosts, conds, lensing = [], [], [], []
    for i in rows:
        rng = generator(seed, f"survey:{dataset}", i)
        conds.append(draw_conditions(rng, centres, cfg.footprint))
        hosts.append(H.draw_host(rng, cfg.hosts.lrg_fraction, cfg.hosts.confuser_fraction))
        lensing.append(_draw_lensing(rng, cfg, hosts[-1]))
        rngs.append(rng)
    psfsize = {"psfsize_r": [c.psfsize_r for c in conds]}
    kernels = psf_kernels_from_rows(psfsize, PIXSCALE_ARCSEC, cfg.psf_model, cfg.moffat_beta, DTYPE)
    fwhm = band_fwhm(torch.tensor(psfsize["psfsize_r"], dtype=DTYPE)).numpy()
    depth = np.array([c.psfdepth for c in conds])
    sigma = sky_sigma_pix(depth, fwhm, PIXSCALE_ARCSEC)  # (B, 3) nmgy
    sigma_t = torch.as_tensor(sigma, dtype=DTYPE)

    body = H.render_host_bodies(hosts, settings, DTYPE)
    feature = H.render_features(hosts, settings, DTYPE)
    host_unconv = body[:, None] * torch.as_tensor(H.host_band_flux(hosts), dtype=DTYPE)[:, :, None, None]
    host_unconv = host_unconv + feature[:, None] * torch.as_tensor(H.feature_band_flux(hosts), dtype=DTYPE)[:, :, None, None]
    host_img = psf_convolve(host_unconv, kernels)

    arcs, mu, snr, draws = _accepted_arcs(rngs, hosts, lensing, cfg, settings, kernels, sigma_t[:, 1])
    shortcut = _core_shortcut(host_img, cfg.plant_core_shortcut) if cfg.plant_core_shortcut else torch.zeros_like(host_img)

    noise = np.stack([rr.standard_normal((len(BANDS), npix, npix)) for rr in rngs]) * sigma[:, :, None, None]
    arc_np = arcs.numpy()
    if cfg.add_poisson_noise:
        shot = np.stack([rr.standard_normal((len(BANDS), npix, npix)) for rr in rngs])
        arc_np = arc_np + poisson_arc_noise(torch.from_numpy(arc_np), torch.tensor(cfg.gain_e_per_nmgy), torch.from_numpy(shot)).numpy()
    ctrl = host_img.numpy() + noise
    stamp = host_img.numpy() + arc_np + shortcut.numpy() + noise

    ra = np.array([c.ra for c in conds])
    dec = np.array([c.dec for c in conds])
    bricks = brick_names(ra, dec)
    out = {
        "pair_id": [f"{dataset}-{i:07d}" for i in rows],
        "host_id": [f"{dataset}-h{i:07d}" for i in rows],
        "stamp_npz": [encode_bands(s) for s in stamp],
        "ctrl_stamp_npz": [encode_bands(c) for c in ctrl],
        "ra": ra, "dec": dec, "brickname": bricks.astype(object),
        "healpix_128": healpix_nested(ra, dec, HEALPIX_NSIDE),
        "stamp_size": np.full(len(rows), npix, dtype=np.int64),
        "host_type": [h.host_type for h in hosts],
        "host_is_lrg": [h.is_lrg for h in hosts],
        "pool": ["N2" if h.confuser != "none" else "N1" for h in hosts],
        "confuser_category": [h.confuser for h in hosts],
        "tier": np.where(snr.numpy() >= cfg.tier_a_min_arc_snr, "A", "B").astype(object),
        **{f"host_{k}": [asdict(h)[k] for h in hosts] for k in ("mag_g", "mag_r", "mag_z", "r_e", "n", "q", "phi")},
        **_columns(lensing),
        "mu_eff": mu.numpy(), "arc_snr": snr.numpy(),
        "arc_flux_r": arcs[:, 1].sum(dim=(-1, -2)).numpy(),
        "n_source_draws": draws,
        "psfsize_g": fwhm[:, 0], "psfsize_r": fwhm[:, 1], "psfsize_z": fwhm[:, 2],
        "psfdepth_g": depth[:, 0], "psfdepth_r": depth[:, 1], "psfdepth_z": depth[:, 2],
        "sigma_pix_g": sigma[:, 0], "sigma_pix_r": sigma[:, 1], "sigma_pix_z": sigma[:, 2],
        "depth_regime": [c.depth_regime for c in conds], "ebv": [c.ebv for c in conds],
        "core_shortcut_flux_r": shortcut[:, 1].sum(dim=(-1, -2)).numpy(),
    }
    return pd.DataFrame(out)
