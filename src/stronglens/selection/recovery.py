"""Injection-recovery selection function: inject, preprocess, score, with honest failure accounting.

A grid of cells (theta_E x PSF FWHM x r-band 5-sigma depth, docs/science.md
section 8) gets `n_per_cell` injections each. Injection j of cell c, attempt
a, draws everything from its own generator keyed by (seed, cell, j, a): a
clean host (host model 1: any ordinary or LRG-like galaxy without a
confuser feature; host model 2: LRG-like hosts only, the lens taking q and
PA from the host's r-band second moments), the lens (SIE at the cell's
theta_E + shear U(0, 0.08)) and the source from the prior. The host is
rendered at the cell's PSF and depth; the arc is rendered by the engine
with the same PSF and added before the noise. The stamp and the clean host
(same noise) are preprocessed like the run's training data and scored.

Failure accounting (the seeds' three silent bugs): an attempt whose host
cannot be made, whose image is not finite, that cannot be preprocessed or
whose score is not finite is recorded as ``failed`` with its reason and
retried on a new host (attempt a + 1); failed attempts never enter a
denominator and are never scored as a blank image; FPR thresholds rank the
valid clean-host scores only; every output carries n_ok and n_failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.stats import beta as beta_dist

from stronglens.config.selection_grid import PRESETS  # noqa: F401  (re-exported)
from stronglens.core.constants import PIXSCALE_ARCSEC
from stronglens.core.rng import generator
from stronglens.data.normalise import PreprocessError
from stronglens.physics.photometry import m5_to_psfdepth, sky_sigma_pix
from stronglens.physics.psf import band_fwhm, make_psf_kernels, psf_convolve
from stronglens.physics.render import RenderSettings, arc_snr
from stronglens.selection.settings import GridSettings
from stronglens.survey.settings import SourceDrawPrior
from stronglens.survey.synthetic import hosts as H
from stronglens.survey.synthetic.galaxies import GalaxyPool, sersic_columns
from stronglens.survey.synthetic.params import lens_source_columns
from stronglens.survey.synthetic.priors import draw_lens, draw_source
from stronglens.survey.synthetic.survey import render_rows

DTYPE = torch.float64
# r-band m5 -> g and z: the DECaLS-like offsets of the synthetic survey (g 24.8, r 24.2, z 23.35).
M5_OFFSETS = (0.6, 0.0, -0.85)

PRIORS = {
    "broad": {"mag_r": [23.0, 26.0], "beta_frac": [0.1, 1.0], "theta_e": [0.5, 3.0]},
    "anchored": {"mag_r": [23.0, 25.0], "beta_frac": [0.1, 0.55], "theta_e": [0.8, 2.5]},
}
# The injected sources' shape prior (both priors): R_e 0.05-0.5", n 0.5-4, q 0.3-1, observed colours (as the
# training prior), and the seeds' clumps: 1-4 Gaussian clumps with probability 0.6, carrying 15-45% of the flux
# (Sersic sources only: a real galaxy brings its own structure). Rest-frame colours are the variant
# "colours:restframe", drawn from the same random numbers.
SOURCE_SHAPE = {"re_arcsec": (0.05, 0.50), "n": (0.5, 4.0), "q": (0.3, 1.0), "colours": "observed",
                "clump_probability": 0.6, "clump_flux_fraction": (0.15, 0.45)}
CLUMP_COLUMNS = ("clump_x_arcsec", "clump_y_arcsec", "clump_sigma_arcsec", "clump_frac")
LENS_Q = (0.5, 1.0)
SHEAR_MAX = 0.08
VARIANTS = {  # sensitivity variants: name -> modification of the baseline draws
    "baseline": {},
    "psf+10%": {"psf_scale": 1.10}, "psf-10%": {"psf_scale": 0.90},
    "re+30%": {"re_scale": 1.30}, "re-30%": {"re_scale": 0.70},
    "g-r+0.2": {"g_r_shift": 0.2}, "g-r-0.2": {"g_r_shift": -0.2},
    "q[0.3,1]": {"lens_q": [0.3, 1.0]}, "q[0.7,1]": {"lens_q": [0.7, 1.0]},
    "colours:restframe": {"colours": "restframe"},
}


class HostError(RuntimeError):
    """A host that cannot be used (failed to load or render); the attempt is retried on a new host."""


def axis(lo: float, hi: float, step: float) -> list[float]:
    """Grid values lo, lo + step, ..., hi (inclusive, rounded to 1e-6)."""
    n = int(math.floor((hi - lo) / step + 1e-9)) + 1
    return [round(lo + i * step, 6) for i in range(n)]


def grid_cells(grid: GridSettings) -> pd.DataFrame:
    """cell_id, theta_e, psf_fwhm, depth_r for every combination of the grid axes."""
    te, psf, depth = (axis(*axis_range) for axis_range in (grid.theta_e, grid.psf_fwhm, grid.depth))
    rows = [(t, p, d) for t in te for p in psf for d in depth]
    return pd.DataFrame(rows, columns=["theta_e", "psf_fwhm", "depth_r"]).rename_axis("cell_id").reset_index()


def shard_cells(cells: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    """Cells of one shard (round robin over cell_id, so shards get alike mixes of cells)."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    return cells[cells["cell_id"] % n_shards == shard].reset_index(drop=True)


