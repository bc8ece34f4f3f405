"""Rotations between the sky frame and a profile's major-axis frame."""

from __future__ import annotations

import torch


def expand_like(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a per-system parameter (B,) so it broadcasts against x (B, ...)."""
    return p.reshape(p.shape + (1,) * (x.dim() - p.dim()))


def to_major_axis_frame(
    x: torch.Tensor, y: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor, phi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift to centre (x0, y0) and rotate by -phi so the major axis lies on +x.

    All inputs in arcsec (positions) and radians (phi); parameters have shape (B,).
    """
    dx = x - expand_like(x0, x)
    dy = y - expand_like(y0, y)
    c = torch.cos(expand_like(phi, x))
    s = torch.sin(expand_like(phi, x))
    return c * dx + s * dy, -s * dx + c * dy


def from_major_axis_frame(
    vx: torch.Tensor, vy: torch.Tensor, phi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate a vector field given in the major-axis frame back to the sky frame."""
    c = torch.cos(expand_like(phi, vx))
    s = torch.sin(expand_like(phi, vx))
    return c * vx - s * vy, s * vx + c * vy
