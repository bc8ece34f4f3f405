"""One run's realism audit: every diagnostic of docs/realism.md, from the catalog to the decision.

`run_audit` takes the loaded pieces (scorer, preprocessing, catalog, run
manifest, source library pool) and
returns the report written to results/realism/<run>.json and the arrays of
results/realism/<run>.npz (penultimate embeddings per group, the anchor
gallery) that the figures read. Groups are named ``real`` (the catalog's
lenses), ``inj:<model>`` (matched injections of each source model) and
``negative``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from stronglens.core.rng import generator
from stronglens.data.normalise import preprocess_with
from stronglens.data.settings import PreprocessSettings
from stronglens.realism import fragility as F
from stronglens.realism.catalog import Catalog
from stronglens.realism.decision import d01_gates
from stronglens.realism.embeddings import embed, penultimate
from stronglens.realism.injections import InjectionSet, ceiling_injections, matched_injections
from stronglens.realism.morphology import STATISTICS, arc_statistics
from stronglens.realism.quality import bad_pixels, split_balance
from stronglens.realism.recall import recall_table, table4, thresholds
from stronglens.realism.settings import CatalogSettings, RealismSettings
from stronglens.realism.stats import frechet_distance, ks, linear_probe, mcnemar, mmd_test
from stronglens.survey.synthetic.galaxies import GalaxyPool
from stronglens.train.scoring import RunScorer

CHUNK = 256
MIN_NULL_GROUP = 4  # images per half below which a null test is reported as not computable


class Scored:
    """Scores and per-block embeddings of images preprocessed like the run's training data."""

    def __init__(self, scorer: RunScorer, pp: PreprocessSettings, images: np.ndarray) -> None:
        pre = np.concatenate([preprocess_with(torch.from_numpy(images[s : s + CHUNK].astype(np.float32)), pp).numpy()
                              for s in range(0, len(images), CHUNK)]) if len(images) else images.astype(np.float32)
        self.p, self.features = embed(scorer.model, scorer.run["model"], pre, scorer.device, scorer.batch)


def _cap(n: int, cap: int, seed: int, name: str) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(generator(seed, f"realism:cap:{name}").choice(n, cap, replace=False))


