"""Real data that fails loudly (issue 18): files in the seeds' formats, each with one planted fault.

Each test writes its own fixture: a user's paired parquet in the seeds' schema (made from a simulated
shard, ids and sky keys dropped) or a cutout catalog with .npz files.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import validated
from sklearn.model_selection import StratifiedGroupKFold

from stronglens.data.hosts import shared_host_counts, sky_groups
from stronglens.data.manifest import ManifestError, build_manifests
from stronglens.data.settings import ManifestSettings
from stronglens.stages.build_manifest import read_shard
from stronglens.storage.artifacts import write_parquet
from stronglens.storage.blobs import encode_bands
from stronglens.survey.ingest import IngestError, ingest_cutouts, ingest_paired_parquet
from stronglens.survey.sky import healpix_nested
from stronglens.survey.synthetic.survey import simulate_shard

SEED_SCHEMA = ["stamp_npz", "ctrl_stamp_npz", "ra", "dec", "theta_e_arcsec", "psfsize_r", "psfdepth_r"]
MCFG = ManifestSettings(split_by="brick", splits={"train": 0.6, "val": 0.2, "test": 0.2}, subsample=None,
                        tier_weights={"A": 1.0, "B": 1.0})
ARCSEC = 1.0 / 3600.0


@pytest.fixture(scope="module")
def user_rows(tmp_path_factory) -> pd.DataFrame:
    """60 pairs in the seeds' schema only (no ids, bricks or cells), as a user's shard would hold them."""
    block = validated({"datasets": {"d": {"source": "synthetic", "n_pairs": 60, "shard_size": 60,
                                          "footprint": {"n_fields": 12, "field_radius_deg": 0.2}}}})["datasets"]["d"]
    return simulate_shard(block, "d", 0, seed=5)[SEED_SCHEMA].copy()


def ingest_to_shard(tmp_path, rows: pd.DataFrame, name: str = "user.parquet"):
    """Write `rows` as the user's file, ingest it as the workflow does; (user path, ingested shard path)."""
    user = tmp_path / name
    write_parquet(rows.reset_index(drop=True), user)
    df, _ = ingest_paired_parquet(user)
    shard = tmp_path / f"ingested-{name}"
    write_parquet(df, shard)
    return user, shard


def written(df: pd.DataFrame, path):
    write_parquet(df, path)
    return path


def manifests(shard, cfg: ManifestSettings = MCFG):
    return build_manifests([(str(shard), read_shard(str(shard)))], cfg, seed=3)


# --- host identity from the sky ------------------------------------------------------------------

def test_two_rows_at_one_position_are_one_host_in_one_split_and_one_cv_fold(user_rows, tmp_path):
    rows = user_rows.copy()
    rows.loc[1, ["ra", "dec"]] = rows.loc[0, "ra"] + 0.1 * ARCSEC, rows.loc[0, "dec"]  # a second injection on host 0
    rows.loc[2, ["ra", "dec"]] = rows.loc[0, "ra"] + 5.0 * ARCSEC, rows.loc[0, "dec"]  # a neighbour 5" away
    _, shard = ingest_to_shard(tmp_path, rows)
    paired, unpaired = manifests(shard)
    by_row = paired.drop_duplicates("row").set_index("row")
    assert by_row.at[0, "host_id"] == by_row.at[1, "host_id"] != by_row.at[2, "host_id"]
    assert by_row.at[0, "split"] == by_row.at[1, "split"]
    assert paired["host_id"].nunique() == len(rows) - 1
    one_host = unpaired[unpaired["row"].isin([0, 1])]
    assert len(one_host) == 2 and one_host["label"].nunique() == 1  # the galaxy never appears with both labels
    assert one_host["split"].nunique() == 1
    split = paired[paired["split"] == by_row.at[0, "split"]].reset_index(drop=True)
    cv = StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=0)  # the data gates' CV, grouped by host_id
    for _, test in cv.split(np.zeros(len(split)), split["label"], split["host_id"]):
        rows_in_fold = set(split.loc[test, "row"])
        assert {0, 1} <= rows_in_fold or not {0, 1} & rows_in_fold


def test_a_host_straddling_brick_and_cell_edges_stays_in_one_split(user_rows, tmp_path):
    rows = user_rows.copy()
    firsts = range(0, 20, 2)
    for k in firsts:  # ten hosts with two injections each
        rows.loc[k + 1, ["ra", "dec"]] = rows.loc[k, "ra"], rows.loc[k, "dec"] + 0.2 * ARCSEC
    _, shard = ingest_to_shard(tmp_path, rows)
    df = pd.read_parquet(shard)
    for k in firsts:  # as if each second row sat across a brick edge and a HEALPix cell edge: only the host links them
        df.loc[k + 1, ["brickname", "healpix_128"]] = f"edge{k}", 10_000 + k
    write_parquet(df, shard)
    paired, _ = manifests(shard)
    split_of = paired.drop_duplicates("row").set_index("row")["split"]
    assert all(split_of[k] == split_of[k + 1] for k in firsts)


