"""Selection-function tables from the injections of every shard: thresholds, completeness, sensitivity, summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.selection.recovery import PRIORS, beta_interval, completeness_table, threshold_at_fpr
from stronglens.selection.settings import SelectionGatherSettings

MAG_BINS = [23.0, 24.0, 25.0, 26.0]


def thresholds(inj: pd.DataFrame, p_values: list[float], fprs: list[float]) -> tuple[dict[str, float], list[dict]]:
    """Fixed p thresholds plus the p at each FPR of the baseline's valid clean-host scores, each distinct host
    counted once (dataset hosts are drawn with replacement: `negative_ids`)."""
    base = inj.loc[(inj["variant"] == "baseline") & (inj["status"] == "ok")]
    clean = base["p_clean"].to_numpy()
    table = {f"p>{p:g}": float(p) for p in p_values}
    records = []
    for f in fprs:
        rec = threshold_at_fpr(clean, f, negative_ids(base))
        table[f"fpr<={f:g}"] = rec["threshold"]
        records.append(rec)
    return table, records


def negative_ids(rows: pd.DataFrame) -> np.ndarray:
    """The clean host behind each injection row: its dataset host_id where it has one, else the attempt itself
    (a synthetic host is drawn afresh for every attempt)."""
    attempt = rows[["cell_id", "injection", "attempt"]].astype(str).agg(":".join, axis=1).to_numpy(dtype=object)
    if "host_id" not in rows.columns:
        return attempt
    host = rows["host_id"].to_numpy(dtype=object)
    return np.where(pd.isna(host), attempt, host)


def with_bins(inj: pd.DataFrame) -> pd.DataFrame:
    out = inj.copy()
    out["src_mag_bin"] = pd.cut(out["src_mag_r"], MAG_BINS, right=False).astype(str)
    return out


def baseline_variants(prior: str, also_priors: tuple[str, ...] = (), source_models: tuple[str, ...] = ("sersic",)
                      ) -> dict[str, tuple[str, str]]:
    """Variant name -> (prior, source model) of every baseline: the main one, one per extra prior ("prior:<name>")
    and one per extra source model ("source:<model>")."""
    main = source_models[0]
    out = {"baseline": (prior, main), **{f"prior:{p}": (p, main) for p in also_priors if p != prior}}
    out.update({f"source:{m}": (prior, m) for m in source_models[1:]})
    return out


def is_baseline_variant(variant: str) -> bool:
    """Whether a variant is a baseline of another prior or source model (not a sensitivity variant)."""
    return variant == "baseline" or variant.startswith(("prior:", "source:"))


def completeness_tables(inj: pd.DataFrame, thr: dict[str, float], beta_frac_max: float,
                        variants: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Per cell and marginals (theta_E, source mag, PSF, depth), for all injections and the beta_frac-restricted
    subset, for each baseline (`variants`: variant -> (prior, source model), see `baseline_variants`)."""
    frames = []
    for variant, (prior, model) in variants.items():
        base = with_bins(inj[inj["variant"] == variant])
        if base.empty:
            continue
        for subset, data in (("all", base), (f"beta_frac<={beta_frac_max:g}", base[~(base["beta_frac"] > beta_frac_max)])):
            for level, by in (("cell", ["cell_id", "theta_e_cell", "psf_fwhm", "depth_r"]), ("theta_e", ["theta_e_cell"]),
                              ("src_mag", ["src_mag_bin"]), ("psf_fwhm", ["psf_fwhm"]), ("depth", ["depth_r"])):
                tab = completeness_table(data, by, thr)
                if "theta_e_cell" in by:
                    tab["in_prior"] = in_prior(tab["theta_e_cell"], prior)
                tab.insert(0, "level", level)
                tab.insert(0, "subset", subset)
                tab.insert(0, "prior", prior)
                tab.insert(0, "source_model", model)
                tab.insert(0, "variant", variant)
                frames.append(tab)
    return pd.concat(frames, ignore_index=True)


