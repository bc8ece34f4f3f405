"""Elliptical Sersic surface brightness, normalised to a total flux.

Conventions (stated because codes differ):
* ``r_e`` is the half-light radius in the product-average convention of
  lenstronomy's ``SERSIC_ELLIPSE``: the elliptical radius is
  ``R = sqrt(q x'^2 + y'^2 / q)`` in the major-axis frame, so the isophote
  R = r_e has semi-axes r_e / sqrt(q) and r_e * sqrt(q). (Galfit and caustics
  quote the major axis instead: r_major = r_e / sqrt(q).)
* ``b_n`` is exact by default, ``gammaincinv(2n, 1/2)``; lenstronomy uses the
  approximation ``1.9992 n - 0.3271`` (see `lenstronomy_bn`), which a caller
  can pass to compare like with like.
* Output is surface brightness in flux units per arcsec^2 for a total
  (untruncated, unlensed) flux of 1; multiply by the flux in nanomaggies.
  Because the product-average radius preserves area, the total flux is
  ``2 pi n r_e^2 exp(b_n) b_n^(-2n) Gamma(2n) I_e`` for any q.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import gammaincinv

from stronglens.physics.geometry import expand_like, to_major_axis_frame

_R_FLOOR = 1e-9  # arcsec; keeps the cusp finite at the exact centre


def exact_bn(n: torch.Tensor) -> torch.Tensor:
    """Exact Sersic b_n = gammaincinv(2n, 0.5), computed in float64 on the CPU."""
    bn = gammaincinv(2.0 * n.detach().cpu().double().numpy(), 0.5)
    return torch.as_tensor(np.asarray(bn), dtype=n.dtype, device=n.device)


def lenstronomy_bn(n: torch.Tensor) -> torch.Tensor:
    """lenstronomy's approximation b_n = 1.9992 n - 0.3271 (for cross-checks)."""
    return 1.9992 * n - 0.3271


def sersic_ie_for_unit_flux(r_e: torch.Tensor, n: torch.Tensor, b_n: torch.Tensor) -> torch.Tensor:
    """Surface brightness at r_e (per arcsec^2) that makes the total flux 1."""
    log_norm = (
        math.log(2.0 * math.pi)
        + torch.log(n)
        + 2.0 * torch.log(r_e)
        + b_n
        - 2.0 * n * torch.log(b_n)
        + torch.lgamma(2.0 * n)
    )
    return torch.exp(-log_norm)


def sersic_sb(
    x: torch.Tensor,
    y: torch.Tensor,
    r_e: torch.Tensor,
    n: torch.Tensor,
    q: torch.Tensor,
    phi: torch.Tensor,
    x0: torch.Tensor,
    y0: torch.Tensor,
    b_n: torch.Tensor | None = None,
) -> torch.Tensor:
    """Unit-flux elliptical Sersic surface brightness (per arcsec^2) at (x, y).

    Parameters have shape (B,), coordinates (B, ...), all lengths in arcsec.
    """
    if b_n is None:
        b_n = exact_bn(n)
    xm, ym = to_major_axis_frame(x, y, x0, y0, phi)
    qq = expand_like(q, xm)
    r2 = (qq * xm * xm + ym * ym / qq).clamp_min(_R_FLOOR**2)
    # (R / r_e)^(1/n) as exp(log(R^2 / r_e^2) / (2n)): one log and one exp, no sqrt or pow.
    inv_re2 = expand_like(1.0 / (r_e * r_e), r2)
    half_inv_n = expand_like(0.5 / n, r2)
    ratio = torch.exp(torch.log(r2 * inv_re2) * half_inv_n)
    bn = expand_like(b_n, r2)
    ie = expand_like(sersic_ie_for_unit_flux(r_e, n, b_n), r2)
    return ie * torch.exp(bn - bn * ratio)


def gaussian_sb(
    x: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor
) -> torch.Tensor:
    """Unit-flux circular Gaussian surface brightness (per arcsec^2); sigma in arcsec."""
    a = expand_like(-0.5 / (sigma * sigma), x)
    norm = expand_like(1.0 / (2.0 * math.pi * sigma * sigma), x)
    r2 = (x - expand_like(x0, x)).square_() + (y - expand_like(y0, y)).square_()
    return norm * torch.exp(r2 * a)