def host_moments(image_r: np.ndarray) -> tuple[float, float]:
    """Axis ratio q and position angle (rad, from +x towards +y) from flux-weighted second moments."""
    img = np.clip(image_r, 0, None)
    yy, xx = np.indices(img.shape, dtype=np.float64)
    w = img.sum()
    if w <= 0:
        raise HostError("host r-band image has no positive flux: no second moments")
    x0, y0 = (img * xx).sum() / w, (img * yy).sum() / w
    qxx = (img * (xx - x0) ** 2).sum() / w
    qyy = (img * (yy - y0) ** 2).sum() / w
    qxy = (img * (xx - x0) * (yy - y0)).sum() / w
    evals, evecs = np.linalg.eigh(np.array([[qxx, qxy], [qxy, qyy]]))
    q = float(np.sqrt(max(evals[0], 1e-12) / max(evals[1], 1e-12)))
    major = evecs[:, 1]
    return q, float(np.arctan2(major[1], major[0]) % np.pi)


@dataclass
class Attempt:
    """One attempt of one injection: its draws and (after rendering) images."""

    cell_id: int
    j: int
    attempt: int
    host: H.HostDraw
    record: dict


def source_model_variant(model: str, pool: GalaxyPool | None) -> dict:
    """The variant modification that swaps the source model: {} for Sersic, the galaxy pool for real galaxies."""
    if model == "sersic":
        return {}
    if pool is None:
        raise ValueError(f"source model {model!r} needs the source library's injection subset")
    return {"galaxies": pool}


def draw_lensing(rng: np.random.Generator, cell: pd.Series, prior: dict, variant: dict,
                 host_q: float | None = None, host_phi: float | None = None) -> dict:
    """Lens (SIE at the cell's theta_E + shear) and source columns of one attempt, variant applied.

    With ``variant["galaxies"]`` (a `GalaxyPool`) the Sersic draw's light profile is replaced by a real
    galaxy at the same position, magnitudes and half-light radius: the lens and source draws are those of
    the Sersic baseline, so the two source models are compared injection by injection.
    """
    lens = draw_lens(rng, (cell["theta_e"], cell["theta_e"]), variant.get("lens_q", LENS_Q), SHEAR_MAX, host_q, host_phi)
    shape = {**SOURCE_SHAPE, "colours": variant.get("colours", SOURCE_SHAPE["colours"])}
    source_prior = SourceDrawPrior(**shape, mag_r=tuple(prior["mag_r"]), beta_frac=tuple(prior["beta_frac"]))
    src = draw_source(rng, source_prior, lens.theta_e)
    src.r_e *= variant.get("re_scale", 1.0)
    src.mag_g += variant.get("g_r_shift", 0.0)
    cols = lens_source_columns(lens, src)
    clumps = {key: cols.pop(key) for key in CLUMP_COLUMNS}
    pool = variant.get("galaxies")
    if pool is not None:  # a real galaxy's own structure replaces the Sersic + clumps light profile
        cols["n_clumps"], clumps = 0, {key: [] for key in CLUMP_COLUMNS}
    cols.update(pool.columns(rng, src.r_e) if pool is not None else sersic_columns())
    cols["_clumps"] = clumps  # rendered, not tabulated (`score_attempts` drops keys that start with _)
    return {"theta_e_cell": float(cell["theta_e"]), "psf_fwhm": float(cell["psf_fwhm"]),
            "depth_r": float(cell["depth_r"]), **cols}


def render_records(records: list[dict], kernels: torch.Tensor, settings: RenderSettings, variant: dict):
    """Render the arcs of attempt records (Sersic + clumps, or from the variant's galaxy pool): `ArcRender`."""
    return render_rows([{**r, **r["_clumps"]} for r in records], settings, kernels, variant.get("galaxies"))


