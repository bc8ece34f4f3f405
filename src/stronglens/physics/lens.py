"""The lens: SIE plus external shear, sharing one centre."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stronglens.physics.batched import BatchedTensors
from stronglens.physics.shear import shear_deflection
from stronglens.physics.sie import sie_deflection


@dataclass
class LensParams(BatchedTensors):
    """Batched lens parameters, each of shape (B,).

    theta_e: Einstein radius (arcsec, lenstronomy's product-average convention);
    q, phi: axis ratio and position angle (radians from +x) of the mass;
    x0, y0: lens centre (arcsec); gamma1, gamma2: external shear components.
    """

    theta_e: torch.Tensor
    q: torch.Tensor
    phi: torch.Tensor
    x0: torch.Tensor
    y0: torch.Tensor
    gamma1: torch.Tensor
    gamma2: torch.Tensor


def deflection(x: torch.Tensor, y: torch.Tensor, lens: LensParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Total deflection (arcsec) of SIE + shear at image-plane (x, y) in arcsec."""
    ax, ay = sie_deflection(x, y, lens.theta_e, lens.q, lens.phi, lens.x0, lens.y0)
    sx, sy = shear_deflection(x, y, lens.gamma1, lens.gamma2, lens.x0, lens.y0)
    return ax + sx, ay + sy


def ray_shoot(x: torch.Tensor, y: torch.Tensor, lens: LensParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Source-plane positions beta = theta - alpha(theta), arcsec."""
    ax, ay = deflection(x, y, lens)
    return x - ax, y - ay
