"""Host galaxies of the synthetic survey: ordinary galaxies, LRGs and confusers.

Types follow the Legacy Surveys Tractor models: DEV (n = 4), EXP (n = 1),
SER (free n) and REX (round exponential). LRG-like hosts (DEV/SER, r 18.5-21.5,
r_e 0.6-2.2", red grz colours) are the usual lenses; pool N2 confusers add a
feature that mimics an arc without lensing: a star-forming ring, two blue
spiral arms, or a merging companion. Lengths in arcsec, angles in radians,
r_e in the product-average convention of `stronglens.physics.sersic`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from stronglens.physics.geometry import expand_like, to_major_axis_frame
from stronglens.physics.lens import LensParams
from stronglens.physics.photometry import mag_to_nmgy
from stronglens.physics.pixels import pixel_grid
from stronglens.physics.render import RenderSettings, lensed_unit_image
from stronglens.physics.source import SourceParams
from stronglens.survey.synthetic.light import SersicLight

CONFUSER_KINDS = ("ring", "spiral", "merger")


@dataclass
class HostDraw(SersicLight):
    """One host: Tractor-like type, Sersic light, and an optional confuser feature."""

    host_type: str
    is_lrg: bool
    confuser: str = "none"
    feature_frac: float = 0.0  # flux of the feature / flux of the host, per band
    feature_g_r: float = 0.0
    feature_r_z: float = 0.0
    ring_radius: float = 0.0
    ring_width: float = 0.0
    spiral_pitch: float = 0.0
    companion_dx: float = 0.0
    companion_dy: float = 0.0
    companion_re: float = 0.0


def draw_host(rng: np.random.Generator, lrg_fraction: float, confuser_fraction: float) -> HostDraw:
    """Draw a host: LRG with probability lrg_fraction, else ordinary; maybe a confuser."""
    if rng.uniform() < lrg_fraction:
        host_type = "DEV" if rng.uniform() < 0.5 else "SER"
        n = 4.0 if host_type == "DEV" else float(rng.uniform(2.5, 5.0))
        mag_r = float(rng.uniform(18.5, 21.5))
        host = HostDraw(
            host_type=host_type, is_lrg=True, mag_g=mag_r + float(rng.normal(1.6, 0.15)), mag_r=mag_r,
            mag_z=mag_r - float(rng.normal(1.0, 0.12)), r_e=float(rng.uniform(0.6, 2.2)), n=n,
            q=float(rng.uniform(0.5, 1.0)), phi=float(rng.uniform(0.0, np.pi)),
        )
    else:
        host_type = str(rng.choice(["SER", "EXP", "REX"]))
        n = {"SER": float(rng.uniform(0.8, 2.5)), "EXP": 1.0, "REX": 1.0}[host_type]
        q = 1.0 if host_type == "REX" else float(rng.uniform(0.2, 1.0))
        r_e = float(rng.uniform(0.2, 0.8)) if host_type == "REX" else float(rng.uniform(0.3, 1.5))
        mag_r = float(rng.uniform(19.5, 22.5))
        host = HostDraw(
            host_type=host_type, is_lrg=False, mag_g=mag_r + float(rng.normal(0.9, 0.25)), mag_r=mag_r,
            mag_z=mag_r - float(rng.normal(0.6, 0.2)), r_e=r_e, n=n, q=q, phi=float(rng.uniform(0.0, np.pi)),
        )
    if rng.uniform() < confuser_fraction:
        _add_confuser(rng, host)
    return host


def _add_confuser(rng: np.random.Generator, host: HostDraw) -> None:
    host.confuser = str(rng.choice(CONFUSER_KINDS))
    host.feature_frac = float(rng.uniform(0.2, 0.6))
    host.feature_g_r = float(rng.normal(0.4, 0.15))  # star-forming: bluer than the host
    host.feature_r_z = float(rng.normal(0.3, 0.15))
    if host.confuser == "ring":
        host.ring_radius = float(rng.uniform(1.2, 3.0))
        host.ring_width = float(rng.uniform(0.12, 0.35))
    elif host.confuser == "spiral":
        host.spiral_pitch = float(rng.uniform(math.radians(12), math.radians(30)))
        host.r_e = max(host.r_e, float(rng.uniform(0.8, 1.6)))
    else:
        sep = float(rng.uniform(1.0, 3.0))
        ang = float(rng.uniform(0.0, 2 * np.pi))
        host.companion_dx, host.companion_dy = sep * math.cos(ang), sep * math.sin(ang)
        host.companion_re = float(rng.uniform(0.2, 0.8))
        host.feature_g_r = float(rng.normal(0.9, 0.2))
        host.feature_r_z = float(rng.normal(0.6, 0.15))


def host_band_flux(hosts: list[HostDraw]) -> np.ndarray:
    """(B, 3) host fluxes in g, r, z (nmgy)."""
    return mag_to_nmgy(np.array([[h.mag_g, h.mag_r, h.mag_z] for h in hosts]))


def feature_band_flux(hosts: list[HostDraw]) -> np.ndarray:
    """(B, 3) confuser-feature fluxes (nmgy): feature_frac of the host's r flux, own colours."""
    r = mag_to_nmgy(np.array([h.mag_r for h in hosts])) * np.array([h.feature_frac for h in hosts])
    g = r * 10 ** (-0.4 * np.array([h.feature_g_r for h in hosts]))
    z = r * 10 ** (0.4 * np.array([h.feature_r_z for h in hosts]))
    return np.stack([g, r, z], axis=1)


