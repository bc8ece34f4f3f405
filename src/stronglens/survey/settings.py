"""Settings of the simulated survey (a synthetic dataset block), parsed once at the stage boundary.

`SurveySettings` is the slice every shard of a synthetic dataset depends on
(docs/science.md sections 2-4): not n_pairs or shard_size, which reach a
shard only as its row range. Lengths in arcsec, angles in degrees on the sky,
magnitudes AB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stronglens.config.settings import parse_settings, settings_keys


@dataclass(frozen=True)
class Footprint:
    """Where the fields lie: n_fields centres uniform on the sphere in ra/dec limits (deg), each a disc of
    field_radius_deg; fields below dec des_like_dec_max (deg) get DES-like depths."""

    n_fields: int
    ra_min: float
    ra_max: float
    dec_min: float
    dec_max: float
    field_radius_deg: float
    des_like_dec_max: float


@dataclass(frozen=True)
class HostMix:
    """Fractions of LRG-like hosts and of confusers (ring, spiral, merger) among the hosts."""

    lrg_fraction: float
    confuser_fraction: float


@dataclass(frozen=True)
class LensPrior:
    """SIE axis ratio range q, external shear amplitude up to shear_max, and whether an LRG host's
    light sets the lens q and position angle (follow_host_lrg)."""

    q: tuple[float, float]
    shear_max: float
    follow_host_lrg: bool = True


@dataclass(frozen=True)
class SourceDrawPrior:
    """What one source draw reads: beta_frac (source offset / theta_E, area-weighted), r magnitude range,
    half-light radius re_arcsec (arcsec), Sersic n and axis ratio q ranges, colour prior name
    (``observed`` or ``restframe``), clump probability and clump flux fraction range."""

    beta_frac: tuple[float, float]
    mag_r: tuple[float, float]
    re_arcsec: tuple[float, float]
    n: tuple[float, float]
    q: tuple[float, float]
    colours: str
    clump_probability: float
    clump_flux_fraction: tuple[float, float]


@dataclass(frozen=True)
class SourcePrior(SourceDrawPrior):
    """The survey's source prior: a draw's prior plus the Einstein radius range theta_e (arcsec) and the
    acceptance cuts: redraw up to max_draws times until the r-band arc SNR reaches min_arc_snr and the
    effective magnification mu_eff reaches min_mu_eff."""

    theta_e: tuple[float, float]
    min_arc_snr: float
    max_draws: int
    min_mu_eff: float = 0.0


@dataclass(frozen=True)
class SurveySettings:
    """One synthetic survey: stamp_size (pixels, 0.262"/pix), footprint, host mix, lens and source priors,
    PSF model (``gaussian`` or ``moffat`` with moffat_beta), an optional planted core shortcut
    (amplitude, 0 = off), arc shot noise (add_poisson_noise, gain_e_per_nmgy in e-/nanomaggy) and the
    arc SNR from which a pair is tier A (tier_a_min_arc_snr), and the arcs' source model: ``sersic``
    (Sersic + clumps) or ``real_galaxy`` (a galaxy of the source library's ``source_subset``, at the
    prior's half-light radius and magnitudes)."""

    stamp_size: int
    footprint: Footprint
    hosts: HostMix
    lens_prior: LensPrior
    source_prior: SourcePrior
    psf_model: str
    moffat_beta: float
    plant_core_shortcut: float
    add_poisson_noise: bool
    gain_e_per_nmgy: float
    tier_a_min_arc_snr: float
    source_model: str = "sersic"
    source_subset: str = "injection"


def survey_settings(block: dict[str, Any], where: str = "dataset") -> SurveySettings:
    """The survey slice of a whole (validated) dataset block, parsed: what the simulate_survey rule passes."""
    return parse_settings(SurveySettings, {k: block[k] for k in settings_keys(SurveySettings) if k in block}, where)


@dataclass(frozen=True)
class SkyTiers:
    """What makes the stand-in sky a labelled survey (docs/science.md section 11).

    negatives_per_lens: negatives (non-lens stamps) per lens, an exact ratio by row index; tier_a_fraction:
    share of lenses that are tier A (``confirmed``: bright, obvious), the rest tier B (``visual grade``:
    fainter); tier_a_mag_r / tier_b_mag_r: unlensed source r magnitude range per tier (AB); tier_a_min_arc_snr /
    tier_b_min_arc_snr: the r-band arc SNR a lens of the tier must reach (redrawn otherwise);
    lens_lrg_fraction: share of LRG-like hosts among the lenses (negatives follow the host mix)."""

    negatives_per_lens: int = 10
    tier_a_fraction: float = 0.4
    tier_a_mag_r: tuple[float, float] = (20.5, 22.5)
    tier_b_mag_r: tuple[float, float] = (22.5, 24.0)
    tier_a_min_arc_snr: float = 30.0
    tier_b_min_arc_snr: float = 8.0
    lens_lrg_fraction: float = 0.9


@dataclass(frozen=True)
class SkySettings:
    """A stand-in for a real labelled survey (``source: sky``): unpaired stamps, real-galaxy lenses from the
    library's ``sky`` subset, Moffat PSF (moffat_beta), host and arc shot noise (gain_e_per_nmgy,
    e-/nanomaggy), Galactic extinction; footprint, host mix, lens and source priors as for a synthetic
    survey (the source prior's mag_r is replaced per tier), and the tiers and negative ratio of `sky`."""

    stamp_size: int
    footprint: Footprint
    hosts: HostMix
    lens_prior: LensPrior
    source_prior: SourcePrior
    moffat_beta: float
    gain_e_per_nmgy: float
    sky: SkyTiers


def sky_settings(block: dict[str, Any], where: str = "dataset") -> SkySettings:
    """The sky slice of a whole (validated) dataset block, parsed: what the simulate_sky rule passes."""
    return parse_settings(SkySettings, {k: block[k] for k in settings_keys(SkySettings) if k in block}, where)
