"""Completeness of two runs side by side: per-cell differences with intervals for two independent binomials.

Input: two completeness tables as the selection stage writes them
(results/selection/<run>/completeness.parquet, rows of
`selection.recovery.completeness_table` with the `selection.tables`
columns variant, source_model, prior, subset and level in front), or bare
`completeness_table` output. Rows are matched on every grouping column
(variant, source_model, prior, subset, level where present), on the grid
coordinates (theta_e_cell arcsec, psf_fwhm arcsec, depth_r mag, src_mag_bin:
those the table has, floats compared to 1e-6; cell_id is not a
coordinate, since two grids may number their cells differently) and on
the threshold name ("p>0.3", "fpr<=0.001", ...). A threshold name means the
same rule in both runs, but an FPR threshold's p value is each run's own
(threshold_p_a, threshold_p_b are reported beside).

delta = c_a - c_b, completeness as a fraction (n_detected / n_ok, ok
injections only). The interval is Newcombe's hybrid score interval
(Newcombe 1998, Stat. Med. 17, 873, his method 10): with each run's
Wilson score interval [l, u] around its rate p,

    lower = delta - sqrt((p_a - l_a)^2 + (u_b - p_b)^2)
    upper = delta + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)

The Wilson interval always contains its rate (exactly 0 at k = 0, 1 at
k = n), so this interval always contains delta and stays inside [-1, 1].
The two runs' injections are treated as independent samples; when both
runs scored the same injections (same grid, seed and draws) the outcomes are
positively correlated and the interval is conservative.

A cell with n_ok = 0 in either run is reported as empty (delta, interval
None), never as a zero difference. The overall delta pools, per grouping
and threshold, the cell-level rows (level "cell" when the table has a level
column, every row otherwise) that are non-empty in both runs:
sum n_detected / sum n_ok per run. It is a pooled rate over the common
cells (summary.json's overall completeness also restricts theta_E to the
prior's range, so the two need not agree); cells differ in rate, so the
binomial interval of a pooled rate is conservative.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

GROUP_COLUMNS = ("variant", "source_model", "prior", "subset", "level")
GRID_COLUMNS = ("theta_e_cell", "psf_fwhm", "depth_r", "src_mag_bin")  # the coordinates rows are matched on
METHOD = "Newcombe hybrid score interval (from two Wilson score intervals; Newcombe 1998 method 10)"


def wilson_interval(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score `level` interval of a binomial rate k / n (n > 0), exactly 0 at k = 0 and 1 at k = n.

    The ends are clipped to contain k / n so float rounding can never put the
    rate outside its interval.
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError("Wilson interval needs 0 <= k <= n and n > 0")
    z = norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(k * (n - k) / n + z * z / 4)
    lo = np.where(k <= 0, 0.0, np.minimum(centre - half, p))
    hi = np.where(k >= n, 1.0, np.maximum(centre + half, p))
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


def newcombe_interval(k_a: np.ndarray, n_a: np.ndarray, k_b: np.ndarray, n_b: np.ndarray,
                      level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(delta, lower, upper) of p_a - p_b for two independent binomials: Newcombe's hybrid score interval.

    p = k / n (fractions); all n must be > 0. lower <= delta <= upper always.
    """
    k_a, n_a, k_b, n_b = (np.asarray(x, dtype=float) for x in (k_a, n_a, k_b, n_b))
    p_a, p_b = k_a / n_a, k_b / n_b
    l_a, u_a = wilson_interval(k_a, n_a, level)
    l_b, u_b = wilson_interval(k_b, n_b, level)
    delta = p_a - p_b
    lower = delta - np.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
    upper = delta + np.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    return delta, np.minimum(lower, delta), np.maximum(upper, delta)


def read_completeness(path: str | Path) -> pd.DataFrame:
    """A run's completeness table: results/selection/<run>/ (its completeness.parquet) or a .parquet / .csv file."""
    path = Path(path)
    if path.is_dir():
        path = path / "completeness.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"no completeness table at {path} (expected results/selection/<run>/completeness.parquet)")
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def _key_columns(table: pd.DataFrame, on: tuple[str, ...]) -> list[str]:
    return [c for c in on if c in table.columns]