def _tensor(values, dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=dtype)


def _unlensed(src: SourceParams, settings: RenderSettings) -> torch.Tensor:
    """Flux per pixel (B, H, W) of unit-flux sources seen without a lens."""
    zeros = torch.zeros_like(src.r_e)
    no_lens = LensParams(zeros, torch.ones_like(zeros), zeros, zeros, zeros, zeros, zeros)
    return lensed_unit_image(no_lens, src, settings)[0]


def _sersic_sources(x0, y0, r_e, n, q, phi, dtype) -> SourceParams:
    b = len(r_e)
    empty = torch.zeros((b, 1), dtype=dtype)
    return SourceParams(
        _tensor(x0, dtype), _tensor(y0, dtype), _tensor(r_e, dtype), _tensor(n, dtype),
        _tensor(q, dtype), _tensor(phi, dtype), empty, empty, torch.ones_like(empty), empty,
    )


def render_host_bodies(hosts: list[HostDraw], settings: RenderSettings, dtype=torch.float64) -> torch.Tensor:
    """Unit-flux images (B, H, W) of the hosts' Sersic bodies, before the PSF."""
    src = _sersic_sources(
        [0.0] * len(hosts), [0.0] * len(hosts), [h.r_e for h in hosts], [h.n for h in hosts],
        [h.q for h in hosts], [h.phi for h in hosts], dtype,
    )
    return _unlensed(src, settings)


def _normalised(shape: torch.Tensor) -> torch.Tensor:
    return shape / shape.sum(dim=(-1, -2), keepdim=True).clamp_min(1e-30)


_FEATURE_SUB = 2  # rings and arms are smooth: 2x2 sub-pixels are enough


def _host_frame(hosts: list[HostDraw], settings: RenderSettings, dtype, q_floor: float):
    """Sub-pixel coordinates in each host's major-axis frame and its (floored) axis ratio."""
    y, x = pixel_grid(settings.npix, settings.pixscale, _FEATURE_SUB, dtype=dtype)
    b = len(hosts)
    zero = torch.zeros(b, dtype=dtype)
    xm, ym = to_major_axis_frame(x.expand(b, -1, -1), y.expand(b, -1, -1), zero, zero, _tensor([h.phi for h in hosts], dtype))
    q = expand_like(_tensor([h.q for h in hosts], dtype), xm).clamp_min(q_floor)
    return xm, ym, q


def _pixel_shapes(shape: torch.Tensor, npix: int) -> torch.Tensor:
    """Average sub-pixels to native pixels and normalise each image to unit sum."""
    s = _FEATURE_SUB
    return _normalised(shape.reshape(shape.shape[0], npix, s, npix, s).mean(dim=(2, 4)))


def _ring_shapes(hosts: list[HostDraw], settings: RenderSettings, dtype) -> torch.Tensor:
    xm, ym, q = _host_frame(hosts, settings, dtype, 0.5)
    r = torch.sqrt(q * xm * xm + ym * ym / q)
    r0 = expand_like(_tensor([h.ring_radius for h in hosts], dtype), r)
    w = expand_like(_tensor([h.ring_width for h in hosts], dtype), r)
    return _pixel_shapes(torch.exp(-0.5 * ((r - r0) / w) ** 2), settings.npix)


def _spiral_shapes(hosts: list[HostDraw], settings: RenderSettings, dtype) -> torch.Tensor:
    xm, ym, q = _host_frame(hosts, settings, dtype, 0.4)
    xd, yd = xm, ym / q  # de-project the disc
    r = torch.sqrt(xd * xd + yd * yd).clamp_min(1e-3)
    theta = torch.atan2(yd, xd)
    r_e = expand_like(_tensor([h.r_e for h in hosts], dtype), r)
    pitch = expand_like(_tensor([h.spiral_pitch for h in hosts], dtype), r)
    disc = torch.exp(-1.678 * r / r_e)
    arms = (0.5 * (1.0 + torch.cos(2.0 * (theta - torch.log(r / r_e) / torch.tan(pitch))))) ** 4
    inner = 1.0 - torch.exp(-((r / (0.5 * r_e)) ** 2))  # arms start outside the bulge
    return _pixel_shapes(disc * arms * inner, settings.npix)


def _companion_shapes(hosts: list[HostDraw], settings: RenderSettings, dtype) -> torch.Tensor:
    src = _sersic_sources(
        [h.companion_dx for h in hosts], [h.companion_dy for h in hosts], [h.companion_re for h in hosts],
        [1.5] * len(hosts), [0.7] * len(hosts), [h.phi + 0.8 for h in hosts], dtype,
    )
    return _unlensed(src, settings)


_FEATURE_RENDERERS = {"ring": _ring_shapes, "spiral": _spiral_shapes, "merger": _companion_shapes}


def render_features(hosts: list[HostDraw], settings: RenderSettings, dtype=torch.float64) -> torch.Tensor:
    """Unit-flux images (B, H, W) of each host's confuser feature (zero where none)."""
    out = torch.zeros((len(hosts), settings.npix, settings.npix), dtype=dtype)
    for kind, render in _FEATURE_RENDERERS.items():
        idx = [i for i, h in enumerate(hosts) if h.confuser == kind]
        if idx:
            out[idx] = render([hosts[i] for i in idx], settings, dtype)
    return out
