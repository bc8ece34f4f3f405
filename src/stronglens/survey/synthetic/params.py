"""Row parameters <-> batched engine inputs.

The survey writes every lens, source and PSF parameter of a pair into its row;
`engine_inputs` turns those columns back into `LensParams`, `SourceParams`,
band fluxes and PSF kernels, so an arc can be re-rendered from its row alone
(the tests do, and so can any later stage that needs the noiseless arc).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from stronglens.physics.lens import LensParams
from stronglens.physics.photometry import mag_to_nmgy
from stronglens.physics.psf import make_psf_kernels
from stronglens.physics.source import SourceParams
from stronglens.survey.synthetic.priors import MAX_CLUMPS


def _col(rows: Mapping[str, Sequence], name: str, dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(rows[name], dtype=np.float64), dtype=dtype)


def _padded(rows: Mapping[str, Sequence], name: str, fill: float, dtype) -> torch.Tensor:
    out = np.full((len(rows[name]), MAX_CLUMPS), fill, dtype=np.float64)
    for i, values in enumerate(rows[name]):
        values = np.asarray(values, dtype=np.float64)
        out[i, : len(values)] = values
    return torch.as_tensor(out, dtype=dtype)


def lens_from_rows(rows: Mapping[str, Sequence], dtype=torch.float64) -> LensParams:
    """LensParams from columns theta_e_arcsec, lens_q, lens_phi, shear_gamma1/2 (lens at 0, 0)."""
    te = _col(rows, "theta_e_arcsec", dtype)
    zero = torch.zeros_like(te)
    return LensParams(
        te, _col(rows, "lens_q", dtype), _col(rows, "lens_phi", dtype), zero, zero,
        _col(rows, "shear_gamma1", dtype), _col(rows, "shear_gamma2", dtype),
    )


def source_from_rows(rows: Mapping[str, Sequence], dtype=torch.float64) -> SourceParams:
    """SourceParams from the src_* and clump_* columns."""
    return SourceParams(
        _col(rows, "src_x_arcsec", dtype), _col(rows, "src_y_arcsec", dtype), _col(rows, "src_re_arcsec", dtype),
        _col(rows, "src_n", dtype), _col(rows, "src_q", dtype), _col(rows, "src_phi", dtype),
        _padded(rows, "clump_x_arcsec", 0.0, dtype), _padded(rows, "clump_y_arcsec", 0.0, dtype),
        _padded(rows, "clump_sigma_arcsec", 1.0, dtype), _padded(rows, "clump_frac", 0.0, dtype),
    )


def source_band_flux(rows: Mapping[str, Sequence], dtype=torch.float64) -> torch.Tensor:
    """(B, 3) unlensed source flux (nmgy) in g, r, z from src_mag_*."""
    mags = np.stack([np.asarray(rows[f"src_mag_{b}"], dtype=np.float64) for b in "grz"], axis=1)
    return torch.as_tensor(mag_to_nmgy(mags), dtype=dtype)


def psf_kernels_from_rows(
    rows: Mapping[str, Sequence], pixscale: float, kind: str, moffat_beta: float, dtype=torch.float64
) -> torch.Tensor:
    """(B, 3, k, k) PSF kernels from psfsize_r."""
    return make_psf_kernels(_col(rows, "psfsize_r", dtype), pixscale, kind, moffat_beta)


def lens_source_columns(lens, src) -> dict:
    """The row columns of one lens draw and one source draw (the pair schema's lensing fields)."""
    return {
        "theta_e_arcsec": lens.theta_e, "lens_q": lens.q, "lens_phi": lens.phi,
        "shear_gamma1": lens.gamma1, "shear_gamma2": lens.gamma2,
        "beta_frac": src.beta_frac, "src_x_arcsec": src.x, "src_y_arcsec": src.y,
        "src_mag_g": src.mag_g, "src_mag_r": src.mag_r, "src_mag_z": src.mag_z,
        "src_re_arcsec": src.r_e, "src_n": src.n, "src_q": src.q, "src_phi": src.phi,
        "n_clumps": len(src.clump_frac), "clump_x_arcsec": src.clump_x, "clump_y_arcsec": src.clump_y,
        "clump_sigma_arcsec": src.clump_sigma, "clump_frac": src.clump_frac,
    }