def sensitivity_table(inj: pd.DataFrame, thr: dict[str, float]) -> pd.DataFrame:
    """Per variant and threshold: mean, max |.| and std over cells of completeness(variant) - completeness(baseline)."""
    by = ["cell_id"]
    base = completeness_table(inj[inj["variant"] == "baseline"], by, thr).set_index(["threshold", "cell_id"])
    rows = []
    for variant in sorted(v for v in set(inj["variant"]) if not is_baseline_variant(v)):
        var = completeness_table(inj[inj["variant"] == variant], by, thr).set_index(["threshold", "cell_id"])
        delta = (var["completeness"] - base["completeness"]).dropna()
        for name, d in delta.groupby(level="threshold"):
            rows.append({"variant": variant, "threshold": name, "mean_delta": float(d.mean()),
                         "max_abs_delta": float(d.abs().max()), "std_delta": float(d.std(ddof=0)), "n_cells": int(len(d))})
    return pd.DataFrame(rows, columns=["variant", "threshold", "mean_delta", "max_abs_delta", "std_delta", "n_cells"])


def in_prior(theta_e: pd.Series, prior: str) -> pd.Series:
    """Cells inside the prior's theta_E range (the anchored prior covers 0.8-2.5 arcsec only)."""
    lo, hi = PRIORS[prior]["theta_e"]
    return (theta_e >= lo - 1e-9) & (theta_e <= hi + 1e-9)


def overall(inj: pd.DataFrame, variant: str, prior: str, thr: dict[str, float]) -> dict:
    """Completeness per threshold over the ok injections of `variant` inside the prior's theta_E range."""
    rows = inj[inj["variant"] == variant]
    ok = rows[(rows["status"] == "ok") & in_prior(rows["theta_e_cell"], prior)]
    out = {}
    for name, t in thr.items():
        k, n = int((ok["p"] > t).sum()), len(ok)
        lo, hi = beta_interval(np.array([k], float), np.array([n], float), 0.95)
        out[name] = {"threshold_p": t, "completeness": k / n if n else None, "n_detected": k, "n_ok": n,
                     "ci95": [float(lo[0]), float(hi[0])]}
    return out


def summary(inj: pd.DataFrame, thr: dict[str, float], fpr_records: list[dict], completeness: pd.DataFrame,
            settings: SelectionGatherSettings) -> dict:
    """Overall completeness per threshold (Beta intervals) over the cells inside the prior's theta_E range,
    the same for every extra prior, by source magnitude, peak theta_E, counts."""
    base = inj[inj["variant"] == "baseline"]
    variants = baseline_variants(settings.prior, settings.also_priors, settings.source_models)
    marg = completeness[(completeness["subset"] == "all") & (completeness["variant"] == "baseline")]
    te = marg[(marg["level"] == "theta_e") & (marg["threshold"] == next(iter(thr)))]
    mags = marg[marg["level"] == "src_mag"]
    return {
        "settings": as_dict(settings),
        "theta_e_range": PRIORS[settings.prior]["theta_e"],
        "n_injections": int(base[["cell_id", "injection"]].drop_duplicates().shape[0]),
        "n_ok": int((base["status"] == "ok").sum()),
        "n_failed_attempts": int((base["status"] == "failed").sum()),
        "n_no_host": int((base["status"] == "no_host").sum()),
        "empty_cells": sorted(int(c) for c in set(base["cell_id"]) - set(base.loc[base["status"] == "ok", "cell_id"])),
        "n_abandoned": int(base.groupby(["cell_id", "injection"])["status"].apply(lambda s: (s != "ok").all()).sum()),
        "failure_reasons": base.loc[base["status"] == "failed", "reason"].value_counts().to_dict(),
        "thresholds": thr,
        "fpr_thresholds": fpr_records,
        "completeness": overall(inj, "baseline", settings.prior, thr),
        "completeness_by_prior": {p: overall(inj, v, p, thr) for v, (p, _) in variants.items() if not v.startswith("source:")},
        "completeness_by_source_model": {m: overall(inj, v, p, thr) for v, (p, m) in variants.items() if p == settings.prior
                                         and not v.startswith("prior:")},
        "completeness_by_src_mag": {f"{r.threshold} {r.src_mag_bin}": r.completeness for r in mags.itertuples()},
        "peak_theta_e": float(te.loc[te["completeness"].idxmax(), "theta_e_cell"]) if te["completeness"].notna().any() else None,
    }
