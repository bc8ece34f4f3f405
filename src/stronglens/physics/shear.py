"""External shear deflection, lenstronomy's ``SHEAR`` convention.

``alpha = (g1 x + g2 y, g2 x - g1 y)`` about the lens centre (x0, y0), where
``g1 = gamma cos(2 phi_gamma)`` and ``g2 = gamma sin(2 phi_gamma)``.
"""

from __future__ import annotations

import math

import torch

from stronglens.physics.geometry import expand_like


def shear_deflection(
    x: torch.Tensor,
    y: torch.Tensor,
    gamma1: torch.Tensor,
    gamma2: torch.Tensor,
    x0: torch.Tensor,
    y0: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deflection (arcsec) of an external shear at (x, y) arcsec; params shape (B,)."""
    dx = x - expand_like(x0, x)
    dy = y - expand_like(y0, y)
    g1 = expand_like(gamma1, x)
    g2 = expand_like(gamma2, x)
    return g1 * dx + g2 * dy, g2 * dx - g1 * dy


def shear_components(gamma: float | torch.Tensor, angle: float | torch.Tensor) -> tuple:
    """(g1, g2) from shear strength and angle (radians from +x)."""
    if isinstance(gamma, torch.Tensor) or isinstance(angle, torch.Tensor):
        return gamma * torch.cos(2 * angle), gamma * torch.sin(2 * angle)
    return gamma * math.cos(2 * angle), gamma * math.sin(2 * angle)
