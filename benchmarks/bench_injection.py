"""Injection speed and flux accuracy: this engine vs lenstronomy and caustics, side by side.

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
caustics (the batched torch lensing package) renders the same lenses and
sources: `SinglePlane([SIE, ExternalShear])` and a `LightStack` of the Sersic
plus four n = 0.5 Sersics (exact Gaussians) for the clump slots, through its
`LensSource` simulator batched with `torch.vmap`, at each --caustics-upsample
factor (uniform supersampling, even factors only). Like this engine it ray-traces
one unit-flux morphology per system and scales it per band; its images are
convolved at native resolution with this engine's PSF kernels (as the engine and
lenstronomy do; caustics' own convolution would run on the supersampled grid).
Its flux error is against the same 32x reference with caustics' b_n
(Ciotti & Bertin). Ratios of this engine's rate to each peer's close the table.
The same systems are then rendered with image sources (real galaxies of the
source library's injection subset, built in-process from the embedded deep
field, at each system's position, r_e and magnitudes): their rate is printed
beside the Sersic rate, with their flux error against the same engine's 32x
uniform reference.

    python benchmarks/bench_injection.py [--n-speed 1024] [--n-compare 24] [--device cpu|cuda]
        [--peers lenstronomy caustics] [--caustics-upsample 4 16] [--n-caustics 48] [--no-image-source] [--result]

--result adds machine-readable lines `RESULT <name> <value> <unit>` after the tables
(benchmarks/gpu_check.sh collects them); `--peers` with no name skips both peers.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
import torch

from stronglens.core.rng import generator
from stronglens.physics.psf import band_fwhm, make_psf_kernels, psf_convolve
from stronglens.physics.render import RenderSettings, render_arcs
from stronglens.physics.sersic import lenstronomy_bn, sersic_ie_for_unit_flux
from stronglens.survey.settings import SourceDrawPrior
from stronglens.survey.synthetic.params import lens_from_rows, lens_source_columns, source_band_flux, source_from_rows
from stronglens.survey.synthetic.priors import MAX_CLUMPS, draw_lens, draw_source

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


BnRule = Callable[[torch.Tensor], torch.Tensor]  # Sersic index n -> b_n (a renderer's convention)


def engine_inputs(cols: dict, dtype: torch.dtype, device: str, b_n: BnRule | None = None):
    """(lens, source, (B, 3) band flux, (B, 3, k, k) PSF kernels) of the engine; b_n overrides the exact Sersic b_n."""
    lens = lens_from_rows(cols, dtype).to(device, dtype)
    src = source_from_rows(cols, dtype)
    if b_n is not None:
        src.b_n = b_n(src.n)
    src = src.to(device, dtype)
    flux = source_band_flux(cols, dtype).to(device)
    kern = make_psf_kernels(torch.as_tensor(cols["psfsize_r"], dtype=dtype), PIX).to(device)
    return lens, src, flux, kern


def engine_run(cols: dict, settings: RenderSettings, dtype, device: str, batch: int, b_n: BnRule | None = None) -> torch.Tensor:
    """(B, 3, H, W) PSF-convolved arcs of this engine, rendered in batches of `batch`."""
    lens, src, flux, kern = engine_inputs(cols, dtype, device, b_n)
    out = []
    for start in range(0, lens.batch_size, batch):
        idx = torch.arange(start, min(lens.batch_size, start + batch), device=device)
        out.append(render_arcs(lens.index(idx), src.index(idx), flux[idx], kern[idx], settings).arcs)
    return torch.cat(out)


def reference_r_flux(cols: dict, b_n: BnRule | None = None) -> np.ndarray:
    """r-band arc flux of the 32x uniformly oversampled float64 reference, with the b_n of the renderer under test."""
    ref = RenderSettings(npix=NPIX, pixscale=PIX, oversample=32, adaptive=False)
    arcs = engine_run(cols, ref, torch.float64, "cpu", 4, b_n)
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


CAUSTICS_MAX_POINTS = 8_000_000  # supersampled ray positions per vmap chunk (memory bound, like RenderSettings.max_points)


def caustics_bn(n: torch.Tensor) -> torch.Tensor:
    """caustics' Sersic b_n (`caustics.light.func.k_sersic`, Ciotti & Bertin 1999's expansion)."""
    from caustics.light.func import k_sersic

    return k_sersic(n)


def caustics_simulator(upsample: int, npix: int = NPIX, pixscale: float = PIX, n_clumps: int = MAX_CLUMPS):
    """caustics' LensSource for this benchmark's systems: SIE + external shear in one plane, a Sersic plus
    `n_clumps` round n = 0.5 Sersics (Gaussians), no PSF (convolved afterwards), `upsample`-times supersampled.

    Returns (simulator, {(component, parameter): caustics Param}) so that values can be matched to its
    dynamic parameters by name rather than by order. Redshifts are placeholders: with `Rein` given
    directly, the deflection does not depend on them.
    """
    import caustics

    if upsample % 2:
        raise ValueError(f"caustics upsample factor {upsample} must be even: an odd factor samples the exact "
                         "lens centre, where caustics' SIE deflection is 0/0")
    cosmo = caustics.FlatLambdaCDM(name="cosmology")
    sie = caustics.SIE(cosmology=cosmo, name="sie", x0=0.0, y0=0.0)
    shear = caustics.ExternalShear(cosmology=cosmo, name="shear", x0=0.0, y0=0.0)
    lens = caustics.SinglePlane(cosmology=cosmo, lenses=[sie, shear], name="lens", z_l=0.5, z_s=1.0)
    sersic = caustics.Sersic(name="sersic")
    clumps = [caustics.Sersic(name=f"clump{k}", q=1.0, phi=0.0, n=0.5) for k in range(n_clumps)]
    source = caustics.LightStack([sersic, *clumps], name="source")
    sim = caustics.LensSource(lens=lens, source=source, pixelscale=pixscale, pixels_x=npix,
                              upsample_factor=upsample, name="sim")
    params = {("sie", k): getattr(sie, k) for k in ("q", "phi", "Rein")}
    params |= {("shear", k): getattr(shear, k) for k in ("gamma_1", "gamma_2")}
    params |= {("sersic", k): getattr(sersic, k) for k in ("x0", "y0", "q", "phi", "n", "Re", "Ie")}
    params |= {(f"clump{k}", name): getattr(c, name) for k, c in enumerate(clumps) for name in ("x0", "y0", "Re", "Ie")}
    return sim, params


def caustics_values(lens, src) -> dict[tuple[str, str], torch.Tensor]:
    """This engine's lens and unit-flux source in caustics' parametrisation, (B,) tensors.

    Same conventions except two: caustics' Sersic Re is the major-axis half-light radius (this engine's
    r_e is the product average, so Re = r_e / sqrt(q)), and Ie is the surface brightness at Re, set for
    the Sersic's share (1 - sum of clump fractions) of a unit total flux with caustics' own b_n. A clump
    of flux f and width sigma is a round n = 0.5 Sersic with Re = sigma sqrt(2 b) and
    Ie = f exp(-b) / (2 pi sigma^2), b = b_0.5: exactly that Gaussian. SIE: Rein = theta_E (both are
    the intermediate-axis radius, b / sqrt(q) in Keeton's notation); q and phi (radians from +x) agree.
    """
    b = caustics_bn(src.n)
    ie = sersic_ie_for_unit_flux(src.r_e, src.n, b) * (1.0 - src.clump_frac.sum(dim=1))
    values = {("sie", "q"): lens.q, ("sie", "phi"): lens.phi, ("sie", "Rein"): lens.theta_e,
              ("shear", "gamma_1"): lens.gamma1, ("shear", "gamma_2"): lens.gamma2,
              ("sersic", "x0"): src.x0, ("sersic", "y0"): src.y0, ("sersic", "q"): src.q, ("sersic", "phi"): src.phi,
              ("sersic", "n"): src.n, ("sersic", "Re"): src.r_e / src.q.sqrt(), ("sersic", "Ie"): ie}
    b_half = float(caustics_bn(torch.tensor(0.5, dtype=torch.float64)))
    for k in range(src.clump_frac.shape[1]):
        sigma = src.clump_sigma[:, k]
        values |= {(f"clump{k}", "x0"): src.clump_x[:, k], (f"clump{k}", "y0"): src.clump_y[:, k],
                   (f"clump{k}", "Re"): sigma * math.sqrt(2.0 * b_half),
                   (f"clump{k}", "Ie"): src.clump_frac[:, k] * math.exp(-b_half) / (2.0 * math.pi * sigma * sigma)}
    return values


def caustics_unit_images(sim, params: dict, lens, src, max_points: int = CAUSTICS_MAX_POINTS) -> torch.Tensor:
    """(B, H, W) lensed unit-flux images (flux per pixel) from caustics, batched with torch.vmap."""
    values = caustics_values(lens, src)
    order = {id(p): key for key, p in params.items()}
    batch = [values[order[id(p)]] for p in sim.dynamic_params]  # the simulator's own parameter order
    side = sim.pixels_x * sim.upsample_factor
    chunk = max(1, max_points // (side * side))
    # LensSource returns the mean surface brightness per pixel: times the pixel area, the flux per pixel.
    return torch.vmap(sim, chunk_size=chunk)(batch) * (sim.pixelscale * sim.pixelscale)


def caustics_run(cols: dict, upsample: int, dtype, device: str, max_points: int = CAUSTICS_MAX_POINTS):
    """(B, 3, H, W) PSF-convolved arcs rendered by caustics, and the seconds spent (lensing, bands, PSF)."""
    sim, params = caustics_simulator(upsample)
    sim.to(device=device, dtype=dtype)
    lens, src, flux, kern = engine_inputs(cols, dtype, device)
    t0 = time.perf_counter()
    unit = caustics_unit_images(sim, params, lens, src, max_points)
    arcs = psf_convolve(unit[:, None] * flux[:, :, None, None], kern)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return arcs, time.perf_counter() - t0


def flux_errors(r_flux: np.ndarray, ref: np.ndarray) -> str:
    err = np.abs(r_flux / ref - 1.0)
    return f"median {np.median(err):.2e}  p95 {np.percentile(err, 95):.2e}  max {err.max():.2e}"


def result_line(name: str, value: float, unit: str) -> str:
    """One machine-readable figure: `RESULT <name> <value> <unit>` (collected by benchmarks/gpu_check.sh)."""
    return f"RESULT {name} {value:.6g} {unit}"


PRESET_KEYS = {"default": "eager", "default compiled": "compiled"}  # RESULT names of the engine presets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-speed", type=int, default=1024, help="systems timed for this engine")
    ap.add_argument("--n-compare", type=int, default=24, help="systems rendered by lenstronomy and the 32x reference")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--peers", nargs="*", choices=["lenstronomy", "caustics"], default=["lenstronomy", "caustics"],
                    help="peer renderers to run on the same systems (none: this engine only)")
    ap.add_argument("--caustics-upsample", type=int, nargs="+", default=[4, 16],
                    help="caustics' uniform supersampling factors (even), each timed and scored")
    ap.add_argument("--n-caustics", type=int, default=48, help="systems timed for caustics at each factor")
    ap.add_argument("--no-image-source", action="store_true", help="skip the real-galaxy image-source comparison")
    ap.add_argument("--result", action="store_true", help="also print `RESULT name value unit` lines")
    args = ap.parse_args()
    dev = args.device
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}, {NPIX}x{NPIX}, 3 bands, Gaussian PSF")
    figures: list[tuple[str, float, str]] = []

    n_caustics = args.n_caustics if "caustics" in args.peers else 0
    all_cols = draw_systems(max(args.n_speed, args.n_compare, n_caustics))
    speed_cols = {k: v[: args.n_speed] for k, v in all_cols.items()}
    cmp_cols = {k: v[: args.n_compare] for k, v in all_cols.items()}
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

    ref_exact = reference_r_flux(cmp_cols)
    # (label, RESULT key, inj/s, r-band flux of the compared systems, its 32x reference); peers after the engine.
    rows = [(f"stronglens {name} (batched, {dev})", f"engine_{PRESET_KEYS[name]}", rate, r_flux, ref_exact)
            for name, (rate, r_flux) in results.items()]
    if "lenstronomy" in args.peers:
        lt, lt_seconds = lenstronomy_run(cmp_cols)
        rows.append(("lenstronomy 4x (per band, numpy)", "lenstronomy_4x", args.n_compare / lt_seconds,
                     lt[:, 1].sum(axis=(-1, -2)), reference_r_flux(cmp_cols, lenstronomy_bn)))
    if "caustics" in args.peers:
        cau_cols = {k: v[:n_caustics] for k, v in all_cols.items()}
        n_err = min(args.n_compare, n_caustics)
        ref_cau = reference_r_flux({k: v[:n_err] for k, v in all_cols.items()}, caustics_bn)
        for up in args.caustics_upsample:
            caustics_run({k: v[:2] for k, v in cau_cols.items()}, up, torch.float32, dev)  # warm-up (allocations)
            arcs, seconds = caustics_run(cau_cols, up, torch.float32, dev)
            rows.append((f"caustics {up}x (batched vmap, {dev}, n={n_caustics})", f"caustics_{up}x", n_caustics / seconds,
                         arcs[:n_err, 1].sum(dim=(-1, -2)).double().cpu().numpy(), ref_cau))

    print(f"\n{'renderer':<48}{'inj/s':>10}   flux error vs 32x reference (n={args.n_compare} or fewer)")
    for label, key, rate, r_flux, ref in rows:
        print(f"{label:<48}{rate:>10.1f}   {flux_errors(r_flux, ref)}")
        figures += [(f"{key}_rate", rate, "inj/s"), (f"{key}_flux_err_max", float(np.abs(r_flux / ref - 1.0).max()), "rel")]
    for _, peer, peer_rate, _, _ in rows[len(results):]:
        for name, (rate, _) in results.items():
            print(f"speed ratio stronglens {name} / {peer.replace('_', ' ')}: {rate / peer_rate:.1f}x")
            figures.append((f"ratio_engine_{PRESET_KEYS[name]}_over_{peer}", rate / peer_rate, "x"))

    if not args.no_image_source:
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
        print(f"{'stronglens Sersic + clumps':<48}{args.n_speed / sersic_s:>10.1f}")
        print(f"{'stronglens real-galaxy image source':<48}{args.n_speed / image_s:>10.1f}   {flux_errors(img_flux, img_ref)}")
        print(f"speed ratio image source / Sersic: {sersic_s / image_s:.2f}x ({len(pool.indices)} injection-subset galaxies)")
        figures.append(("engine_eager_image_source_rate", args.n_speed / image_s, "inj/s"))
    print("warm-up (two batch sizes; includes compilation for a compiled preset): "
          + ", ".join(f"{name} {sec:.1f} s" for name, sec in warmup.items()))
    figures += [(f"engine_{PRESET_KEYS[name]}_warmup", sec, "s") for name, sec in warmup.items()]
    if args.result:
        print("\n".join(result_line(*f) for f in figures))


if __name__ == "__main__":
    main()
