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
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch

from stronglens.core.constants import BANDS, PIXSCALE_ARCSEC
from stronglens.core.rng import generator
from stronglens.physics.photometry import sky_sigma_pix
from stronglens.physics.pixels import radius_map_pix
from stronglens.physics.psf import band_fwhm, psf_convolve
from stronglens.physics.render import RenderSettings, arc_snr, poisson_arc_noise, render_arcs
from stronglens.sources.library import SourceLibrary
from stronglens.storage.blobs import encode_bands
from stronglens.survey.settings import SurveySettings, survey_settings
from stronglens.survey.sky import brick_names, healpix_nested
from stronglens.survey.synthetic import hosts as H
from stronglens.survey.synthetic.conditions import draw_conditions, field_centres
from stronglens.survey.synthetic.galaxies import GalaxyPool, sersic_columns
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


def _draw_lensing(rng, cfg: SurveySettings, host: H.HostDraw, pool: GalaxyPool | None) -> dict:
    """One row's lens and source columns; a real-galaxy source when a galaxy pool is given."""
    lp = cfg.lens_prior
    follow = lp.follow_host_lrg and host.is_lrg
    lens = draw_lens(rng, cfg.source_prior.theta_e, lp.q, lp.shear_max, host.q if follow else None,
                     host.phi if follow else None)
    return lensing_columns(rng, lens, cfg.source_prior, pool)


def lensing_columns(rng, lens, prior, pool: GalaxyPool | None) -> dict:
    """Columns of a lens and a source drawn from `prior`: Sersic, or a galaxy of the pool (no clumps)."""
    src = draw_source(rng, prior, lens.theta_e)
    if pool is None:
        return {**lens_source_columns(lens, src), **sersic_columns()}
    src.clump_x, src.clump_y, src.clump_sigma, src.clump_frac = [], [], [], []
    return {**lens_source_columns(lens, src), **pool.columns(rng, src.r_e)}


def render_rows(records: list[dict], settings: RenderSettings, kernels: torch.Tensor, pool: GalaxyPool | None = None):
    """Render the arcs of row records: Sersic (+ clumps), or galaxies of the pool when one is given."""
    cols = _columns(records)
    lens = lens_from_rows(cols, DTYPE)
    src = pool.image_source(cols) if pool is not None else source_from_rows(cols, DTYPE)
    return render_arcs(lens, src, source_band_flux(cols, DTYPE), kernels, settings)


def accepted_arcs(lensing: list[dict], render, sigma_r: torch.Tensor, min_snr: np.ndarray, min_mu: float,
                  max_draws: int, redraw):
    """Render arcs, redrawing (``redraw(i)`` -> new columns, from row i's own generator) rows whose r-band
    arc SNR is below min_snr[i] or whose mu_eff is below min_mu; (arcs, mu_eff, snr, draws)."""
    n = len(lensing)
    arcs = mu = snr = None
    draws = np.ones(n, dtype=np.int64)
    pending = list(range(n))
    for attempt in range(max_draws):
        idx = torch.tensor(pending)
        out = render([lensing[i] for i in pending], idx)
        if arcs is None:
            arcs = torch.zeros((n,) + out.arcs.shape[1:], dtype=DTYPE)
            mu, snr = torch.zeros(n, dtype=DTYPE), torch.zeros(n, dtype=DTYPE)
        s = arc_snr(out.arcs[:, BANDS.index("r")], sigma_r[idx])
        ok = (s >= torch.as_tensor(min_snr[pending], dtype=DTYPE)) & (out.mu_eff >= min_mu)
        arcs[idx[ok]], mu[idx[ok]], snr[idx[ok]] = out.arcs[ok], out.mu_eff[ok], s[ok]
        pending = [i for i, good in zip(pending, ok.tolist()) if not good]
        if not pending:
            return arcs, mu, snr, draws
        if attempt + 1 < max_draws:
            for i in pending:
                lensing[i] = redraw(i)
                draws[i] += 1
    raise SurveyError(
        f"source_prior.min_arc_snr / source_prior.min_mu_eff (= {min_mu}): {len(pending)} rows found no arc passing "
        f"both in source_prior.max_draws = {max_draws} draws (first row index {pending[0]}); "
        "brighten source_prior.mag_r or lower the cuts"
    )