def test_a_given_host_id_that_contradicts_the_positions_names_both_rows(user_rows, tmp_path):
    rows = user_rows.copy()
    rows["host_id"] = [f"lrg{i}" for i in range(len(rows))]
    rows.loc[4, ["ra", "dec"]] = rows.loc[3, "ra"], rows.loc[3, "dec"]
    user, shard = ingest_to_shard(tmp_path, rows)
    with pytest.raises(ManifestError, match=rf"{user} row 3 and {user} row 4: field host_id 'lrg3' and 'lrg4': "
                                            r"different host_id values at one sky position \(separation 0.000\""):
        manifests(shard)
    rows.loc[4, "host_id"] = "lrg3"  # the same LRG, now named consistently: accepted, one host
    _, shard = ingest_to_shard(tmp_path, rows, "fixed.parquet")
    paired, _ = manifests(shard)
    assert paired.loc[paired["row"].isin([3, 4]), "host_id"].eq("lrg3").all()


def test_sky_groups_link_chains_and_count_shared_rows():
    ra = np.array([10.0, 10.0 + 0.4 * ARCSEC, 10.0 + 0.8 * ARCSEC, 11.0, 12.0])
    dec = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    groups = sky_groups(ra, dec, 0.5)
    assert groups.tolist() == [0, 0, 0, 1, 2]  # 0.4" steps chain into one host
    counts = shared_host_counts(groups)
    assert counts == {"n_rows": 5, "n_hosts": 3, "n_rows_sharing_a_host": 3, "n_hosts_with_several_rows": 1,
                      "max_rows_per_host": 3}
    assert sky_groups(ra, dec, 0.3).tolist() == [0, 1, 2, 3, 4]


def test_the_survey_summary_reports_rows_sharing_hosts(user_rows, tmp_path):
    rows = user_rows.copy()
    rows.loc[[1, 2], ["ra", "dec"]] = rows.loc[0, "ra"], rows.loc[0, "dec"]
    _, shard = ingest_to_shard(tmp_path, rows)
    out = tmp_path / "summary.json"
    from stronglens.stages.survey_summary import main

    main(["--host-match-arcsec", "0.5", "--out", str(out), str(shard)])
    hosts = json.loads(out.read_text())["hosts"]
    assert hosts["n_rows_sharing_a_host"] == 3 and hosts["n_hosts"] == len(rows) - 2


# --- sky keys ---------------------------------------------------------------------------------

def test_a_disagreeing_healpix_is_reported_with_its_rows(user_rows, tmp_path):
    rows = user_rows.copy()
    rows["healpix_128"] = healpix_nested(rows["ra"].to_numpy(), rows["dec"].to_numpy(), 128)
    ok, _ = ingest_paired_parquet(written(rows, tmp_path / "ok.parquet"))
    assert (ok["healpix_128"] == rows["healpix_128"]).all()
    rows.loc[7, "healpix_128"] += 1
    with pytest.raises(IngestError, match=r"bad.parquet: field healpix_128 disagrees with \(ra, dec\) in 1 of 60 rows "
                                          r"\(row 7: given .* is in cell"):
        ingest_paired_parquet(written(rows, tmp_path / "bad.parquet"))


# --- strict cutout layouts ---------------------------------------------------------------------

def write_catalog(tmp_path, arrays: dict[str, np.ndarray]) -> str:
    """A cutout catalog with one .npz per entry of `arrays` (key ``cutout``)."""
    names = list(arrays)
    for name, arr in arrays.items():
        np.savez(tmp_path / f"{name}.npz", cutout=arr)
    cat = pd.DataFrame({"galaxy_id": names, "cutout_path": [f"{n}.npz" for n in names],
                        "ra": 10.0 + np.arange(len(names)), "dec": 1.0, "label": [1, 0] * (len(names) // 2),
                        "psfsize_r": 1.2, "psfdepth_r": 900.0})
    path = tmp_path / "catalog.csv"
    cat.to_csv(path, index=False)
    return str(path)


def test_a_band_first_cutout_under_layout_hwc_is_refused_naming_row_file_and_shape(tmp_path):
    rng = np.random.default_rng(0)
    hwc = rng.normal(size=(64, 64, 3)).astype(np.float32)
    catalog = write_catalog(tmp_path, {"good": hwc, "band_first": np.moveaxis(hwc, -1, 0)})
    with pytest.raises(IngestError, match=rf"catalog.csv row 1: field cutout_path: {tmp_path}/band_first.npz has shape "
                                          r"\(3, 64, 64\); layout hwc needs \(H, W, 3\)"):
        ingest_cutouts(catalog, range(0, 2), None, 64, "hwc")
    scrambled = write_catalog(tmp_path, {"good": hwc, "scrambled": hwc.reshape(3, 64, 64)})  # a reshape, not a transpose
    with pytest.raises(IngestError, match=r"row 1: .*scrambled.npz has shape \(3, 64, 64\)"):
        ingest_cutouts(scrambled, range(0, 2), None, 64, "hwc")


def test_a_declared_chw_layout_reads_band_first_cutouts_and_refuses_band_last(tmp_path):
    from stronglens.storage.blobs import decode_bands

    rng = np.random.default_rng(1)
    chw = rng.normal(size=(3, 64, 64)).astype(np.float32)
    catalog = write_catalog(tmp_path, {"a": chw, "b": chw[:, ::-1].copy()})
    shard = ingest_cutouts(catalog, range(0, 2), None, 64, "chw")
    assert np.array_equal(decode_bands(shard.at[0, "image_npz"]), chw)
    assert shard["host_id"].isna().all() and shard["source_row"].tolist() == [0, 1]
    band_last = write_catalog(tmp_path, {"a": np.moveaxis(chw, 0, -1), "b": chw})
    with pytest.raises(IngestError, match=r"row 0: .*has shape \(64, 64, 3\); layout chw needs \(3, H, W\)"):
        ingest_cutouts(band_last, range(0, 2), None, 64, "chw")


# --- checks cover what is used; errors in the user's terms ---------------------------------------

def run_stage(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"stronglens.stages.{module}", *args], capture_output=True, text=True)


