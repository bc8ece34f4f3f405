"""Source and lens priors (docs/science.md sections 3, 5 and 8).

Each draw function takes one row's numpy Generator and its prior (a settings
object of `stronglens.survey.settings`, or plain ranges), and returns plain floats, so a row's parameters depend only on its own
generator. Angles in radians, lengths in arcsec, magnitudes AB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stronglens.physics.shear import shear_components
from stronglens.survey.settings import SourceDrawPrior
from stronglens.survey.synthetic.light import SersicLight

MAX_CLUMPS = 4

# Prior sets for source colours: (mean, sd) of g-r and r-z.
COLOUR_PRIORS: dict[str, dict[str, tuple[float, float]]] = {
    # Observed colours of real lensed sources in DR10 (388 lenses): red-ish.
    "observed": {"g_r": (1.15, 0.30), "r_z": (0.85, 0.30)},
    # The seeds' first, rest-frame-like priors.
    "restframe": {"g_r": (0.20, 0.25), "r_z": (0.10, 0.25)},
}


@dataclass
class SourceDraw(SersicLight):
    """One source: position (arcsec, relative to the lens centre) and Sersic light."""

    x: float
    y: float
    beta_frac: float
    clump_x: list[float] = field(default_factory=list)
    clump_y: list[float] = field(default_factory=list)
    clump_sigma: list[float] = field(default_factory=list)
    clump_frac: list[float] = field(default_factory=list)


@dataclass
class LensDraw:
    """One lens: SIE (theta_e arcsec, q, phi rad) and external shear components."""

    theta_e: float
    q: float
    phi: float
    gamma1: float
    gamma2: float


def area_weighted_beta_frac(rng: np.random.Generator, lo: float, hi: float) -> float:
    """beta / theta_E drawn uniformly in area: sqrt(U(lo^2, hi^2))."""
    return float(np.sqrt(rng.uniform(lo * lo, hi * hi)))


def draw_lens(rng: np.random.Generator, theta_e_range: tuple[float, float], q_range: tuple[float, float],
              shear_max: float, host_q: float | None, host_phi: float | None) -> LensDraw:
    """Lens draw: theta_E (arcsec) uniform in its range; q, phi from the host (LRG hosts, host model 2) or
    random in q_range; shear amplitude uniform up to shear_max."""
    theta_e = float(rng.uniform(*theta_e_range))
    q_lo, q_hi = q_range
    if host_q is not None and host_phi is not None:
        q = float(np.clip(host_q + rng.normal(0.0, 0.05), q_lo, q_hi))
        phi = float(host_phi + rng.normal(0.0, 0.1))
    else:
        q = float(rng.uniform(q_lo, q_hi))
        phi = float(rng.uniform(0.0, np.pi))
    g1, g2 = shear_components(float(rng.uniform(0.0, shear_max)), float(rng.uniform(0.0, np.pi)))
    return LensDraw(theta_e, q, phi, g1, g2)


def draw_source(rng: np.random.Generator, prior: SourceDrawPrior, theta_e: float) -> SourceDraw:
    """Source draw: area-weighted offset, Sersic shape, colours, optional clumps."""
    beta_frac = area_weighted_beta_frac(rng, *prior.beta_frac)
    ang = rng.uniform(0.0, 2.0 * np.pi)
    x, y = beta_frac * theta_e * np.cos(ang), beta_frac * theta_e * np.sin(ang)
    mag_r = float(rng.uniform(*prior.mag_r))
    colours = COLOUR_PRIORS[prior.colours]
    g_r = rng.normal(*colours["g_r"])
    r_z = rng.normal(*colours["r_z"])
    r_e = float(rng.uniform(*prior.re_arcsec))
    src = SourceDraw(
        x=float(x), y=float(y), beta_frac=beta_frac,
        mag_g=float(mag_r + g_r), mag_r=mag_r, mag_z=float(mag_r - r_z),
        r_e=r_e, n=float(rng.uniform(*prior.n)), q=float(rng.uniform(*prior.q)),
        phi=float(rng.uniform(0.0, np.pi)),
    )
    if rng.uniform() < prior.clump_probability:
        k = int(rng.integers(1, MAX_CLUMPS + 1))
        total = rng.uniform(*prior.clump_flux_fraction)
        fracs = rng.dirichlet(np.ones(k)) * total
        src.clump_frac = [float(f) for f in fracs]
        src.clump_x = [float(src.x + rng.normal(0.0, r_e)) for _ in range(k)]
        src.clump_y = [float(src.y + rng.normal(0.0, r_e)) for _ in range(k)]
        src.clump_sigma = [float(max(0.02, rng.uniform(0.15, 0.4) * r_e)) for _ in range(k)]
    return src