def _core_shortcut(host_img: torch.Tensor, amplitude: float) -> torch.Tensor:
    """Centred Gaussian blob (sigma 1.5 px) carrying A x the host's flux within r < 3 px, per band."""
    npix = host_img.shape[-1]
    r = radius_map_pix(npix, dtype=host_img.dtype)
    core_flux = (host_img * (r < CORE_RADIUS_PIX)).sum(dim=(-1, -2))
    blob = torch.exp(-0.5 * (r / CORE_BLOB_SIGMA_PIX) ** 2)
    blob = blob / blob.sum()
    return amplitude * core_flux[..., None, None] * blob


@dataclass
class Observing:
    """Per-row observing conditions as arrays: PSF kernels (B, 3, k, k), FWHM (B, 3) arcsec, psfdepth (B, 3)
    (1/nmgy^2) and sky sigma per pixel (B, 3) nmgy."""

    kernels: torch.Tensor
    fwhm: np.ndarray
    depth: np.ndarray
    sigma: np.ndarray


def observing(conds: list, psf_model: str, moffat_beta: float) -> Observing:
    """PSF kernels, FWHM, depths and sky noise of each row's conditions."""
    psfsize = {"psfsize_r": [c.psfsize_r for c in conds]}
    kernels = psf_kernels_from_rows(psfsize, PIXSCALE_ARCSEC, psf_model, moffat_beta, DTYPE)
    fwhm = band_fwhm(torch.tensor(psfsize["psfsize_r"], dtype=DTYPE)).numpy()
    depth = np.array([c.psfdepth for c in conds])
    return Observing(kernels, fwhm, depth, sky_sigma_pix(depth, fwhm, PIXSCALE_ARCSEC))