def draw_attempt(seed: int, cell: pd.Series, j: int, attempt: int, prior: dict, host_model: int,
                 variant: dict, host_image_r: Callable[[H.HostDraw], np.ndarray] | None = None) -> Attempt:
    """Synthetic host, lens and source of attempt `attempt` of injection j in `cell` (variant changes applied after drawing).

    The draws are the same in every variant (same generator), so a variant's
    change of completeness is the effect of its modification alone.
    """
    rng = generator(seed, "selection", int(cell["cell_id"]), j, attempt)
    host = H.draw_host(rng, 1.0 if host_model == 2 else 0.6, 0.0)
    host_q = host_phi = None
    if host_model == 2:
        if host_image_r is None:
            raise ValueError("host model 2 needs the host's r-band image for its second moments")
        host_q, host_phi = host_moments(host_image_r(host))
    record = {"cell_id": int(cell["cell_id"]), "injection": j, "attempt": attempt, "host_type": host.host_type,
              "host_mag_r": host.mag_r, **draw_lensing(rng, cell, prior, variant, host_q, host_phi)}
    return Attempt(int(cell["cell_id"]), j, attempt, host, record)


def render_hosts(hosts: list[H.HostDraw], kernels: torch.Tensor, npix: int) -> torch.Tensor:
    """(B, 3, npix, npix) PSF-convolved host images (nmgy), no noise."""
    settings = RenderSettings(npix=npix, pixscale=PIXSCALE_ARCSEC)
    body = H.render_host_bodies(hosts, settings, DTYPE)
    flux = torch.as_tensor(H.host_band_flux(hosts), dtype=DTYPE)
    return psf_convolve(body[:, None] * flux[:, :, None, None], kernels)


def cell_kernels(psf_fwhm: float, n: int, psf_kind: str, moffat_beta: float) -> torch.Tensor:
    return make_psf_kernels(torch.full((n,), psf_fwhm, dtype=DTYPE), PIXSCALE_ARCSEC, psf_kind, moffat_beta)


def cell_sigma(psf_fwhm: float, depth_r: float) -> np.ndarray:
    """(3,) sky sigma per pixel (nmgy) in g, r, z at the cell's r-band m5 and PSF."""
    m5 = np.array([depth_r + o for o in M5_OFFSETS])
    fwhm = band_fwhm(torch.tensor([psf_fwhm], dtype=DTYPE)).numpy()[0]
    return sky_sigma_pix(m5_to_psfdepth(m5), fwhm, PIXSCALE_ARCSEC)


def render_attempts(attempts: list[Attempt], cell: pd.Series, npix: int, seed: int, variant: dict,
                    psf_kind: str = "gaussian", moffat_beta: float = 3.5, compile_engine: bool = False):
    """(stamps, ctrls, arc_snr, mu_eff) of a cell's attempts; stamp = host + arc + noise, ctrl = host + same noise.

    compile_engine: render the arcs with `RenderSettings.compile` (same images to float rounding).
    """
    psf = float(cell["psf_fwhm"]) * variant.get("psf_scale", 1.0)
    kernels = cell_kernels(psf, len(attempts), psf_kind, moffat_beta)
    hosts = render_hosts([a.host for a in attempts], kernels, npix)
    arcs = render_records([a.record for a in attempts], kernels,
                          RenderSettings(npix=npix, pixscale=PIXSCALE_ARCSEC, compile=compile_engine), variant)
    sigma = cell_sigma(float(cell["psf_fwhm"]), float(cell["depth_r"]))  # noise of the cell, not of the variant
    noise = np.stack([generator(seed, "selection:noise", a.cell_id, a.j, a.attempt).standard_normal((3, npix, npix))
                      for a in attempts]) * sigma[None, :, None, None]
    ctrl = hosts.numpy() + noise
    stamp = ctrl + arcs.arcs.numpy()
    snr = arc_snr(arcs.arcs[:, 1], torch.full((len(attempts),), float(sigma[1]), dtype=DTYPE)).numpy()
    return stamp, ctrl, snr, arcs.mu_eff.numpy()


Preprocessor = Callable[[np.ndarray], np.ndarray]
Scorer = Callable[[np.ndarray], np.ndarray]


def preprocess_each(images: np.ndarray, preprocess: Preprocessor) -> tuple[np.ndarray, list[str | None]]:
    """Preprocess a batch; if it raises, image by image, so one bad image fails alone (reason kept)."""
    try:
        return preprocess(images), [None] * len(images)
    except PreprocessError:
        out = np.full(images.shape, np.nan, dtype=np.float32)
        reasons: list[str | None] = []
        for i, img in enumerate(images):
            try:
                out[i] = preprocess(img[None])[0]
                reasons.append(None)
            except PreprocessError as err:
                reasons.append(f"preprocess: {err}")
        return out, reasons


