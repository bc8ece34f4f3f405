"""A lensed source: an elliptical Sersic plus optional Gaussian star-forming clumps.

The clumps are part of the source before normalisation: a source with total
flux F puts ``(1 - sum(clump_frac)) F`` in the Sersic and ``clump_frac_k F`` in
clump k, so the unlensed total stays F. Clump positions are absolute
source-plane positions (arcsec, same origin as the lens centre). All three
bands share one morphology; colours enter as per-band total fluxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stronglens.physics.batched import BatchedTensors
from stronglens.physics.sersic import exact_bn, gaussian_sb, sersic_sb


@dataclass
class SourceParams(BatchedTensors):
    """Batched source parameters; every field has shape (B,) or (B, K) for clumps.

    x0, y0: source centre in the source plane (arcsec); r_e: half-light radius
    (arcsec, product average); n: Sersic index; q, phi: axis ratio and position
    angle (radians). clump_*: (B, K); a clump with clump_frac = 0 is absent.
    b_n: optional override of the Sersic b_n (default exact).
    """

    x0: torch.Tensor
    y0: torch.Tensor
    r_e: torch.Tensor
    n: torch.Tensor
    q: torch.Tensor
    phi: torch.Tensor
    clump_x: torch.Tensor
    clump_y: torch.Tensor
    clump_sigma: torch.Tensor
    clump_frac: torch.Tensor
    b_n: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.b_n is None:
            self.b_n = exact_bn(self.n)


def source_sb(x: torch.Tensor, y: torch.Tensor, src: SourceParams) -> torch.Tensor:
    """Unit-total-flux surface brightness (per arcsec^2) of the source at (x, y).

    x, y: source-plane positions (arcsec) of shape (B, ...).
    """
    frac_clumps = src.clump_frac.sum(dim=1)
    sb = sersic_sb(x, y, src.r_e, src.n, src.q, src.phi, src.x0, src.y0, src.b_n)
    sb = sb * (1.0 - frac_clumps).reshape((-1,) + (1,) * (x.dim() - 1))
    for k in range(src.clump_frac.shape[1]):
        frac = src.clump_frac[:, k]
        # Eager mode skips a clump slot no source in the batch uses; a compiled
        # graph evaluates every slot (absent clumps have frac 0, sigma 1).
        if not torch.compiler.is_compiling() and not bool((frac > 0).any()):
            continue
        g = gaussian_sb(x, y, src.clump_sigma[:, k], src.clump_x[:, k], src.clump_y[:, k])
        sb = sb + frac.reshape((-1,) + (1,) * (x.dim() - 1)) * g
    return sb