def _match_key(values: pd.Series) -> pd.Series:
    """Text key of a grouping / coordinate column: floats rounded to 1e-6, missing as ''."""
    def one(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return f"{round(float(v), 6):.6f}"
        return str(v)
    return values.map(one)


def _check(table: pd.DataFrame, name: str) -> None:
    """Raise ValueError (run and field named) unless the table has threshold, n_ok, n_detected with 0 <= k <= n."""
    missing = [c for c in ("threshold", "n_ok", "n_detected") if c not in table.columns]
    if missing:
        raise ValueError(f"completeness table of run {name} lacks column(s) {', '.join(missing)}: field {missing[0]}")
    n, k = table["n_ok"].to_numpy(), table["n_detected"].to_numpy()
    if pd.isna(n).any() or pd.isna(k).any() or (k < 0).any() or (k > n).any():
        raise ValueError(f"completeness table of run {name}: n_detected must lie in 0..n_ok: field n_detected")


def _plain(v):
    """JSON-ready scalar: numpy types to Python, NaN to None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _delta_record(k_a: int, n_a: int, k_b: int, n_b: int, level: float) -> dict:
    """Counts, rates and delta with its interval; empty (delta and ci None) when either n is 0."""
    rec = {"n_detected_a": int(k_a), "n_ok_a": int(n_a), "n_detected_b": int(k_b), "n_ok_b": int(n_b),
           "completeness_a": k_a / n_a if n_a else None, "completeness_b": k_b / n_b if n_b else None}
    empty = [r for r, n in (("a", n_a), ("b", n_b)) if n == 0]
    if empty:
        return {**rec, "empty": True, "empty_in": empty, "delta": None, "ci": None}
    d, lo, hi = newcombe_interval(k_a, n_a, k_b, n_b, level)
    return {**rec, "empty": False, "empty_in": [], "delta": float(d), "ci": [float(lo), float(hi)]}


def completeness_delta(comp_a: pd.DataFrame, comp_b: pd.DataFrame, level: float = 0.95,
                       names: tuple[str, str] = ("a", "b"),
                       on: tuple[str, ...] = GROUP_COLUMNS + GRID_COLUMNS) -> dict:
    """Per matched row and pooled completeness(a) - completeness(b) with Newcombe `level` intervals (module docstring).

    `on`: the grouping and coordinate columns rows are matched on (with the
    threshold name), those of them the tables have; two rows of one table
    with the same values of these raise ValueError, as do tables whose
    grouping columns differ. `names` name the runs in error messages and
    in the "runs" entry.

    Returns {"method", "ci_level", "match_on", "cells": [...], "overall": [...],
    "n_cells", "n_empty", "n_unmatched_a", "n_unmatched_b"}; each cell
    carries its grouping and coordinate values, threshold, threshold_p_a,
    threshold_p_b, cell_id_a / cell_id_b (if the tables have cell_id),
    n_detected_a, n_ok_a, n_detected_b, n_ok_b, completeness_a,
    completeness_b, empty, empty_in (the runs with n_ok = 0), delta and ci
    ([lower, upper], fractions; None when empty). Overall entries carry
    the grouping columns (not level), threshold, the pooled counts and
    rates, n_cells (cells pooled), n_cells_empty (matched cells left out as
    empty in a run), delta and ci.
    """
    _check(comp_a, names[0])
    _check(comp_b, names[1])
    keys = [c for c in _key_columns(comp_a, on) if c in set(_key_columns(comp_b, on))] + ["threshold"]
    only = sorted(set(_key_columns(comp_a, on)) ^ set(_key_columns(comp_b, on)))
    if only:
        raise ValueError(f"completeness tables of {names[0]} and {names[1]} are grouped differently (columns {only} "
                         f"in one table only): field {only[0]}")

    def keyed(t: pd.DataFrame) -> pd.DataFrame:
        t = t.reset_index(drop=True).copy()
        for c in keys:
            t[f"_k_{c}"] = _match_key(t[c])
        return t

    ka, kb = keyed(comp_a), keyed(comp_b)
    kcols = [f"_k_{c}" for c in keys]
    for t, name in ((ka, names[0]), (kb, names[1])):
        dup = t.duplicated(kcols)
        if dup.any():
            raise ValueError(f"completeness table of run {name} has {int(dup.sum())} rows repeating the same {keys}: "
                             "a grouping column is missing from `on`: field threshold")
    extra = [c for c in ("threshold_p", "cell_id") if c in ka.columns or c in kb.columns]

    def side(t: pd.DataFrame, tag: str, with_keys: bool) -> pd.DataFrame:
        out = t[kcols + (keys if with_keys else [])].copy()
        for c in ("n_ok", "n_detected", *extra):
            out[f"{c}_{tag}"] = t[c] if c in t.columns else None
        return out

    merged = side(ka, "a", True).merge(side(kb, "b", False), on=kcols, how="outer", indicator=True)
    both = merged[merged["_merge"] == "both"]

    cells = []
    for r in both.to_dict("records"):
        rec = {c: _plain(r[c]) for c in keys}
        rec.update({f"{c}_{s}": _plain(r[f"{c}_{s}"]) for c in extra for s in ("a", "b")})
        for s in ("a", "b"):  # cell_id turns float where marginal rows (no cell) share the column
            if isinstance(rec.get(f"cell_id_{s}"), float):
                rec[f"cell_id_{s}"] = int(rec[f"cell_id_{s}"])
        rec.update(_delta_record(int(r["n_detected_a"]), int(r["n_ok_a"]), int(r["n_detected_b"]), int(r["n_ok_b"]), level))
        cells.append(rec)

    overall = []
    cell_df = pd.DataFrame(cells)
    if "level" in cell_df.columns:
        cell_df = cell_df[cell_df["level"] == "cell"]
    by = [c for c in keys if c in GROUP_COLUMNS and c != "level"] + ["threshold"]
    if len(cell_df):
        for _, g in cell_df.groupby(by, dropna=False, sort=True):
            usable = g[~g["empty"].astype(bool)]
            rec = {c: _plain(g[c].iloc[0]) for c in by}
            rec.update(_delta_record(int(usable["n_detected_a"].sum()), int(usable["n_ok_a"].sum()),
                                     int(usable["n_detected_b"].sum()), int(usable["n_ok_b"].sum()), level))
            rec["n_cells"] = int(len(usable))
            rec["n_cells_empty"] = int(len(g) - len(usable))
            overall.append(rec)

    return {"method": METHOD, "ci_level": level, "runs": {"a": names[0], "b": names[1]}, "match_on": keys,
            "cells": cells, "overall": overall, "n_cells": len(cells), "n_empty": int(sum(c["empty"] for c in cells)),
            "n_unmatched_a": int((merged["_merge"] == "left_only").sum()),
            "n_unmatched_b": int((merged["_merge"] == "right_only").sum())}