def run_cell(cell: pd.Series, n: int, seed: int, prior: dict, host_model: int, variant: dict, npix: int,
             preprocess: Preprocessor, score: Scorer, max_retries: int, psf_kind: str = "gaussian",
             moffat_beta: float = 3.5, host_check: Callable[[H.HostDraw, int, int, int], None] | None = None,
             compile_engine: bool = False) -> pd.DataFrame:
    """Every attempt of the cell's n injections onto synthetic hosts: one row each, status ok / failed (with reason).

    `host_check(host, cell_id, j, attempt)` may raise HostError (a host that
    failed to load); tests use it to inject failures. `score` receives the
    preprocessed stamps whose stamp and clean host are both usable, followed
    by those clean hosts in the same order; nothing else (no blank stand-in
    for a failed image) reaches it.
    """
    rows: list[dict] = []
    pending = list(range(n))
    for attempt in range(max_retries + 1):
        if not pending:
            break
        batch: list[Attempt] = []
        for j in pending:
            try:
                a = draw_attempt(seed, cell, j, attempt, prior, host_model, variant,
                                 host_image_r=lambda h: _single_host_r(h, cell, npix, psf_kind, moffat_beta))
                if host_check is not None:
                    host_check(a.host, a.cell_id, j, attempt)
                batch.append(a)
            except HostError as err:
                rows.append(failed_row(int(cell["cell_id"]), j, attempt, f"host: {err}"))
        ok_ids: set[int] = set()
        if batch:
            stamp, ctrl, snr, mu = render_attempts(batch, cell, npix, seed, variant, psf_kind, moffat_beta,
                                                     compile_engine=compile_engine)
            new_rows, ok_ids = score_attempts([a.record for a in batch], stamp, ctrl, snr, mu, preprocess, score)
            rows += new_rows
        pending = [j for j in pending if j not in ok_ids]
    return pd.DataFrame(rows)


def failed_row(cell_id: int, j: int, attempt: int, reason: str) -> dict:
    return {"cell_id": cell_id, "injection": j, "attempt": attempt, "status": "failed", "reason": reason}


def score_attempts(records: list[dict], stamp: np.ndarray, ctrl: np.ndarray, snr: np.ndarray, mu: np.ndarray,
                   preprocess: Preprocessor, score: Scorer) -> tuple[list[dict], set[int]]:
    """Preprocess and score a batch of attempts; (one row per attempt, injection numbers that succeeded)."""
    nb = len(records)
    finite = np.isfinite(stamp).all(axis=(1, 2, 3)) & np.isfinite(ctrl).all(axis=(1, 2, 3))
    both = np.concatenate([stamp, ctrl]).astype(np.float32)
    pp, reasons = preprocess_each(np.where(np.concatenate([finite, finite])[:, None, None, None], both, 1.0), preprocess)
    usable = np.array([r is None for r in reasons]) & np.concatenate([finite, finite])
    pair_ok = usable[:nb] & usable[nb:]
    p = np.full(len(both), np.nan)
    if pair_ok.any():  # stamps first, then their clean hosts in the same order
        scores = np.asarray(score(np.concatenate([pp[:nb][pair_ok], pp[nb:][pair_ok]])), dtype=np.float64)
        p[:nb][pair_ok], p[nb:][pair_ok] = scores[: pair_ok.sum()], scores[pair_ok.sum():]
    rows, ok_ids = [], set()
    for i, record in enumerate(records):
        reason = None
        if not finite[i]:
            reason = "render: non-finite pixels"
        elif not pair_ok[i]:
            reason = reasons[i] or reasons[nb + i]
        elif not (np.isfinite(p[i]) and np.isfinite(p[nb + i])):
            reason = "score: non-finite"
        tabulated = {k: v for k, v in record.items() if not k.startswith("_")}
        rows.append({**tabulated, "arc_snr": float(snr[i]), "mu_eff": float(mu[i]), "status": "failed" if reason else "ok",
                     "reason": reason, "p": float(p[i]) if reason is None else np.nan,
                     "p_clean": float(p[nb + i]) if reason is None else np.nan})
        if reason is None:
            ok_ids.add(record["injection"])
    return rows, ok_ids


def _single_host_r(host: H.HostDraw, cell: pd.Series, npix: int, psf_kind: str, moffat_beta: float = 3.5) -> np.ndarray:
    return render_hosts([host], cell_kernels(float(cell["psf_fwhm"]), 1, psf_kind, moffat_beta), npix)[0, 1].numpy()


# -- aggregation --------------------------------------------------------------------------------------


