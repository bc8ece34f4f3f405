"""Singular isothermal ellipsoid (SIE) deflection, lenstronomy's convention.

``theta_e`` is the Einstein radius in the intermediate-axis (product-average)
convention of lenstronomy's ``SIE``: the major-axis-frame normalisation is
``b = theta_e * sqrt(q)``. With ``psi = sqrt(q^2 x^2 + y^2)`` and
``f = sqrt(1 - q^2)`` (x along the major axis):

    alpha_x = b / f * atan(f x / psi)
    alpha_y = b / f * atanh(f y / psi)

For q -> 1 this tends to the SIS, ``alpha = theta_e (x, y) / r``. The series
``atan(f u)/f ~ u - f^2 u^3 / 3`` and ``atanh(f u)/f ~ u + f^2 u^3 / 3`` is used
when f is tiny, so q = 1 exactly is well defined and q -> 1 is continuous.
"""

from __future__ import annotations

import torch

from stronglens.physics.geometry import expand_like, from_major_axis_frame, to_major_axis_frame

_F_SERIES = 1e-4  # below this f = sqrt(1 - q^2) the third-order series is exact to float64
_PSI_FLOOR = 1e-12  # arcsec; the deflection at the exact centre is set to 0


def sie_deflection(
    x: torch.Tensor,
    y: torch.Tensor,
    theta_e: torch.Tensor,
    q: torch.Tensor,
    phi: torch.Tensor,
    x0: torch.Tensor,
    y0: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deflection (arcsec) of an SIE at image-plane positions (x, y) in arcsec.

    Parameters have shape (B,); x and y have shape (B, ...). theta_e = 0 gives
    zero deflection.
    """
    xm, ym = to_major_axis_frame(x, y, x0, y0, phi)
    qq = expand_like(q, xm)
    b = expand_like(theta_e, xm) * torch.sqrt(qq)
    psi = torch.sqrt(qq * qq * xm * xm + ym * ym).clamp_min(_PSI_FLOOR)
    u = xm / psi  # |u| <= 1 / q
    v = ym / psi  # |v| <= 1, so |f v| < 1 and atanh stays finite
    f = torch.sqrt((1.0 - qq * qq).clamp_min(0.0))
    small = f < _F_SERIES
    # Under torch.compile the branch-free form is always taken (no data-dependent branch).
    if torch.compiler.is_compiling() or bool(small.any()):
        f_safe = torch.where(small, torch.ones_like(f), f)
        f2 = f * f
        ax = torch.where(small, u - f2 * u**3 / 3.0, torch.atan(f_safe * u) / f_safe)
        ay = torch.where(small, v + f2 * v**3 / 3.0, torch.atanh(f_safe * v) / f_safe)
    else:
        ax = torch.atan(f * u) / f
        ay = torch.atanh(f * v) / f
    return from_major_axis_frame(b * ax, b * ay, phi)
