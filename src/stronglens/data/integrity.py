"""Split and paired-integrity checks (docs/science.md section 4). A failed check fails its job.

Each check returns a JSON-ready report with ``passed`` and the failing rows
named by the user's file and row (`stronglens.storage.shards.row_labels`),
each failure with its check, field, what was found and what was expected, so
nothing downstream runs on bad data and the log says exactly what to fix.
By default every pair is checked (both images), so a bad stamp is found even
when the unpaired manifest leaves its pair's stamp out; with a sample the
report's ``coverage`` says which rows were not.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from stronglens.core.rng import generator
from stronglens.storage.blobs import BlobError, decode_bands
from stronglens.storage.shards import row_labels


def write_report_or_fail(report: dict, out: str, what: str) -> None:
    """Write a passing report to `out`; print a failing one to stderr (the job's log) and exit non-zero.

    A failed check must fail its job so nothing downstream runs; Snakemake
    deletes a failed job's outputs, so the report lives on in the log.
    """
    import json
    import sys

    from stronglens.storage.artifacts import write_json

    if not report["passed"]:
        print(json.dumps(report, indent=2), file=sys.stderr)
        sys.exit(f"{what} FAILED: see the report above")
    write_json(report, out)


SPATIAL_KEYS = {"bricks": "brickname", "healpix": "healpix_128", "hosts": "host_id"}
MAX_LISTED = 50


def split_overlaps(manifest: pd.DataFrame) -> dict:
    """Bricks, HEALPix cells and hosts shared by every pair of splits, and rows missing coordinates."""
    report: dict = {"overlaps": {}, "missing_coordinates": []}
    splits = sorted(manifest["split"].dropna().unique())
    for a, b in combinations(splits, 2):
        entry = {}
        for name, col in SPATIAL_KEYS.items():
            shared = set(manifest.loc[manifest["split"] == a, col]) & set(manifest.loc[manifest["split"] == b, col])
            entry[name] = {"count": len(shared), "examples": sorted(map(str, shared))[:10]}
        report["overlaps"][f"{a}-{b}"] = entry
    missing = manifest[manifest[["ra", "dec", "brickname", "healpix_128"]].isna().any(axis=1)]
    listed = missing.head(MAX_LISTED)
    report["missing_coordinates"] = [
        {"where": where, "fields": [c for c in ("ra", "dec", "brickname", "healpix_128") if pd.isna(r[c])]}
        for where, (_, r) in zip(row_labels(listed), listed.iterrows())
    ]
    report["n_missing_coordinates"] = int(len(missing))
    report["n_rows"] = int(len(manifest))
    report["passed"] = report["n_missing_coordinates"] == 0 and all(
        v["count"] == 0 for entry in report["overlaps"].values() for v in entry.values()
    )
    return report


def check_splits(manifests: dict[str, pd.DataFrame]) -> dict:
    """`split_overlaps` for each manifest variant; passed only if all pass."""
    out = {name: split_overlaps(m) for name, m in manifests.items()}
    return {"manifests": out, "passed": all(r["passed"] for r in out.values())}


PAIR_CHECKS = ("shape_match", "not_identical", "no_nan_inf", "value_range", "expected_shape")
IMAGE_CHECKS = ("no_nan_inf", "value_range", "expected_shape")


def _image_failures(img: np.ndarray, field: str, expected: tuple[int, int, int], max_abs: float) -> list[dict]:
    """The single-image checks failed by one decoded image, each naming its field and what was expected."""
    out = []
    n_bad = int((~np.isfinite(img)).sum())
    if n_bad:
        out.append({"check": "no_nan_inf", "field": field, "found": f"{n_bad} NaN/Inf pixels", "expected": "finite pixels"})
    finite = img[np.isfinite(img)]
    if finite.size and np.abs(finite).max() > max_abs:
        out.append({"check": "value_range", "field": field, "found": f"max |value| {float(np.abs(finite).max()):.4g}",
                    "expected": f"|value| <= {max_abs:g} nmgy"})
    if img.shape != expected:
        out.append({"check": "expected_shape", "field": field, "found": f"shape {img.shape}", "expected": f"shape {expected}"})
    return out


def _pair_failures(stamp: np.ndarray, ctrl: np.ndarray, expected: tuple[int, int, int], max_abs: float) -> list[dict]:
    """The pair checks failed by one decoded pair (fields ``stamp_npz`` / ``ctrl_stamp_npz``)."""
    out = []
    if stamp.shape != ctrl.shape:
        out.append({"check": "shape_match", "field": "stamp_npz, ctrl_stamp_npz", "found": f"{stamp.shape} vs {ctrl.shape}",
                    "expected": "equal shapes"})
    elif np.array_equal(stamp, ctrl):
        out.append({"check": "not_identical", "field": "stamp_npz, ctrl_stamp_npz", "found": "identical arrays",
                    "expected": "a stamp that differs from its ctrl"})
    for field, img in (("stamp_npz", stamp), ("ctrl_stamp_npz", ctrl)):
        out += _image_failures(img, field, expected, max_abs)
    return out


def _tally(blobs: dict, checks: tuple[str, ...], judge) -> dict:
    """Run `judge(key, value) -> [failure, ...]` on every entry; counts per check and the failing rows."""
    counts = {c: {"passed": 0, "failed": 0} for c in checks}
    failures: list[dict] = []
    for key, value in blobs.items():
        found = judge(key, value)
        failed = sorted({f["check"] for f in found}, key=checks.index)
        if found:
            failures.append({"where": key[2], "failed": failed, "fields": sorted({f["field"] for f in found}), "details": found})
        for c in checks:
            counts[c]["failed" if c in failed else "passed"] += 1
    return {"n_checked": len(blobs), "checks": counts, "failures": failures[:MAX_LISTED], "n_failed_rows": len(failures)}


def _undecodable(checks: tuple[str, ...], field: str, err: BlobError) -> list[dict]:
    return [{"check": c, "field": field, "found": str(err), "expected": "an NPZ of image_g, image_r, image_z"} for c in checks]


def check_pairs(blobs: dict[tuple[str, int, str], tuple[bytes, bytes]], expected_shape: tuple[int, int, int],
                max_abs: float) -> dict:
    """The five paired-integrity checks on the pairs in `blobs`, keyed by (shard, row, label in the user's terms:
    `stronglens.storage.shards.row_labels`). Every failure names its check, field, what was found and expected."""

    def judge(key, value):
        decoded = []
        for field, blob in zip(("stamp_npz", "ctrl_stamp_npz"), value):
            try:
                decoded.append(decode_bands(blob, where=f"{key[2]} field {field}"))
            except BlobError as err:
                return _undecodable(PAIR_CHECKS, field, err)
        return _pair_failures(*decoded, expected_shape, max_abs)

    report = _tally(blobs, PAIR_CHECKS, judge)
    return {**report, "expected_shape": list(expected_shape), "passed": report["n_failed_rows"] == 0}


def check_images(blobs: dict[tuple[str, int, str], bytes], expected_shape: tuple[int, int, int], max_abs: float) -> dict:
    """The single-image checks (no pairs to compare) for an unpaired source such as cutouts (field ``image_npz``)."""

    def judge(key, blob):
        try:
            img = decode_bands(blob, where=f"{key[2]} field image_npz")
        except BlobError as err:
            return _undecodable(IMAGE_CHECKS, "image_npz", err)
        return _image_failures(img, "image_npz", expected_shape, max_abs)

    report = _tally(blobs, IMAGE_CHECKS, judge)
    return {**report, "expected_shape": list(expected_shape), "unpaired_source": True, "passed": report["n_failed_rows"] == 0}


def merge_reports(reports: list[dict], expected_shape: tuple[int, int, int], single: bool) -> dict:
    """One check report from per-shard ones (`check_pairs` / `check_images` on each shard's rows)."""
    checks = IMAGE_CHECKS if single else PAIR_CHECKS
    counts = {c: {k: sum(r["checks"][c][k] for r in reports) for k in ("passed", "failed")} for c in checks}
    failures = [f for r in reports for f in r["failures"]][:MAX_LISTED]
    n_failed = sum(r["n_failed_rows"] for r in reports)
    merged = {"n_checked": sum(r["n_checked"] for r in reports), "checks": counts, "failures": failures,
              "n_failed_rows": n_failed, "expected_shape": list(expected_shape)}
    return {**merged, **({"unpaired_source": True} if single else {}), "passed": n_failed == 0}


def coverage(n_checked: int, n_total: int) -> str:
    """What a check report covers, in words: every row, or a sample and where the other rows are checked."""
    if n_checked >= n_total:
        return f"every row: {n_checked} of {n_total} (both images of every pair, whichever the manifests use)"
    return (f"a seeded sample of {n_checked} of {n_total} rows; the others are decoded and checked (no_nan_inf, "
            "expected_shape) only when preprocessing reads them, so an image no manifest uses is not checked "
            "(set check_pairs_sample: null to check every row)")


def sample_pairs(manifest: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """n distinct pairs (shard, row, and source_file/source_row where recorded) drawn with a seeded generator;
    all of them if n is None or there are fewer."""
    keep = [c for c in ("shard", "row", "source_file", "source_row") if c in manifest]
    pairs = manifest.drop_duplicates(["shard", "row"])[keep]
    if n is None or len(pairs) <= n:
        return pairs.reset_index(drop=True)
    idx = np.sort(generator(seed, "check_pairs").choice(len(pairs), size=n, replace=False))
    return pairs.iloc[idx].reset_index(drop=True)