def host_images(hosts: list[H.HostDraw], settings: RenderSettings, kernels: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) PSF-convolved host light (body + confuser feature), nmgy, no noise."""
    body = H.render_host_bodies(hosts, settings, DTYPE)
    feature = H.render_features(hosts, settings, DTYPE)
    host_unconv = body[:, None] * torch.as_tensor(H.host_band_flux(hosts), dtype=DTYPE)[:, :, None, None]
    host_unconv = host_unconv + feature[:, None] * torch.as_tensor(H.feature_band_flux(hosts), dtype=DTYPE)[:, :, None, None]
    return psf_convolve(host_unconv, kernels)


def position_columns(conds: list, npix: int) -> dict:
    """ra, dec, brickname, healpix_128 and stamp_size of each row."""
    ra = np.array([c.ra for c in conds])
    dec = np.array([c.dec for c in conds])
    return {"ra": ra, "dec": dec, "brickname": brick_names(ra, dec).astype(object),
            "healpix_128": healpix_nested(ra, dec, HEALPIX_NSIDE), "stamp_size": np.full(len(conds), npix, dtype=np.int64)}


def host_columns(hosts: list[H.HostDraw]) -> dict:
    """Host type, pool (N2 = confuser), confuser category and light parameters of each row."""
    return {"host_type": [h.host_type for h in hosts], "host_is_lrg": [h.is_lrg for h in hosts],
            "pool": ["N2" if h.confuser != "none" else "N1" for h in hosts],
            "confuser_category": [h.confuser for h in hosts],
            **{f"host_{k}": [asdict(h)[k] for h in hosts] for k in ("mag_g", "mag_r", "mag_z", "r_e", "n", "q", "phi")}}


def condition_columns(conds: list, obs: Observing) -> dict:
    """PSF FWHM, depth, sky sigma per band, depth regime and E(B-V) of each row."""
    return {
        **{f"psfsize_{b}": obs.fwhm[:, i] for i, b in enumerate(BANDS)},
        **{f"psfdepth_{b}": obs.depth[:, i] for i, b in enumerate(BANDS)},
        **{f"sigma_pix_{b}": obs.sigma[:, i] for i, b in enumerate(BANDS)},
        "depth_regime": [c.depth_regime for c in conds], "ebv": [c.ebv for c in conds],
    }


def simulate_shard(block: dict, dataset: str, part: int, seed: int, library: SourceLibrary | None = None) -> pd.DataFrame:
    """Simulate shard `part` of a whole synthetic dataset block (validated, defaults filled), its survey
    slice parsed as the simulate_survey stage parses it."""
    rows = shard_rows(block["n_pairs"], block["shard_size"], part)
    return simulate_rows(survey_settings(block, f"datasets.{dataset}"), dataset, rows, seed, library)


def simulate_rows(cfg: SurveySettings, dataset: str, rows: range, seed: int, library: SourceLibrary | None = None) -> pd.DataFrame:
    """Simulate the pairs with global indices `rows`; only `rows` depends on n_pairs and shard_size.

    library: the real-galaxy source library, required when cfg.source_model is ``real_galaxy``.
    """
    if len(rows) == 0:
        raise ValueError(f"empty row range {rows}")
    pool = None
    if cfg.source_model == "real_galaxy":
        if library is None:
            raise ValueError("source_model real_galaxy needs the source library (--library)")
        pool = GalaxyPool(library, cfg.source_subset, DTYPE)
    npix = cfg.stamp_size
    settings = RenderSettings(npix=npix, pixscale=PIXSCALE_ARCSEC)
    centres = field_centres(seed, dataset, cfg.footprint)
    rngs, hosts, conds, lensing = [], [], [], []
    for i in rows:
        rng = generator(seed, f"survey:{dataset}", i)
        conds.append(draw_conditions(rng, centres, cfg.footprint))
        hosts.append(H.draw_host(rng, cfg.hosts.lrg_fraction, cfg.hosts.confuser_fraction))
        lensing.append(_draw_lensing(rng, cfg, hosts[-1], pool))
        rngs.append(rng)
    obs = observing(conds, cfg.psf_model, cfg.moffat_beta)
    host_img = host_images(hosts, settings, obs.kernels)

    prior = cfg.source_prior
    arcs, mu, snr, draws = accepted_arcs(
        lensing, lambda recs, idx: render_rows(recs, settings, obs.kernels[idx], pool),
        torch.as_tensor(obs.sigma[:, 1], dtype=DTYPE), np.full(len(rows), prior.min_arc_snr), prior.min_mu_eff,
        prior.max_draws, lambda i: _draw_lensing(rngs[i], cfg, hosts[i], pool))
    shortcut = _core_shortcut(host_img, cfg.plant_core_shortcut) if cfg.plant_core_shortcut else torch.zeros_like(host_img)

    noise = np.stack([rr.standard_normal((len(BANDS), npix, npix)) for rr in rngs]) * obs.sigma[:, :, None, None]
    arc_np = arcs.numpy()
    if cfg.add_poisson_noise:
        shot = np.stack([rr.standard_normal((len(BANDS), npix, npix)) for rr in rngs])
        arc_np = arc_np + poisson_arc_noise(torch.from_numpy(arc_np), torch.tensor(cfg.gain_e_per_nmgy), torch.from_numpy(shot)).numpy()
    ctrl = host_img.numpy() + noise
    stamp = host_img.numpy() + arc_np + shortcut.numpy() + noise

    out = {
        "pair_id": [f"{dataset}-{i:07d}" for i in rows],
        "host_id": [f"{dataset}-h{i:07d}" for i in rows],
        "stamp_npz": [encode_bands(s) for s in stamp],
        "ctrl_stamp_npz": [encode_bands(c) for c in ctrl],
        **position_columns(conds, npix),
        **host_columns(hosts),
        "tier": np.where(snr.numpy() >= cfg.tier_a_min_arc_snr, "A", "B").astype(object),
        **_columns(lensing),
        "mu_eff": mu.numpy(), "arc_snr": snr.numpy(),
        "arc_flux_r": arcs[:, 1].sum(dim=(-1, -2)).numpy(),
        "n_source_draws": draws,
        **condition_columns(conds, obs),
        "core_shortcut_flux_r": shortcut[:, 1].sum(dim=(-1, -2)).numpy(),
    }
    return pd.DataFrame(out)