def test_a_bad_stamp_left_out_of_the_unpaired_manifest_is_still_reported(user_rows, tmp_path):
    _, shard = ingest_to_shard(tmp_path, user_rows)
    _, unpaired = manifests(shard)
    ctrl_only = int(unpaired.loc[unpaired["label"] == 0, "row"].iloc[0])  # this pair's stamp is used by no manifest
    rows = user_rows.copy()
    nan = np.ones((3, 64, 64), dtype=np.float32)
    nan[0, 2, 2] = np.nan
    rows.at[ctrl_only, "stamp_npz"] = encode_bands(nan)
    user, shard = ingest_to_shard(tmp_path, rows, "user-nan.parquet")
    paired, unpaired = manifests(shard)
    assert not ((unpaired["row"] == ctrl_only) & (unpaired["label"] == 1)).any()
    manifest = tmp_path / "m.parquet"
    write_parquet(paired, manifest)
    done = run_stage("check_pairs", "--manifest", str(manifest), "--seed", "1", "--stamp-size", "64", "--max-abs", "1e4",
                     "--out", str(tmp_path / "pairs.json"))
    assert done.returncode != 0 and not (tmp_path / "pairs.json").exists()
    report = json.loads(done.stderr[: done.stderr.rindex("}") + 1])
    assert report["n_checked"] == len(rows) and report["coverage"].startswith("every row")
    failure = report["failures"][0]
    assert failure["where"] == f"{user} row {ctrl_only}" and failure["fields"] == ["stamp_npz"]
    assert failure["failed"] == ["no_nan_inf"] and failure["details"][0]["expected"] == "finite pixels"


def test_a_sampled_check_says_what_it_did_not_cover(user_rows, tmp_path):
    _, shard = ingest_to_shard(tmp_path, user_rows)
    paired, _ = manifests(shard)
    manifest = tmp_path / "m.parquet"
    write_parquet(paired, manifest)
    done = run_stage("check_pairs", "--manifest", str(manifest), "--sample", "10", "--seed", "1", "--stamp-size", "64",
                     "--max-abs", "1e4", "--out", str(tmp_path / "pairs.json"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "pairs.json").read_text())
    assert report["n_checked"] == 10 and "a seeded sample of 10 of 60 rows" in report["coverage"]


def test_a_user_error_after_ingest_prints_one_line_naming_the_users_file_and_row(user_rows, tmp_path):
    rows = user_rows.copy()
    rows.at[9, "ctrl_stamp_npz"] = encode_bands(np.ones((3, 60, 60), dtype=np.float32))
    user, shard = ingest_to_shard(tmp_path, rows, "user-shape.parquet")
    paired, _ = manifests(shard)
    manifest = tmp_path / "m.parquet"
    write_parquet(paired, manifest)
    outs = [f"{s}{k}={tmp_path / (s + k)}" for s in ("train", "val", "test") for k in ("", "_index", "_profile")]
    done = run_stage("preprocess", "--manifest", str(manifest), "--stamp-size", "64", "--config",
                     json.dumps({"mode": "raw_robust", "annulus": [20, 32], "clip": 10, "stretch": "none"}), "--out", *outs)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == (f"preprocess.py: error: {user} row 9 field ctrl_stamp_npz: shape (3, 60, 60), "
                        "expected (3, 64, 64)")
    assert not list(tmp_path.glob("train*"))


def test_a_host_contradiction_at_the_manifest_stage_is_one_line(user_rows, tmp_path):
    rows = user_rows.copy()
    rows["host_id"] = [f"lrg{i}" for i in range(len(rows))]
    rows.loc[4, "host_id"] = "lrg3"  # one id, two distant positions
    user, shard = ingest_to_shard(tmp_path, rows)
    done = run_stage("build_manifest", "--config", json.dumps({"split_by": "brick", "splits": MCFG.splits, "subsample": None,
                                                               "tier_weights": {"A": 1, "B": 1}}),
                     "--seed", "1", "--paired", str(tmp_path / "p.parquet"), "--unpaired", str(tmp_path / "u.parquet"),
                     str(shard))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert f"{user} row 3 and {user} row 4: field host_id 'lrg3'" in done.stderr