def threshold_at_fpr(clean_scores: np.ndarray, fpr: float, negative_ids: np.ndarray | None = None) -> dict:
    """Score threshold whose false-positive rate on the distinct valid clean-host scores is at most `fpr`.

    NaN scores (failed hosts) are dropped first. `negative_ids` names the
    negative behind each score (e.g. the dataset host_id when hosts are drawn
    with replacement): each distinct negative counts once (its first valid
    score), so repeated draws of one host do not pose as independent
    negatives; None means every score is a distinct negative. Returns the
    threshold (p > threshold is a detection), the achieved FPR, n_valid
    (distinct negatives), n_scores (valid scores before de-duplication),
    smallest_resolvable_fpr = 1 / n_valid, and `resolved` (False when fewer
    than 1 / fpr distinct negatives: the threshold is then the maximum score).
    """
    scores = np.asarray(clean_scores, dtype=np.float64)
    valid = np.isfinite(scores)
    n_scores = int(valid.sum())
    if negative_ids is not None:
        ids = pd.Series(np.asarray(negative_ids, dtype=object))[valid]
        scores = scores[valid][~ids.duplicated().to_numpy()]
    else:
        scores = scores[valid]
    s = np.sort(scores)
    n = len(s)
    if n == 0:
        raise ValueError("no valid clean-host score: the FPR threshold is undefined")
    allowed = int(math.floor(fpr * n))  # negatives allowed above the threshold
    thr = float(s[n - allowed - 1])
    achieved = float((s > thr).sum() / n)
    return {"fpr": fpr, "threshold": thr, "achieved_fpr": achieved, "n_valid": n, "n_scores": n_scores,
            "smallest_resolvable_fpr": 1.0 / n, "resolved": allowed >= 1}


def beta_interval(k: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys `level` interval of a binomial rate: the equal-tailed interval of Beta(k + 1/2, n - k + 1/2), with
    the lower end 0 at k = 0 and the upper end 1 at k = n, so it always contains k / n (docs/science.md 8.5; the
    equal-tailed Beta(1 + k, 1 + n - k) interval excludes 0 at k = 0)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    a, b = k + 0.5, n - k + 0.5
    lo = np.where(k <= 0, 0.0, beta_dist.ppf((1 - level) / 2, a, b))
    hi = np.where(k >= n, 1.0, beta_dist.ppf((1 + level) / 2, a, b))
    return lo, hi


def completeness_table(inj: pd.DataFrame, by: list[str], thresholds: dict[str, float]) -> pd.DataFrame:
    """Completeness per group and threshold from the ok injections; n_failed counted beside, never in n.

    A group with no ok injection is reported with n_ok = 0 and NaN completeness
    (empty), never as zero completeness.
    """
    ok = inj[inj["status"] == "ok"]
    failed = inj[inj["status"] == "failed"]
    groups = inj.dropna(subset=by)[by].drop_duplicates().sort_values(by).reset_index(drop=True)
    n_failed = failed.groupby(by).size() if len(failed) and set(by) <= set(failed.columns) else pd.Series(dtype=int)
    out = []
    for name, thr in thresholds.items():
        g = ok.groupby(by)
        n = g.size()
        k = g["p"].apply(lambda s, t=thr: int((s > t).sum()))
        snr = g["arc_snr"].mean()
        tab = groups.copy()
        key = pd.MultiIndex.from_frame(tab) if len(by) > 1 else tab[by[0]]
        tab["threshold"] = name
        tab["threshold_p"] = thr
        tab["n_ok"] = n.reindex(key).fillna(0).astype(int).to_numpy()
        tab["n_detected"] = k.reindex(key).fillna(0).astype(int).to_numpy()
        tab["n_failed"] = n_failed.reindex(key).fillna(0).astype(int).to_numpy() if len(n_failed) else 0
        tab["completeness"] = np.where(tab["n_ok"] > 0, tab["n_detected"] / tab["n_ok"].where(tab["n_ok"] > 0, 1), np.nan)
        for level, tag in ((0.68, "68"), (0.95, "95")):
            lo, hi = beta_interval(tab["n_detected"].to_numpy(float), tab["n_ok"].to_numpy(float), level)
            tab[f"lo{tag}"] = np.where(tab["n_ok"] > 0, lo, np.nan)
            tab[f"hi{tag}"] = np.where(tab["n_ok"] > 0, hi, np.nan)
        tab["mean_arc_snr"] = snr.reindex(key).to_numpy()
        tab["empty"] = tab["n_ok"] == 0
        out.append(tab)
    return pd.concat(out, ignore_index=True)
