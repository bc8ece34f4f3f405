"""Injection speed and flux accuracy: this engine vs lenstronomy, side by side.

Same random lenses and sources for both (the selection-function prior of
docs/science.md section 8), 101x101 stamps, 3 bands, a Gaussian PSF per band.
Prints, for each renderer: three-band injections per second, and the relative
error of the injected (PSF-convolved, r-band) flux against a 32x uniformly
oversampled reference rendered by this engine in float64 with the same
Sersic b_n convention as the renderer under test; then the speed ratios and
the warm-up time. This engine runs twice: eager, and compiled with
torch.compile (`RenderSettings.compile`); both warm up on two batch sizes
first, so the rate excludes compilation (printed apart as the warm-up).
lenstronomy's rate counts `ImageModel.image` only (its set-up is not timed).
The same systems are then rendered with image sources (real galaxies of the
source library's injection subset, built in-process from the embedded deep
field, at each system's position, r_e and magnitudes): their rate is printed
beside the Sersic rate, with their flux error against the same engine's 32x
uniform reference.

    python benchmarks/bench_injection.py [--n-speed 1024] [--n-compare 24] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from stronglens.core.rng import generator
from stronglens.physics.psf import band_fwhm, make_psf_kernels
from stronglens.physics.render import RenderSettings, render_arcs
from stronglens.physics.sersic import lenstronomy_bn, sersic_ie_for_unit_flux
from stronglens.survey.settings import SourceDrawPrior
from stronglens.survey.synthetic.params import lens_from_rows, lens_source_columns, source_band_flux, source_from_rows
from stronglens.survey.synthetic.priors import draw_lens, draw_source

NPIX = 101
PIX = 0.262
SF_PRIOR = SourceDrawPrior(beta_frac=(0.1, 1.0), mag_r=(23.0, 26.0), re_arcsec=(0.05, 0.5), n=(0.5, 4.0), q=(0.5, 1.0),
                           colours="restframe", clump_probability=0.6, clump_flux_fraction=(0.15, 0.45))
THETA_E, LENS_Q, SHEAR_MAX = (0.5, 3.0), (0.5, 1.0), 0.08
PRESETS = {
    "default": RenderSettings(npix=NPIX, pixscale=PIX),
    "default compiled": RenderSettings(npix=NPIX, pixscale=PIX, compile=True),
}


def draw_systems(n: int, seed: int = 1) -> dict[str, list]:
    """n lens+source systems and PSF sizes, as survey-style columns."""
    rows = []
    for i in range(n):
        rng = generator(seed, "bench_injection", i)
        lens = draw_lens(rng, THETA_E, LENS_Q, SHEAR_MAX, None, None)
        cols = lens_source_columns(lens, draw_source(rng, SF_PRIOR, lens.theta_e))
        cols["psfsize_r"] = float(rng.uniform(0.9, 1.8))
        rows.append(cols)
    return {k: [r[k] for r in rows] for k in rows[0]}


def engine_inputs(cols: dict, dtype: torch.dtype, device: str, bn_lenstronomy: bool = False):
    lens = lens_from_rows(cols, dtype).to(device, dtype)
    src = source_from_rows(cols, dtype)
    if bn_lenstronomy:
        src.b_n = lenstronomy_bn(src.n)
    src = src.to(device, dtype)
    flux = source_band_flux(cols, dtype).to(device)
    kern = make_psf_kernels(torch.as_tensor(cols["psfsize_r"], dtype=dtype), PIX).to(device)
    return lens, src, flux, kern


def engine_run(cols: dict, settings: RenderSettings, dtype, device: str, batch: int, bn_lenstronomy=False) -> torch.Tensor:
    lens, src, flux, kern = engine_inputs(cols, dtype, device, bn_lenstronomy)
    out = []
    for start in range(0, lens.batch_size, batch):
        idx = torch.arange(start, min(lens.batch_size, start + batch), device=device)
        out.append(render_arcs(lens.index(idx), src.index(idx), flux[idx], kern[idx], settings).arcs)
    return torch.cat(out)


def reference_r_flux(cols: dict, bn_lenstronomy: bool) -> np.ndarray:
    ref = RenderSettings(npix=NPIX, pixscale=PIX, oversample=32, adaptive=False)
    arcs = engine_run(cols, ref, torch.float64, "cpu", 4, bn_lenstronomy)
    return arcs[:, 1].sum(dim=(-1, -2)).numpy()


def galaxy_pool():
    """The injection subset of the default source library, built from the embedded deep field (a few seconds)."""
    from stronglens.sources.deep_field import deep_field_rgb, linear_bands
    from stronglens.sources.library import build_library
    from stronglens.sources.segmentation import segment_galaxies
    from stronglens.sources.settings import SourceLibrarySettings
    from stronglens.survey.synthetic.galaxies import GalaxyPool

    s = SourceLibrarySettings()
    return GalaxyPool(build_library(segment_galaxies(linear_bands(deep_field_rgb(), s.display_gamma), s), s, 42), "injection")


def with_galaxies(cols: dict, pool, seed: int = 2) -> dict:
    """The same systems with a library galaxy each (same position, magnitudes and r_e)."""
    extra = [pool.columns(generator(seed, "bench_injection:galaxy", i), re) for i, re in enumerate(cols["src_re_arcsec"])]
    return {**cols, **{k: [e[k] for e in extra] for k in extra[0]}}


def image_run(cols: dict, pool, settings: RenderSettings, dtype, device: str, batch: int) -> torch.Tensor:
    lens = lens_from_rows(cols, dtype).to(device, dtype)
    src = pool.image_source(cols).to(device, dtype)
    flux = source_band_flux(cols, dtype).to(device)
    kern = make_psf_kernels(torch.as_tensor(cols["psfsize_r"], dtype=dtype), PIX).to(device)
    out = []
    for start in range(0, lens.batch_size, batch):
        idx = torch.arange(start, min(lens.batch_size, start + batch), device=device)
        out.append(render_arcs(lens.index(idx), src.index(idx), flux[idx], kern[idx], settings).arcs)
    return torch.cat(out)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def lenstronomy_run(cols: dict) -> tuple[np.ndarray, float]:
    """(B, 3, H, W) images from lenstronomy's ImageModel per band at 4x supersampling, and the
    seconds spent in `ImageModel.image` alone (model set-up is not timed: lenstronomy's best case)."""
    from lenstronomy.Data.imaging_data import ImageData
    from lenstronomy.Data.psf import PSF
    from lenstronomy.ImSim.image_model import ImageModel
    from lenstronomy.LensModel.lens_model import LensModel
    from lenstronomy.LightModel.light_model import LightModel
    from lenstronomy.Util import param_util

    c = NPIX // 2
    data_kw = dict(image_data=np.zeros((NPIX, NPIX)), ra_at_xy_0=-c * PIX, dec_at_xy_0=-c * PIX,
                   transform_pix2angle=np.array([[PIX, 0.0], [0.0, PIX]]))
    lens_model = LensModel(["SIE", "SHEAR"])
    fwhm = band_fwhm(torch.as_tensor(cols["psfsize_r"], dtype=torch.float64)).numpy()
    flux = source_band_flux(cols).numpy()
    out = np.zeros((len(cols["theta_e_arcsec"]), 3, NPIX, NPIX))
    seconds = 0.0
    for i in range(len(out)):
        e1, e2 = param_util.phi_q2_ellipticity(cols["lens_phi"][i], cols["lens_q"][i])
        kw_lens = [dict(theta_E=cols["theta_e_arcsec"][i], e1=e1, e2=e2, center_x=0.0, center_y=0.0),
                   dict(gamma1=cols["shear_gamma1"][i], gamma2=cols["shear_gamma2"][i])]
        n, re = cols["src_n"][i], cols["src_re_arcsec"][i]
        se1, se2 = param_util.phi_q2_ellipticity(cols["src_phi"][i], cols["src_q"][i])
        fracs = cols["clump_frac"][i]
        ie = float(sersic_ie_for_unit_flux(torch.tensor(re), torch.tensor(n), lenstronomy_bn(torch.tensor(n))))
        light = LightModel(["SERSIC_ELLIPSE"] + ["GAUSSIAN"] * len(fracs))
        for b in range(3):
            f = flux[i, b]
            kw_src = [dict(amp=f * (1 - sum(fracs)) * ie, R_sersic=re, n_sersic=n, e1=se1, e2=se2,
                           center_x=cols["src_x_arcsec"][i], center_y=cols["src_y_arcsec"][i])]
            kw_src += [dict(amp=f * fr, sigma=s, center_x=x, center_y=y) for fr, s, x, y in
                       zip(fracs, cols["clump_sigma_arcsec"][i], cols["clump_x_arcsec"][i], cols["clump_y_arcsec"][i])]
            psf = PSF(psf_type="GAUSSIAN", fwhm=float(fwhm[i, b]), pixel_size=PIX, truncation=4)
            model = ImageModel(ImageData(**data_kw), psf, lens_model_class=lens_model, source_model_class=light,
                               kwargs_numerics=dict(supersampling_factor=4))
            t0 = time.perf_counter()
            out[i, b] = model.image(kwargs_lens=kw_lens, kwargs_source=kw_src)
            seconds += time.perf_counter() - t0
    return out, seconds


def flux_errors(r_flux: np.ndarray, ref: np.ndarray) -> str:
    err = np.abs(r_flux / ref - 1.0)
    return f"median {np.median(err):.2e}  p95 {np.percentile(err, 95):.2e}  max {err.max():.2e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-speed", type=int, default=1024, help="systems timed for this engine")
    ap.add_argument("--n-compare", type=int, default=24, help="systems rendered by lenstronomy and the 32x reference")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    dev = args.device
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}, {NPIX}x{NPIX}, 3 bands, Gaussian PSF")

    speed_cols = draw_systems(args.n_speed)
    cmp_cols = {k: v[: args.n_compare] for k, v in speed_cols.items()}
    results, warmup = {}, {}
    for name, settings in PRESETS.items():
        # Warm-up on two batch sizes: a compiled engine builds its kernels on the first
        # call and generalises them to any size on the second (timed apart, below).
        t0 = time.perf_counter()
        for n in (args.n_compare, min(args.batch, args.n_speed)):
            engine_run({k: v[:n] for k, v in speed_cols.items()}, settings, torch.float32, dev, args.batch)
        if dev == "cuda":
            torch.cuda.synchronize()
        warmup[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine_run(speed_cols, settings, torch.float32, dev, args.batch)
        if dev == "cuda":
            torch.cuda.synchronize()
        rate = args.n_speed / (time.perf_counter() - t0)
        r_flux = engine_run(cmp_cols, settings, torch.float32, dev, args.batch)[:, 1].sum(dim=(-1, -2)).double().cpu().numpy()
        results[name] = (rate, r_flux)

    lt, lt_seconds = lenstronomy_run(cmp_cols)
    lt_rate = args.n_compare / lt_seconds
    ref_exact = reference_r_flux(cmp_cols, bn_lenstronomy=False)
    ref_lt = reference_r_flux(cmp_cols, bn_lenstronomy=True)

    print(f"\n{'renderer':<44}{'inj/s':>10}   flux error vs 32x reference (n={args.n_compare})")
    for name, (rate, r_flux) in results.items():
        print(f"{'stronglens ' + name + ' (batched, ' + dev + ')':<44}{rate:>10.1f}   {flux_errors(r_flux, ref_exact)}")
    print(f"{'lenstronomy 4x (per band)':<44}{lt_rate:>10.1f}   {flux_errors(lt[:, 1].sum(axis=(-1, -2)), ref_lt)}")
    for name, (rate, _) in results.items():
        print(f"speed ratio stronglens {name} / lenstronomy: {rate / lt_rate:.1f}x")

    pool = galaxy_pool()
    gal_cols, gal_cmp = with_galaxies(speed_cols, pool), with_galaxies(cmp_cols, pool)
    eager = PRESETS["default"]
    image_run({k: v[: args.n_compare] for k, v in gal_cols.items()}, pool, eager, torch.float32, dev, args.batch)  # warm-up
    sersic_s = timed(lambda: engine_run(speed_cols, eager, torch.float32, dev, args.batch))
    image_s = timed(lambda: image_run(gal_cols, pool, eager, torch.float32, dev, args.batch))
    img_flux = image_run(gal_cmp, pool, eager, torch.float32, dev, args.batch)[:, 1].sum(dim=(-1, -2)).double().cpu().numpy()
    ref = RenderSettings(npix=NPIX, pixscale=PIX, oversample=32, adaptive=False)
    img_ref = image_run(gal_cmp, pool, ref, torch.float64, "cpu", 4)[:, 1].sum(dim=(-1, -2)).numpy()
    print(f"\nsource model, same {args.n_speed} systems, timed back to back ({dev}, eager):")
    print(f"{'stronglens Sersic + clumps':<44}{args.n_speed / sersic_s:>10.1f}")
    print(f"{'stronglens real-galaxy image source':<44}{args.n_speed / image_s:>10.1f}   {flux_errors(img_flux, img_ref)}")
    print(f"speed ratio image source / Sersic: {sersic_s / image_s:.2f}x ({len(pool.indices)} injection-subset galaxies)")
    print("warm-up (two batch sizes; includes compilation for a compiled preset): "
          + ", ".join(f"{name} {sec:.1f} s" for name, sec in warmup.items()))


if __name__ == "__main__":
    main()