def _halves(n: int, seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    order = generator(seed, f"realism:null:{name}").permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def frechet_block(groups: dict[str, dict[str, np.ndarray]], models: tuple[str, ...], block: str) -> dict:
    """FD of real vs each injection model and real vs negatives on one block's features, and their ratios."""
    real, neg = groups["real"][block], groups["negative"][block]
    out = {"fd_real_negative": frechet_distance(real, neg)["fd"]}
    for m in models:
        fd = frechet_distance(real, groups[f"inj:{m}"][block])["fd"]
        out[f"fd_real_inj:{m}"] = fd
        out[f"fd_ratio:{m}"] = fd / out["fd_real_negative"] if out["fd_real_negative"] > 0 else None
    return out


def null_tests(real: np.ndarray, inj: np.ndarray, inj_lens: np.ndarray, cfg: RealismSettings, seed: int) -> dict:
    """Probe AUC and MMD p-value of real vs real (random halves) and injection vs injection (halves by lens,
    folds grouped by lens). A null passes when the probe's AUC is typical of its own label-permutation null
    (two-sided p >= 0.05) and the MMD p-value is >= 0.05."""
    pc = cfg.probe
    out = {}
    a, b = _halves(len(real), seed, "real")
    lenses = np.unique(inj_lens)
    la, _ = _halves(len(lenses), seed, "inj")
    in_a = np.isin(inj_lens, lenses[la])
    cases = {"real_vs_real": (real[a], real[b], None),
             "inj_vs_inj": (inj[in_a], inj[~in_a], np.r_[inj_lens[in_a], inj_lens[~in_a]])}
    for name, (x, y, groups) in cases.items():
        if min(len(x), len(y)) < MIN_NULL_GROUP:
            out[name] = {"probe": None, "mmd": None, "passes": None,
                         "reason": f"halves of {len(x)} and {len(y)} images: at least {MIN_NULL_GROUP} each are needed"}
            continue
        probe = linear_probe(x, y, pc.folds, seed, pc.bootstrap, pc.inverse_regularisation, groups,
                             pc.probe_permutations)
        mmd = mmd_test(x, y, pc.permutations, seed)
        out[name] = {"probe": probe, "mmd": mmd,
                     "passes": bool(probe["permutation"]["p_two_sided"] >= 0.05 and mmd["p_value"] >= 0.05)}
    return out


def group_features(scored: dict[str, Scored], rows: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    return {g: {blk: f[rows[g]] for blk, f in s.features.items()} for g, s in scored.items()}


def ceiling_table(inj: InjectionSet, p: np.ndarray, p_shot: np.ndarray, models: tuple[str, ...]) -> dict:
    """Detection at p > 0.3 and 0.5 and median arc SNR per magnitude bin and model, with and without shot noise."""
    rec = inj.records.assign(p=p, p_shot=p_shot)
    out = {}
    for m in models:
        rows = []
        for (lo, hi), g in rec[rec["source_model"] == m].groupby(["mag_lo", "mag_hi"], sort=True):
            rows.append({"mag_bin": f"{lo:g}-{hi:g}", "n": len(g), "detected_p>0.3": float((g["p"] > 0.3).mean()),
                         "detected_p>0.5": float((g["p"] > 0.5).mean()), "median_arc_snr": float(g["arc_snr"].median()),
                         "detected_p>0.3_shot_noise": float((g["p_shot"] > 0.3).mean()),
                         "median_p": float(g["p"].median())})
        peak = max(rows, key=lambda r: r["detected_p>0.3"])
        out[m] = {"bins": rows, "peak_p>0.3": peak["detected_p>0.3"], "peak_bin": peak["mag_bin"]}
    return out


def shot_noise_test(inj: InjectionSet, p: np.ndarray, p_shot: np.ndarray, models: tuple[str, ...]) -> dict:
    """Per model: detection (p > 0.3) with and without arc shot noise on the same injections, McNemar-paired."""
    out = {}
    for m in models:
        mask = (inj.records["source_model"] == m).to_numpy()
        a, b = p[mask] > 0.3, p_shot[mask] > 0.3
        out[m] = {"n": int(mask.sum()), "detected_without": float(a.mean()), "detected_with": float(b.mean()),
                  "delta": float(b.mean() - a.mean()), "mcnemar": mcnemar(a, b)}
    return out


def morphology(real: np.ndarray, inj: InjectionSet, models: tuple[str, ...], annulus: tuple[float, float]) -> dict:
    """Arc statistics of real lenses vs each model's matched injections: medians and KS p-values."""
    stats_real = arc_statistics(real, annulus)
    out = {"real": {"n": len(real), "n_no_arc": int(np.isnan(stats_real["anisotropy"]).sum()),
                    **{k: float(np.nanmedian(stats_real[k])) if np.isfinite(stats_real[k]).any() else None
                       for k in STATISTICS}}}
    for m in models:
        mask = (inj.records["source_model"] == m).to_numpy()
        s = arc_statistics(inj.stamps[mask], annulus)
        out[f"inj:{m}"] = {"n": int(mask.sum()), "n_no_arc": int(np.isnan(s["anisotropy"]).sum()),
                           **{k: float(np.nanmedian(s[k])) if np.isfinite(s[k]).any() else None for k in STATISTICS},
                           "ks": {k: ks(stats_real[k], s[k]) for k in STATISTICS}}
    return out


def run_audit(scorer: RunScorer, pp: PreprocessSettings, catalog: Catalog, cat: CatalogSettings, cfg: RealismSettings,
              run_manifest: pd.DataFrame, train_split: str, galaxies: GalaxyPool | None, seed: int) -> tuple[dict, dict[str, np.ndarray]]:
    """(report, arrays) of the audit; see the module docstring."""
    t0 = time.perf_counter()
    models = cfg.source_models
    arch = scorer.run["model"]
    block = penultimate(arch)
    timings = {}

    cat_scored = Scored(scorer, pp, catalog.images)
    lens_pos, neg_pos = catalog.lenses, catalog.negatives
    p_lens, p_neg = cat_scored.p[lens_pos], cat_scored.p[neg_pos]
    thr = thresholds(p_neg, cfg.thresholds, cfg.fprs)
    lens_rows = catalog.rows.iloc[lens_pos].reset_index(drop=True)
    recall = recall_table(p_lens, lens_rows, thr, cfg.theta_e_bins)
    timings["catalog"] = time.perf_counter() - t0

    matched = matched_injections(catalog, cfg.injections_per_lens, cat, models, galaxies, seed)
    inj_scored = Scored(scorer, pp, matched.stamps)
    timings["matched_injections"] = time.perf_counter() - t0 - sum(timings.values())

    pc = cfg.probe
    rows = {"real": lens_pos[_cap(len(lens_pos), pc.max_per_group, seed, "real")],
            "negative": neg_pos[_cap(len(neg_pos), pc.max_per_group, seed, "negative")]}
    scored = {"real": cat_scored, "negative": cat_scored}
    for m in models:
        idx = np.flatnonzero(matched.records["source_model"].to_numpy() == m)
        rows[f"inj:{m}"] = idx[_cap(len(idx), pc.max_per_group, seed, m)]
        scored[f"inj:{m}"] = inj_scored
    groups = group_features(scored, rows)
    medians = {g: float(np.median(scored[g].p[r])) for g, r in rows.items()}
    probes = {}
    lens_number = np.searchsorted(lens_pos, rows["real"])  # a real lens's index, as the injections' matched_to
    for m in models:
        a, b = groups["real"][block], groups[f"inj:{m}"][block]
        ids = np.r_[lens_number, matched.records["matched_to"].to_numpy()[rows[f"inj:{m}"]]]
        probes[m] = {"probe": linear_probe(a, b, pc.folds, seed, pc.bootstrap, pc.inverse_regularisation, ids),
                     "mmd": mmd_test(a, b, pc.permutations, seed)}
    main = f"inj:{models[0]}"
    inj_lens = matched.records["matched_to"].to_numpy()[rows[main]]
    nulls = null_tests(groups["real"][block], groups[main][block], inj_lens, cfg, seed)
    per_block = {blk: frechet_block(groups, models, blk) for blk in groups["real"]}
    timings["probe"] = time.perf_counter() - t0 - sum(timings.values())

    ceiling = ceiling_injections(catalog, cfg.ceiling, cat, models, galaxies, seed)
    p_ceiling = Scored(scorer, pp, ceiling.stamps).p
    p_shot = Scored(scorer, pp, ceiling.with_shot_noise(cat.gain_e_per_nmgy, seed)).p
    ceil = ceiling_table(ceiling, p_ceiling, p_shot, models)
    shot = shot_noise_test(ceiling, p_ceiling, p_shot, models)
    timings["ceiling_and_shot_noise"] = time.perf_counter() - t0 - sum(timings.values())

    alt = F.alternative(pp, cfg.alt_annulus)
    p_alt = Scored(scorer, alt, catalog.images).p
    labels = catalog.rows["label"].to_numpy()
    frag = {"scoring": F.scoring_deltas(cat_scored.p, p_alt, labels, thr),
            "annulus_statistics": F.annulus_comparison(catalog.images, catalog.rows, tuple(pp.annulus), cfg.alt_annulus)}
    timings["fragility"] = time.perf_counter() - t0 - sum(timings.values())

    morph = morphology(catalog.images[lens_pos], matched, models, tuple(pp.annulus))
    quality = {"split_balance": split_balance(run_manifest, train_split, cat.split),
               "bad_pixels": bad_pixels(catalog.images, cfg.decision.bad_pixel_fraction)}
    timings["morphology_and_quality"] = time.perf_counter() - t0 - sum(timings.values())

    main_probe = probes[models[0]]["probe"]["auc_mean"]
    fd_ratio = per_block[block][f"fd_ratio:{models[0]}"]
    gates = d01_gates(quality, frag, ceil[models[0]]["peak_p>0.3"], main_probe, fd_ratio, cfg.decision)
    report = {
        "run": scorer.run["name"], "architecture": arch, "penultimate_block": block,
        "catalog": {"dataset": cat.dataset, "source": cat.source, "split": cat.split, "manifest": catalog.source,
                    "n_lenses": int(len(lens_pos)), "n_negatives": int(len(neg_pos)),
                    "n_tier": {t: int((lens_rows["tier"] == t).sum()) for t in ("A", "B")}},
        "thresholds": thr,
        "recall": recall,
        "table4": table4(recall),
        "median_scores": medians,
        "probe": {"groups": {g: int(len(r)) for g, r in rows.items()}, "by_model": probes, "null_tests": nulls,
                  "nulls_pass": all(n["passes"] for n in nulls.values()) if all(n["passes"] is not None
                                                                                  for n in nulls.values()) else None,
                  "blocks": list(groups["real"]), "frechet_by_block": per_block, "fd_ratio": fd_ratio,
                  "matched": {"n_injections": int(len(matched.records)),
                              "n_matched": int(matched.records["matched"].sum()),
                              "median_arc_snr": {m: float(matched.records.loc[matched.records["source_model"] == m,
                                                                             "arc_snr"].median()) for m in models}}},
        "ceiling": ceil,
        "shot_noise": shot,
        "fragility": frag,
        "morphology": morph,
        "quality": quality,
        "d01": gates,
        "checkpoint": {"sha256": scorer.sha256, "epoch": scorer.epoch},
        "timings_s": {**timings, "total": time.perf_counter() - t0},
    }
    arrays = gallery_arrays(catalog, cat_scored.p, cfg.n_gallery)
    for g, r in rows.items():
        arrays[f"emb:{g}"] = groups[g][block].astype(np.float32)
        arrays[f"p:{g}"] = scored[g].p[r]
    return report, arrays


def gallery_arrays(catalog: Catalog, p: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """The anchor gallery: up to n lenses, tier A first, each tier in decreasing score (raw images, scores, tiers)."""
    lenses = catalog.lenses
    rows = catalog.rows.iloc[lenses]
    order = np.lexsort((-p[lenses], rows["tier"].to_numpy()))[:n]
    pick = lenses[order]
    return {"gallery_images": catalog.images[pick].astype(np.float32), "gallery_p": p[pick],
            "gallery_tier": catalog.rows["tier"].to_numpy()[pick].astype(str),
            "gallery_theta_e": catalog.rows["theta_e_arcsec"].to_numpy(float)[pick]}
