"""Split and paired-integrity checks (docs/science.md section 4). A failed check fails its job.

Each check returns a JSON-ready report with ``passed`` and the failing rows
named by shard file and row, so nothing downstream runs on bad data and the
log says exactly what to fix.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from stronglens.core.rng import generator
from stronglens.storage.blobs import BlobError, decode_bands


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


def _where(row) -> str:
    return f"{row['shard']} row {int(row['row'])}"


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
    report["missing_coordinates"] = [
        {"where": _where(r), "fields": [c for c in ("ra", "dec", "brickname", "healpix_128") if pd.isna(r[c])]}
        for _, r in missing.head(MAX_LISTED).iterrows()
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


def _pair_failures(stamp: np.ndarray, ctrl: np.ndarray, expected: tuple[int, int, int], max_abs: float) -> list[str]:
    failed = []
    if stamp.shape != ctrl.shape:
        failed.append("shape_match")
    elif np.array_equal(stamp, ctrl):
        failed.append("not_identical")
    if not (np.isfinite(stamp).all() and np.isfinite(ctrl).all()):
        failed.append("no_nan_inf")
    finite = [a[np.isfinite(a)] for a in (stamp, ctrl)]
    if any(f.size and np.abs(f).max() > max_abs for f in finite):
        failed.append("value_range")
    if stamp.shape != expected or ctrl.shape != expected:
        failed.append("expected_shape")
    return failed


def check_pairs(manifest: pd.DataFrame, blobs: dict[tuple[str, int], tuple[bytes, bytes]], expected_shape: tuple[int, int, int],
                max_abs: float) -> dict:
    """The five paired-integrity checks on the pairs in `blobs` (keyed by shard, row)."""
    counts = {c: {"passed": 0, "failed": 0} for c in PAIR_CHECKS}
    failures: list[dict] = []
    for (shard, row), (stamp_blob, ctrl_blob) in blobs.items():
        where = f"{shard} row {row}"
        try:
            stamp = decode_bands(stamp_blob, where=f"{where} field stamp_npz")
            ctrl = decode_bands(ctrl_blob, where=f"{where} field ctrl_stamp_npz")
        except BlobError as exc:
            failed = list(PAIR_CHECKS)
            failures.append({"where": where, "failed": failed, "error": str(exc)})
        else:
            failed = _pair_failures(stamp, ctrl, expected_shape, max_abs)
            if failed:
                failures.append({"where": where, "failed": failed})
        for c in PAIR_CHECKS:
            counts[c]["failed" if c in failed else "passed"] += 1
    return {
        "n_checked": len(blobs), "checks": counts, "failures": failures[:MAX_LISTED], "n_failed_rows": len(failures),
        "expected_shape": list(expected_shape), "passed": not failures,
    }


IMAGE_CHECKS = ("no_nan_inf", "value_range", "expected_shape")


def check_images(blobs: dict[tuple[str, int], bytes], expected_shape: tuple[int, int, int], max_abs: float) -> dict:
    """The single-image checks (no pairs to compare) for an unpaired source such as cutouts."""
    counts = {c: {"passed": 0, "failed": 0} for c in IMAGE_CHECKS}
    failures: list[dict] = []
    for (shard, row), blob in blobs.items():
        where = f"{shard} row {row}"
        try:
            img = decode_bands(blob, where=f"{where} field image_npz")
        except BlobError as exc:
            failed = list(IMAGE_CHECKS)
            failures.append({"where": where, "failed": failed, "error": str(exc)})
        else:
            finite = img[np.isfinite(img)]
            failed = [c for c, bad in (("no_nan_inf", finite.size != img.size),
                                       ("value_range", finite.size and np.abs(finite).max() > max_abs),
                                       ("expected_shape", img.shape != expected_shape)) if bad]
            if failed:
                failures.append({"where": where, "failed": failed})
        for c in IMAGE_CHECKS:
            counts[c]["failed" if c in failed else "passed"] += 1
    return {"n_checked": len(blobs), "checks": counts, "failures": failures[:MAX_LISTED], "n_failed_rows": len(failures),
            "expected_shape": list(expected_shape), "unpaired_source": True, "passed": not failures}


def sample_pairs(manifest: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n distinct pairs (shard, row) drawn with a seeded generator; all of them if fewer."""
    pairs = manifest.drop_duplicates(["shard", "row"])[["shard", "row"]]
    if len(pairs) <= n:
        return pairs.reset_index(drop=True)
    idx = np.sort(generator(seed, "check_pairs").choice(len(pairs), size=n, replace=False))
    return pairs.iloc[idx].reset_index(drop=True)
