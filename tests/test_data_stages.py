"""Manifests, checks, preprocessing and data gates, with one test per kind of bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import gate_thresholds, validated

from stronglens.data.integrity import check_pairs, check_splits, split_overlaps
from stronglens.data.manifest import ManifestError, build_manifests
from stronglens.data.normalise import PreprocessError, annulus_stats, preprocess, radial_median_profile
from stronglens.data.preprocess_splits import preprocess_manifest
from stronglens.data.settings import ManifestSettings, PreprocessSettings
from stronglens.gates.model_free import cv_lr_auc, data_gates
from stronglens.gates.settings import DataGateSettings
from stronglens.stages.build_manifest import read_shard
from stronglens.storage.artifacts import write_parquet
from stronglens.storage.blobs import encode_bands
from stronglens.storage.shards import ImageError
from stronglens.survey.synthetic.survey import simulate_shard

RAW_ROBUST = PreprocessSettings(mode="raw_robust", annulus=(20, 32), clip=10, stretch="none")

MCFG = ManifestSettings(split_by="brick", splits={"train": 0.6, "val": 0.2, "test": 0.2}, subsample=None,
                        tier_weights={"A": 1.0, "B": 0.5})
SHAPE = (3, 64, 64)


@pytest.fixture(scope="module")
def shard_file(tmp_path_factory):

    block = validated({"datasets": {"d": {"source": "synthetic", "n_pairs": 60, "shard_size": 60,
                                          "footprint": {"n_fields": 12, "field_radius_deg": 0.2}}}})["datasets"]["d"]
    df = simulate_shard(block, "d", 0, seed=2)
    path = tmp_path_factory.mktemp("shards") / "part-0.parquet"
    write_parquet(df, path)
    return path, df


def split_outputs(folder):
    """(npy, index) output paths per split in `folder`."""
    return {s: (folder / f"{s}.npy", folder / f"{s}.index.parquet") for s in ("train", "val", "test")}


def write_variant(tmp_path, df, name="part-0.parquet"):
    path = tmp_path / name
    write_parquet(df, path)
    return str(path)


def manifests_of(path):
    return build_manifests([(str(path), read_shard(str(path)))], MCFG, seed=1)


def pair_blobs(df, path, rows):
    """check_pairs input for `rows` of a shard written at `path`: {(shard, row, label): (stamp, ctrl)}."""
    return {(path, r, f"{path} row {r}"): (df.at[r, "stamp_npz"], df.at[r, "ctrl_stamp_npz"]) for r in rows}


def test_manifests_are_paired_unpaired_and_spatially_split(shard_file):
    path, df = shard_file
    paired, unpaired = manifests_of(path)
    assert len(paired) == 2 * len(df) and paired["label"].sum() == len(df)
    assert unpaired["host_id"].is_unique and abs(unpaired["label"].mean() - 0.5) < 0.05
    for m in (paired, unpaired):
        assert set(m["split"]) == {"train", "val", "test"}
        assert check_splits({"m": m})["passed"]
        assert {"shard", "row", "image_column", "sample_weight", "tier", "pool"} <= set(m.columns)
    pos = paired[paired["label"] == 1]
    assert np.allclose(pos["sample_weight"], pos["tier"].map({"A": 1.0, "B": 0.5}))


def test_subsample_keeps_pairs_and_balance(shard_file):
    path, _ = shard_file
    cfg = replace(MCFG, subsample=0.5)
    paired, _ = build_manifests([(str(path), read_shard(str(path)))], cfg, seed=1)
    assert paired.groupby("host_id")["label"].apply(lambda s: sorted(s) == [0, 1]).all()
    assert paired["host_id"].nunique() < 60


# --- bad input, one test each -------------------------------------------------

def test_bad_corrupt_blob_fails_check_and_preprocess(shard_file, tmp_path):
    _, df = shard_file
    bad = df.copy()
    bad.at[3, "stamp_npz"] = bad.at[3, "stamp_npz"][:100]
    path = write_variant(tmp_path, bad)
    paired, _ = manifests_of(path)
    report = check_pairs(pair_blobs(bad, path, (2, 3)), SHAPE, 1e4)
    assert not report["passed"] and report["failures"][0]["where"] == f"{path} row 3"
    assert report["failures"][0]["fields"] == ["stamp_npz"]
    outs = split_outputs(tmp_path)
    with pytest.raises(ValueError, match=r"row 3 field stamp_npz"):
        preprocess_manifest(paired, RAW_ROBUST, outs, SHAPE, {})
    assert not any(p.exists() for pair in outs.values() for p in pair)  # never a partial array
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_nan_pixels(shard_file, tmp_path):
    _, df = shard_file
    bad = df.copy()
    img = np.ones(SHAPE, dtype=np.float32)
    img[1, 5, 5] = np.nan
    bad.at[4, "ctrl_stamp_npz"] = encode_bands(img)
    path = write_variant(tmp_path, bad)
    paired, _ = manifests_of(path)
    report = check_pairs(pair_blobs(bad, path, (4,)), SHAPE, 1e4)
    assert report["failures"][0]["failed"] == ["no_nan_inf"]
    assert report["failures"][0]["fields"] == ["ctrl_stamp_npz"]
    assert report["failures"][0]["details"][0]["found"] == "1 NaN/Inf pixels"
    outs = split_outputs(tmp_path)
    with pytest.raises(ImageError, match=r"row 4 field ctrl_stamp_npz.*NaN"):
        preprocess_manifest(paired, RAW_ROBUST, outs, SHAPE, {})


def test_bad_wrong_shape(shard_file, tmp_path):
    _, df = shard_file
    bad = df.copy()
    bad.at[5, "stamp_npz"] = encode_bands(np.ones((3, 60, 60), dtype=np.float32))
    path = write_variant(tmp_path, bad)
    paired, _ = manifests_of(path)
    report = check_pairs(pair_blobs(bad, path, (5,)), SHAPE, 1e4)
    assert set(report["failures"][0]["failed"]) == {"shape_match", "expected_shape"}
    shape_failure = next(d for d in report["failures"][0]["details"] if d["check"] == "expected_shape")
    assert shape_failure["field"] == "stamp_npz" and shape_failure["found"] == "shape (3, 60, 60)"
    outs = split_outputs(tmp_path)
    with pytest.raises(ImageError, match=r"row 5 field stamp_npz: shape"):
        preprocess_manifest(paired, RAW_ROBUST, outs, SHAPE, {})


def test_bad_missing_column(shard_file, tmp_path):
    _, df = shard_file
    path = write_variant(tmp_path, df.drop(columns=["theta_e_arcsec"]))
    with pytest.raises(ManifestError, match=r"part-0.parquet: missing column.*field theta_e_arcsec"):
        read_shard(path)


def duplicate_host(df: pd.DataFrame) -> pd.DataFrame:
    df.at[7, "host_id"] = df.at[2, "host_id"]
    return df


def missing_healpix(df: pd.DataFrame) -> pd.DataFrame:
    df["healpix_128"] = df["healpix_128"].astype("float64")
    df.at[9, "healpix_128"] = np.nan
    return df


@pytest.mark.parametrize("corrupt, message", [
    (duplicate_host, r"row 2 and .*row 7: field host_id .*one host_id at positions more than 0.5\" apart"),
    (missing_healpix, r"row 9: field healpix_128 is missing"),
])
def test_bad_rows_are_named(shard_file, tmp_path, corrupt, message):
    _, df = shard_file
    path = write_variant(tmp_path, corrupt(df.copy()))
    with pytest.raises(ManifestError, match=message):
        manifests_of(path)


def test_bad_empty_split(shard_file, tmp_path):
    _, df = shard_file
    one_brick = df.copy()
    one_brick["brickname"] = "1800p000"
    one_brick["healpix_128"] = 1
    path = write_variant(tmp_path, one_brick)
    with pytest.raises(ManifestError, match=r"received no rows: field split"):
        manifests_of(path)


def test_bad_host_in_two_splits(shard_file):
    path, _ = shard_file
    paired, _ = manifests_of(path)
    leaked = paired.copy()
    host = leaked.loc[leaked["split"] == "train", "host_id"].iloc[0]
    leaked.loc[(leaked["host_id"] == host) & (leaked["label"] == 0), "split"] = "test"
    report = split_overlaps(leaked)
    assert not report["passed"]
    assert report["overlaps"]["test-train"]["hosts"]["count"] == 1
    assert host in report["overlaps"]["test-train"]["hosts"]["examples"]


def test_bad_path_does_not_exist(tmp_path):
    with pytest.raises(ManifestError, match=r"nope/part-9.parquet: no such file"):
        read_shard(str(tmp_path / "nope" / "part-9.parquet"))


# --- preprocessing ---------------------------------------------------------------

def test_raw_robust_normalises_the_annulus():
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(3.0, 0.5, size=(4, 3, 64, 64)))
    y = preprocess(x, "raw_robust", (20, 32), None, "none")
    med, mad = annulus_stats(y, (20, 32))
    assert torch.allclose(med, torch.zeros_like(med), atol=1e-9) and torch.allclose(mad, torch.ones_like(mad), atol=1e-9)


def test_residual_profile_has_zero_azimuthal_median_and_keeps_an_arc():
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(0.0, 1.0, size=(2, 3, 64, 64)))
    x[:, :, 20:24, 40:44] += 30.0  # an "arc" covers a small part of its ring
    y = preprocess(x, "residual_radial_profile", (20, 32), None, "none")
    assert float(radial_median_profile(y).abs().max()) < 1e-9
    assert float(y[:, :, 20:24, 40:44].mean()) > 10


def test_clip_and_asinh():
    x = torch.as_tensor(np.random.default_rng(2).normal(0, 1, size=(1, 3, 64, 64)))
    x[0, :, 32, 32] = 1e4
    assert float(preprocess(x, "raw_robust", (20, 32), 10, "none").max()) == 10
    assert float(preprocess(x, "raw_robust", (20, 32), None, "asinh").max()) < 12


def test_flat_annulus_is_an_error_naming_the_image():
    x = torch.zeros((2, 3, 64, 64), dtype=torch.float64)
    with pytest.raises(PreprocessError, match="part-1.parquet row 0: band 0 has MAD = 0"):
        preprocess(x, "raw_robust", (20, 32), 10, "none", labels=["part-1.parquet row 0", "b"])


def test_preprocess_writes_aligned_split_arrays(shard_file, tmp_path):
    path, df = shard_file
    paired, _ = manifests_of(path)
    outs = split_outputs(tmp_path)
    pp = RAW_ROBUST
    counts = preprocess_manifest(paired, pp, outs, SHAPE, {})
    assert sum(counts.values()) == len(paired)
    arr = np.load(outs["val"][0], mmap_mode="r")
    index = pd.read_parquet(outs["val"][1])
    assert arr.shape == (len(index),) + SHAPE and arr.dtype == np.float32
    from stronglens.storage.blobs import decode_bands

    k = 3
    raw = decode_bands(df.at[int(index.at[k, "row"]), index.at[k, "image_column"]])
    expect = preprocess(torch.from_numpy(raw[None]), "raw_robust", (20, 32), 10, "none").numpy()[0]
    assert np.allclose(arr[k], expect, atol=1e-5)


# --- gates ---------------------------------------------------------------------

def _toy_inputs(n_hosts: int, core_signal: float, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, size=(2 * n_hosts, 3, 32, 32)).astype(np.float32)
    host = np.repeat(np.arange(n_hosts), 2)
    x += rng.normal(0, 1, size=(n_hosts, 1, 1, 1)).repeat(2, axis=0).astype(np.float32)  # shared host light
    label = np.tile([1, 0], n_hosts)
    x[label == 1, :, 11:21, 11:21] += core_signal
    index = pd.DataFrame({"host_id": host.astype(str), "label": label, "theta_e_arcsec": np.repeat(rng.uniform(0.5, 3.0, n_hosts), 2)})
    return x, index


THRESHOLDS = gate_thresholds()
GCFG = DataGateSettings(core_px=10, annulus_px=(4, 12), folds=5, max_samples=4000, theta_e_bins=(0.5, 1.5, 3.0))


def test_core_gate_fails_on_a_planted_core_signal_and_passes_without():
    x, index = _toy_inputs(200, 2.0, seed=3)
    rep = data_gates(x, index, GCFG, THRESHOLDS, clip=None, seed=0)
    assert rep["gates"]["core_lr_auc"]["status"] == "FAIL" and rep["verdict"] == "FAIL"
    x, index = _toy_inputs(200, 0.0, seed=4)
    rep = data_gates(x, index, GCFG, THRESHOLDS, clip=None, seed=0)
    assert rep["gates"]["core_lr_auc"]["status"] == "PASS"
    assert abs(rep["gates"]["core_lr_auc"]["value"] - 0.5) < 0.08
    assert set(rep["theta_e_bins"]) == {"[0.5,1.5)", "[1.5,3.0)"}


def test_a_single_class_gate_sample_is_an_error():
    x, index = _toy_inputs(20, 0.0, seed=6)
    index["label"] = 0
    with pytest.raises(ValueError, match="single class: field label"):
        data_gates(x, index, GCFG, THRESHOLDS, clip=None, seed=0)


def test_folds_are_grouped_by_host():
    x, index = _toy_inputs(100, 0.0, seed=5)
    from stronglens.data.features import core_features

    res = cv_lr_auc(core_features(x), index["label"].to_numpy(), index["host_id"].to_numpy(), 5, 0)
    assert res["folds"] == 5 and abs(res["auc"] - 0.5) < 0.1


# --- real-data ingest ------------------------------------------------------------

def test_ingest_fills_ids_and_sky_keys_and_names_bad_input(shard_file, tmp_path):
    from stronglens.survey.ingest import IngestError, ingest_paired_parquet

    _, df = shard_file
    seed_schema = df[["stamp_npz", "ctrl_stamp_npz", "ra", "dec", "theta_e_arcsec", "psfsize_r", "psfdepth_r"]]
    out, notes = ingest_paired_parquet(write_variant(tmp_path, seed_schema, "user-7.parquet"))
    assert (out["brickname"] == df["brickname"]).all() and (out["healpix_128"] == df["healpix_128"]).all()
    assert out["pair_id"].iloc[4] == "user-7:4" and out["host_id"].isna().all() and (out["tier"] == "A").all()
    assert any("healpix" in n for n in notes)
    with pytest.raises(IngestError, match=r"user-8.parquet: missing column.*field psfdepth_r"):
        ingest_paired_parquet(write_variant(tmp_path, seed_schema.drop(columns=["psfdepth_r"]), "user-8.parquet"))
    empty_blob = seed_schema.copy()
    empty_blob.at[6, "ctrl_stamp_npz"] = b""
    with pytest.raises(IngestError, match=r"user-9.parquet row 6: field ctrl_stamp_npz"):
        ingest_paired_parquet(write_variant(tmp_path, empty_blob, "user-9.parquet"))
    with pytest.raises(IngestError, match="no such file"):
        ingest_paired_parquet(tmp_path / "absent.parquet")


def test_cutout_catalog_errors_name_row_and_field(tmp_path):
    from stronglens.survey.ingest import IngestError, load_cutout, read_catalog

    base = {"galaxy_id": ["a", "b"], "cutout_path": ["a.npz", "b.npz"], "ra": [10.0, 11.0], "dec": [1.0, 2.0],
            "label": [1, 0], "psfsize_r": [1.2, 1.1], "psfdepth_r": [900.0, 800.0]}
    pd.DataFrame({k: v for k, v in base.items() if k != "psfsize_r"}).to_csv(tmp_path / "c1.csv", index=False)
    with pytest.raises(IngestError, match=r"c1.csv: missing column.*field psfsize_r"):
        read_catalog(tmp_path / "c1.csv")
    pd.DataFrame({**base, "label": [1, 2]}).to_csv(tmp_path / "c2.csv", index=False)
    with pytest.raises(IngestError, match=r"c2.csv row 1: field label"):
        read_catalog(tmp_path / "c2.csv")
    pd.DataFrame({**base, "galaxy_id": ["a", "a"]}).to_csv(tmp_path / "c3.csv", index=False)
    with pytest.raises(IngestError, match=r"field galaxy_id 'a' is duplicated"):
        read_catalog(tmp_path / "c3.csv")
    np.savez(tmp_path / "small.npz", cutout=np.ones((40, 40, 3), dtype=np.float32))
    with pytest.raises(IngestError, match=r"cat row 5: field cutout_path: .*small.npz has shape"):
        load_cutout(tmp_path / "small.npz", 64, "cat row 5")
    np.savez(tmp_path / "nokey.npz", image=np.ones((64, 64, 3), dtype=np.float32))
    with pytest.raises(IngestError, match=r"has no key 'cutout'"):
        load_cutout(tmp_path / "nokey.npz", 64, "cat row 6")


def test_the_check_splits_stage_reads_only_what_it_checks_and_still_catches_a_leak(shard_file, tmp_path):
    from stronglens.stages import check_splits as stage

    path, _ = shard_file
    paired, _ = manifests_of(path)
    leaked = paired.copy()
    leaked.loc[leaked.index[0], "split"] = "test" if leaked["split"].iloc[0] != "test" else "train"
    for name, m in (("clean", paired), ("leaked", leaked)):
        write_parquet(m, tmp_path / f"{name}.parquet")
    read = stage.read_split_columns(str(tmp_path / "clean.parquet"))
    assert set(read.columns) <= set(stage.COLUMNS) and "image_column" not in read.columns
    assert stage.check_splits({"m": read}) == check_splits({"m": paired})
    stage.main(["--out", str(tmp_path / "ok.json"), str(tmp_path / "clean.parquet")])
    with pytest.raises(SystemExit):
        stage.main(["--out", str(tmp_path / "bad.json"), str(tmp_path / "leaked.parquet")])


def test_the_data_gates_stage_loads_the_same_sample_from_fewer_columns(shard_file, tmp_path):
    from stronglens.stages.data_gates import GATE_COLUMNS, load

    path, _ = shard_file
    paired, _ = manifests_of(path)
    pp = PreprocessSettings(mode="raw_robust", annulus=(20, 32), clip=10.0, stretch="none")
    outs = {s: (tmp_path / f"{s}.npy", tmp_path / f"{s}.index.parquet") for s in ("train", "val", "test")}
    preprocess_manifest(paired, pp, outs, (3, 64, 64), {})
    x, index, profile = load(tmp_path, ["train", "val", "test"], max_samples=40, seed=3)
    assert list(index.columns) == list(GATE_COLUMNS) and profile is None
    from stronglens.gates.model_free import host_subsample

    full = pd.concat([pd.read_parquet(outs[s][1]).assign(_s=s, _p=lambda d: np.arange(len(d))) for s in outs],
                     ignore_index=True)
    picked = full.iloc[host_subsample(full["host_id"].to_numpy(), 40, 3)]
    assert len(picked) < len(full) and list(GATE_COLUMNS) != list(full.columns)
    for col in GATE_COLUMNS:
        assert picked[col].reset_index(drop=True).equals(index[col])
    want = np.stack([np.load(outs[s][0])[p] for s, p in zip(picked["_s"], picked["_p"])])
    assert np.array_equal(x, want)
