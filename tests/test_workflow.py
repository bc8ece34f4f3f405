"""End to end: the real Snakemake workflow on config/test.yaml, in a scratch copy of the repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import REPO, SNAKEMAKE, dry_run_with, job_counts, scratch_workflow, snakemake

from stronglens.storage.artifacts import read_parquet_metadata


def sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_all_builds_the_survey(workdir):
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    ds = cfg["datasets"]["tiny"]
    gates = json.loads((workdir / "results" / "gates" / "data" / "tiny-raw_robust.json").read_text())
    for pairing in ("paired", "unpaired"):
        assert gates["pairings"][pairing]["gates"]["core_lr_auc"]["status"] in {"PASS", "WARN", "FAIL"}
    assert json.loads((workdir / "results" / "checks" / "tiny" / "splits.json").read_text())["passed"]
    assert json.loads((workdir / "results" / "checks" / "tiny" / "pairs.json").read_text())["passed"]
    shards = sorted((workdir / "results" / "data" / "tiny" / "pairs").glob("part-*.parquet"))
    assert len(shards) == -(-ds["n_pairs"] // ds["shard_size"])
    df = pd.concat([pd.read_parquet(p) for p in shards])
    assert len(df) == ds["n_pairs"] and df["pair_id"].is_unique
    summary = json.loads((workdir / "results" / "data" / "tiny" / "summary.json").read_text())
    assert summary["n_pairs"] == ds["n_pairs"]
    assert sum(summary["counts"]["pool"].values()) == ds["n_pairs"]
    meta = read_parquet_metadata(shards[0])
    assert len(meta["config_sha256"]) == 64 and meta["config"]["rows"] == [0, ds["shard_size"]]
    assert meta["config"]["block"]["stamp_size"] == ds["stamp_size"]
    assert meta["packages"]["torch"].startswith("2.14.1")
    assert (workdir / "results" / "logs" / "simulate_survey" / "tiny" / "part-0.log").exists()


def test_all_trains_every_run(workdir):
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    for run in cfg["runs"]:
        folder = workdir / "results" / "runs" / run
        info = json.loads((folder / "run_info.json").read_text())
        history = pd.read_csv(folder / "history.csv")
        assert (folder / "gate_history.csv").is_file()
        assert len(history) == cfg["training"]["epochs"] == info["epochs_run"]
        assert info["run_config"]["name"] == run and len(info["config_sha256"]) == 64
        assert info["run_config"]["train"]["lr"] == cfg["training"]["lr"]
        assert info["packages"]["torch"].startswith("2.14.1") and info["device"]["type"] == "cpu"
        assert "stronglens.stages.train" in " ".join(info["command"])
        assert (folder / "last.pt").exists()  # resumable state beside the declared outputs
        assert "val_auroc=" in (workdir / "results" / "logs" / "train" / f"{run}.log").read_text()
    mitigated = json.loads((workdir / "results" / "runs" / "tiny_unpaired_mitigated" / "run_info.json").read_text())
    assert mitigated["n_hard_negative_pairs"] > 0


def test_second_run_has_nothing_to_do(workdir):
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "-n", "all")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


# Downstream of a change: the figures of the three runs (test.yaml), of the one selection run, the comparison,
# and pipeline_info, which snapshots the whole resolved config.
ALL_FIGURES = {"figures_run": 3, "figures_selection": 1, "figures_compare": 1, "pipeline_info": 1, "decide": 1}
# A run's gates rewrite its score table, which the selection summary's realism gap reads: the selection run
# re-gathers and redraws its figures (no injection reruns).
GATE_FIGURES = {"figures_run": 3, "figures_compare": 1, "pipeline_info": 1, "selection_gather": 1, "figures_selection": 1,
                "decide": 1}


def test_dataset_change_reruns_that_dataset_only(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["datasets"]["tiny"].update(plant_core_shortcut=0.1))
    # tiny: 2 shards + summary + manifest + 2 checks + 2 preprocess (paired, unpaired) + 1 gate + its 2 runs;
    # tiny_b untouched.
    assert counts == {"all": 1, "simulate_survey": 2, "survey_summary": 1, "build_manifest": 1, "check_splits": 1,
                      "check_pairs": 1, "preprocess": 2, "data_gates": 1, "train": 2, "gates": 2, "experiments": 1,
                      "selection_shard": 2, "selection_gather": 1, **ALL_FIGURES, "figures_run": 2,
                      "realism": 1, "figures_realism": 1}  # tiny_paired's audit (tiny_sky_run's catalog is untouched)


def test_more_pairs_simulates_only_the_new_shard(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["datasets"]["tiny"].update(n_pairs=45))
    assert counts["simulate_survey"] == 1  # part-2 (rows 40-45); parts 0 and 1 keep their rows and bytes


def test_manifest_change_does_not_resimulate(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["datasets"]["tiny"].update(split_by="healpix"))
    assert "simulate_survey" not in counts and counts["build_manifest"] == 1 and counts["data_gates"] == 1


def test_preprocessing_change_reruns_only_that_mode(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["preprocessing"]["raw_robust"].update(clip=None))
    # 2 synthetic datasets x (paired, unpaired) + the sky (unpaired only); the 3 runs, their gates and the table
    # the clip is part of each run's settings: every settings file is rewritten
    assert counts == {"all": 1, "preprocess": 5, "data_gates": 3, "run_settings": 3, "train": 3, "gates": 3,
                      "experiments": 1, "selection_shard": 2, "selection_gather": 1, **ALL_FIGURES,
                      "realism": 2, "figures_realism": 2}


def test_gate_setting_change_reruns_only_the_gates(workdir, tmp_path):
    # Each rule gets only its config slice: a downstream setting never reruns upstream data jobs.
    counts = dry_run_with(workdir, tmp_path, lambda c: c.setdefault("data_gates", {}).update(folds=4))
    # the run gates hold the LR gates too; their figures follow (3 datasets, 3 runs)
    assert counts == {"all": 1, "data_gates": 3, "gates": 3, "experiments": 1, **GATE_FIGURES}


def test_one_runs_learning_rate_reruns_only_that_run(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["runs"]["tiny_paired"].setdefault("train", {}).update(lr=0.01))
    assert counts == {"all": 1, "run_settings": 1, "train": 1, "gates": 1, "experiments": 1, "selection_shard": 2,
                      "selection_gather": 1, **ALL_FIGURES, "figures_run": 1, "realism": 1, "figures_realism": 1}


def test_selection_fprs_rerun_only_the_gather_its_figures_and_the_table(workdir, tmp_path):
    # fprs are read only when gathering: the injection shards (a GPU hour on the full grid) stay, and so do the
    # realism audits; the experiments table re-reads the summary (main-map completeness of threshold set 1).
    counts = dry_run_with(workdir, tmp_path, lambda c: c.setdefault("selection", {}).update(fprs=[0.001]))
    assert counts == {"all": 1, "selection_gather": 1, "figures_selection": 1, "pipeline_info": 1, "experiments": 1,
                      "figures_compare": 1, "decide": 1}


def test_selection_scoring_batch_and_device_rerun_nothing(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["selection"].update(batch=17, device="cpu"))
    assert counts == {}


def test_gates_scoring_batch_and_device_rerun_nothing(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c.setdefault("gates", {}).update(batch=17, device="cpu"))
    assert counts == {}


def test_training_threads_rerun_nothing(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["training"].update(threads=2, num_workers=1, eval_batch=64))
    assert counts == {}


def test_set_threads_reruns_nothing(workdir):
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "-n", "all", "--set-threads", "train=1")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stderr[-2000:]


def test_set_threads_reaches_torch_in_a_real_run(tmp_path):
    """--set-threads train=1 reaches the job's {threads}, the stage's --threads and torch; run_info records it."""
    wd = scratch_workflow(tmp_path / "wf")
    target = "results/runs/tiny_paired/run_info.json"
    proc = snakemake(wd, target, "--configfile", "config/test.yaml", "--cores", "2", "-p", "--set-threads", "train=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    train_cmd = [line for line in (proc.stdout + proc.stderr).splitlines() if "stages.train " in line]
    assert train_cmd and " --threads 1 " in train_cmd[0]
    info = json.loads((wd / target).read_text())
    assert info["execution"]["threads"] == 1 and info["device"]["torch_threads"] == 1
    settings = json.loads((wd / "results" / "settings" / "runs" / "tiny_paired.json").read_text())
    assert "threads" not in settings["train"] and settings["train"]["lr"] == info["run_config"]["train"]["lr"]


def test_a_training_default_reruns_every_run_and_no_data_stage(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["training"].update(weight_decay=0.001))
    assert counts == {"all": 1, "run_settings": 3, "train": 3, "gates": 3, "experiments": 1, "selection_shard": 2, "selection_gather": 1,
                      **ALL_FIGURES, "realism": 2, "figures_realism": 2}


def test_selection_outputs_and_failure_counts(workdir):
    folder = workdir / "results" / "selection" / "tiny_paired"
    summary = json.loads((folder / "summary.json").read_text())
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())["selection"]
    assert summary["n_injections"] == 2 * cfg["grid"]["n_per_cell"]
    assert summary["n_ok"] + summary["n_abandoned"] == summary["n_injections"]
    for rec in summary["completeness"].values():
        assert rec["n_ok"] == summary["n_ok"] and rec["ci95"][0] <= rec["ci95"][1]
    inj = pd.read_parquet(folder / "injections.parquet")
    assert set(inj["variant"]) == {"baseline", "psf+10%", "psf-10%", "re+30%", "re-30%", "g-r+0.2", "g-r-0.2", "colours:restframe",
                                   "q[0.3,1]", "q[0.7,1]", "prior:anchored", "source:real_galaxy"}
    assert set(summary["completeness_by_prior"]) == {"broad", "anchored"}
    assert set(summary["completeness_by_source_model"]) == {"sersic", "real_galaxy"}
    real = inj[inj["variant"] == "source:real_galaxy"]
    assert (real["src_model"] == "real_galaxy").all() and (real["status"] == "ok").any()
    base = inj[inj["variant"] == "baseline"].set_index(["cell_id", "injection", "attempt"])
    twin = real.set_index(["cell_id", "injection", "attempt"]).loc[base.index]
    np.testing.assert_array_equal(twin["src_mag_r"], base["src_mag_r"])  # same draws, other light profile
    gap = summary["realism_gap"]
    assert gap["dataset"] == "tiny" and set(gap["injection_completeness"]) == {"sersic", "real_galaxy"}
    a = gap["tier_a"]["p>0.3"]
    assert a["n"] > 0 and a["ci95"][0] <= a["recall"] <= a["ci95"][1]
    assert {"theta_e_arcsec", "src_mag_r", "arc_snr", "p", "p_clean", "status", "reason", "attempt"} <= set(inj.columns)
    comp = pd.read_parquet(folder / "completeness.parquet")
    assert {"cell", "theta_e", "src_mag", "psf_fwhm", "depth"} <= set(comp["level"])
    assert {"n_ok", "n_failed", "lo68", "hi68", "lo95", "hi95", "mean_arc_snr"} <= set(comp.columns)
    sens = pd.read_parquet(folder / "sensitivity.parquet")
    assert set(sens["variant"]) == set(inj["variant"]) - {"baseline", "prior:anchored", "source:real_galaxy"}


def test_one_selection_shard_reruns_alone_to_the_same_bytes(workdir):
    folder = workdir / "results" / "selection" / "tiny_paired"
    shard = folder / "shard-1-of-2.parquet"
    before = shard.read_bytes()
    shard.unlink()
    target = str(shard.relative_to(workdir))
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "-n", target)
    assert job_counts(proc.stdout + proc.stderr) == {"selection_shard": 1}
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "--cores", "2", target)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shard.read_bytes() == before  # same seed, same shard: identical bytes
    # Snakemake sees the unchanged content (checksum) and has nothing to re-gather.
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "-n", "all")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dataset_hosts_rerun_only_the_selection_jobs(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["selection"].update(hosts="dataset"))
    assert counts == {"all": 1, "selection_shard": 2, "selection_gather": 1, "figures_selection": 1, "pipeline_info": 1,
                      "experiments": 1, "figures_compare": 1, "decide": 1}


def test_a_gate_threshold_reruns_only_the_gates(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c.setdefault("gates", {}).update(core_radii=[0, 5, 7]))
    assert counts == {"all": 1, "gates": 3, "experiments": 1, **GATE_FIGURES}


def test_one_run_gates_target_builds_only_that_runs_chain(tmp_path):
    wd = scratch_workflow(tmp_path / "clean")
    proc = snakemake(wd, "--configfile", "config/test.yaml", "-n", "results/gates/tiny_paired.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert job_counts(proc.stdout + proc.stderr) == {"simulate_survey": 2, "build_manifest": 1, "check_splits": 1,
                                                     "check_pairs": 1, "preprocess": 1, "run_settings": 1, "train": 1,
                                                     "gates": 1}


def test_gate_reports_validate_against_their_schema(workdir):
    import jsonschema

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "gates.schema.yaml").read_text())
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    for run in cfg["runs"]:
        report = json.loads((workdir / "results" / "gates" / f"{run}.json").read_text())
        jsonschema.validate(report, schema)
        info = json.loads((workdir / "results" / "runs" / run / "run_info.json").read_text())
        assert report["run_config_sha256"] == info["config_sha256"]
        scores = pd.read_parquet(workdir / "results" / "gates" / f"{run}.scores.parquet")
        assert set(scores["split"]) == {"test", "val"} and scores["p"].between(0, 1).all()
    table = pd.read_csv(workdir / "results" / "experiments.tsv", sep="\t")
    assert list(table["run"]) == list(cfg["runs"]) and table["verdict"].isin(["PASS", "MARGINAL", "FAIL"]).all()
    gated = pd.read_csv(workdir / "results" / "runs" / "tiny_unpaired_mitigated" / "gate_history.csv")
    assert list(gated["epoch"]) == [0, 1, 2] and gated["core_lr_auc"].notna().any()  # train.gates.every: 1
    decision = json.loads((workdir / "results" / "decision.json").read_text())
    assert decision["matrix"]["nodes"] and decision["matrix"]["branch"] and decision["sequential"]["nodes"]


def test_the_matrix_overlay_builds_a_replicated_fine_tune_an_ensemble_and_a_comparison(workdir, tmp_path):
    """config/test_matrix.yaml over test.yaml, on a copy of the tested workflow (its runs are reused)."""
    import jsonschema

    wd = scratch_workflow(tmp_path / "wf")
    shutil.copytree(workdir / "results", wd / "results")
    proc = snakemake(wd, "--configfile", "config/test.yaml", "config/test_matrix.yaml", "--cores", "2", "all")
    assert proc.returncode == 0, proc.stderr[-4000:]
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "gates.schema.yaml").read_text())
    ens = json.loads((wd / "results" / "gates" / "tiny_ens.json").read_text())
    jsonschema.validate(ens, schema)
    assert ens["training_inputs"] is None and ens["verdict"]["verdict"] in ("PASS", "MARGINAL", "FAIL")
    info = json.loads((wd / "results" / "runs" / "tiny_ens" / "run_info.json").read_text())
    assert set(info["ensemble"]["members"]) == {"tiny_paired", "tiny_unpaired_mitigated"}
    ft = json.loads((wd / "results" / "runs" / "tiny_ft_r2" / "run_info.json").read_text())
    assert ft["run_config"]["pretrained"] == "run:tiny_paired" and ft["run_config"]["seed"] == 5
    table = pd.read_csv(wd / "results" / "experiments.tsv", sep="\t")
    assert "tiny_ft_r2" in set(table["run"])
    summary = table[table["run"] == "tiny_ft (mean +- std, 2 seeds)"].iloc[0]
    assert " +- " in summary["auroc"] and summary["seed"] == "4,5"
    cmp = json.loads((wd / "results" / "compare" / "tiny_paired--tiny_unpaired_mitigated.json").read_text())
    assert cmp["test"] == "unpaired DeLong"
    decision = json.loads((wd / "results" / "decision.json").read_text())
    assert "tiny_ft" in json.dumps(decision["matrix"])  # the scheduled-masking role now exists


def test_compare_target_is_paired_on_one_sample_and_unpaired_across_samples(workdir):
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "--cores", "1",
                     "results/compare/tiny_paired--tiny_paired.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((workdir / "results" / "compare" / "tiny_paired--tiny_paired.json").read_text())
    assert out["delong"]["difference"] == 0 and out["n_samples"] > 0 and out["test"] == "paired DeLong"
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "--cores", "1",
                     "results/compare/tiny_paired--tiny_unpaired_mitigated.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((workdir / "results" / "compare" / "tiny_paired--tiny_unpaired_mitigated.json").read_text())
    assert out["test"] == "unpaired DeLong" and out["n_samples_a"] > 0 and out["n_samples_b"] > 0


def test_a_killed_training_job_resumes_with_rerun_incomplete(tmp_path):
    """SIGKILL snakemake and its job mid-run; --rerun-incomplete resumes from last.pt to the bytes of a straight run
    of the same config in another folder."""
    import signal
    import time

    folders = {}
    for name in ("straight", "killed"):
        wd = folders[name] = scratch_workflow(tmp_path / name)
        cfg = yaml.safe_load((wd / "config" / "test.yaml").read_text())
        cfg["runs"] = {"r": {**cfg["runs"]["tiny_paired"], "train": {"epochs": 30}}}
        cfg["selection"]["runs"] = []
        cfg["realism"]["runs"] = []
        (wd / "config" / "kill.yaml").write_text(yaml.safe_dump(cfg))
    base = ["--configfile", "config/kill.yaml", "--cores", "2"]
    proc = snakemake(folders["straight"], *base, "results/runs/r/best.pt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    wd = folders["killed"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    job = subprocess.Popen([*SNAKEMAKE, *base, "results/runs/r/best.pt"], cwd=wd, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = wd / "results" / "runs" / "r" / "last.pt"
    deadline = time.time() + 300
    while not last.exists() and time.time() < deadline and job.poll() is None:
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert last.exists() and not (wd / "results" / "runs" / "r" / "best.pt").exists()
    assert snakemake(wd, *base, "--unlock").returncode == 0  # a killed Snakemake leaves its lock behind
    proc = snakemake(wd, *base, "--rerun-incomplete", "results/runs/r/best.pt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((wd / "results" / "runs" / "r" / "run_info.json").read_text())
    assert info["resumed_after_epoch"] is not None and info["resumed_after_epoch"] < 29
    for name in ("best.pt", "last.pt", "history.csv", "gate_history.csv"):  # on bytes: the resumed job is the straight one
        assert sha256_of(folders["straight"] / "results" / "runs" / "r" / name) == sha256_of(wd / "results" / "runs" / "r" / name), name


def test_one_gate_target_builds_only_what_it_needs(tmp_path):
    wd = scratch_workflow(tmp_path / "clean")
    proc = snakemake(wd, "--configfile", "config/test.yaml", "-n", "results/gates/data/tiny-raw_robust.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert job_counts(proc.stdout + proc.stderr) == {"simulate_survey": 2, "build_manifest": 1, "check_splits": 1,
                                                     "check_pairs": 1, "preprocess": 2, "data_gates": 1}


@pytest.mark.parametrize("profile", ["profiles/lambda", "lambda"])
def test_lambda_profile_dry_run(workdir, tmp_path, profile):
    xdg = tmp_path / "xdg"
    user_dir = xdg / "snakemake"
    (user_dir / "slurm").mkdir(parents=True)  # a user's own profile must survive set-up
    (user_dir / "slurm" / "config.yaml").write_text("jobs: 1\n")
    subprocess.run(["make", "-s", "profiles", f"SNAKEMAKE_CONFIG_DIR={user_dir}"], cwd=workdir, check=True)
    assert (user_dir / "lambda").is_symlink()
    assert (user_dir / "slurm" / "config.yaml").read_text() == "jobs: 1\n"
    env = {**os.environ, "XDG_CONFIG_HOME": str(xdg)}
    proc = snakemake(workdir, "--profile", profile, "--configfile", "config/test.yaml", "-n", "all", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_lint_is_clean(workdir):
    proc = snakemake(workdir, "--configfile", "config/test.yaml", "--lint")
    assert proc.returncode == 0
    assert "Congratulations" in proc.stdout + proc.stderr


def test_setup_never_clobbers_a_user_profile(workdir, tmp_path):
    user_dir = tmp_path / "snakemake"
    (user_dir / "lambda").mkdir(parents=True)
    (user_dir / "lambda" / "config.yaml").write_text("cores: 3\n")
    proc = subprocess.run(["make", "-s", "profiles", f"SNAKEMAKE_CONFIG_DIR={user_dir}"], cwd=workdir,
                          capture_output=True, text=True, check=True)
    assert "left alone" in proc.stdout
    assert not (user_dir / "lambda").is_symlink()
    assert (user_dir / "lambda" / "config.yaml").read_text() == "cores: 3\n"


SEED_SCHEMA = ["stamp_npz", "ctrl_stamp_npz", "ra", "dec", "brickname", "theta_e_arcsec", "arc_snr", "psfsize_r",
               "psfdepth_r"]


def real_data_config(path: str) -> dict:
    return {
        "seed": 3,
        "datasets": {"real": {"source": "parquet", "path": path, "stamp_size": 64,
                              "splits": {"train": 0.5, "val": 0.25, "test": 0.25}}},
        "preprocessing": {"raw_robust": {"mode": "raw_robust", "annulus": [20, 32]}},
    }


def test_real_parquet_shards_run_through_the_data_stages(tmp_path):
    from helpers import validated

    from stronglens.storage.artifacts import write_parquet
    from stronglens.survey.synthetic.survey import simulate_shard

    # The user's data: two shards in the seeds' paired schema (no ids, tiers or HEALPix), under ~/data.
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    block = validated({"datasets": {"s": {"source": "synthetic", "n_pairs": 30, "shard_size": 30,
                                          "footprint": {"n_fields": 12, "field_radius_deg": 0.1}}}})["datasets"]["s"]
    df = simulate_shard(block, "s", 0, seed=3)[SEED_SCHEMA]
    write_parquet(df.iloc[:15], home / "data" / "real-000.parquet")
    write_parquet(df.iloc[15:], home / "data" / "real-001.parquet")
    wd = scratch_workflow(tmp_path / "wf")
    cfg = wd / "real.yaml"
    cfg.write_text(yaml.safe_dump(real_data_config("~/data/real-*.parquet")))
    env = {**os.environ, "HOME": str(home)}
    proc = snakemake(wd, "--configfile", str(cfg), "--cores", "2", "results/gates/data/real-raw_robust.json", env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    shards = sorted((wd / "results" / "data" / "real" / "pairs").glob("part-*.parquet"))
    assert len(shards) == 2
    ingested = pd.read_parquet(shards[1])
    assert ingested["host_id"].isna().all() and ingested["healpix_128"].notna().all()  # hosts come from the sky
    manifest = pd.read_parquet(wd / "results" / "data" / "real" / "manifest-paired.parquet")
    assert manifest["host_id"].str.startswith("sky:real-00").all() and manifest["host_id"].nunique() == 30
    gates = json.loads((wd / "results" / "gates" / "data" / "real-raw_robust.json").read_text())
    assert gates["pairings"]["paired"]["n_samples"] == 60


def test_a_failed_pair_check_stops_everything_downstream(tmp_path):
    import numpy as np
    from helpers import validated

    from stronglens.storage.artifacts import write_parquet
    from stronglens.storage.blobs import encode_bands
    from stronglens.survey.synthetic.survey import simulate_shard

    block = validated({"datasets": {"s": {"source": "synthetic", "n_pairs": 20, "shard_size": 20,
                                          "footprint": {"n_fields": 12, "field_radius_deg": 0.1}}}})["datasets"]["s"]
    df = simulate_shard(block, "s", 0, seed=3)[SEED_SCHEMA].copy()
    img = np.zeros((3, 64, 64), dtype=np.float32)
    img[2, 10, 10] = np.inf
    df.at[4, "ctrl_stamp_npz"] = encode_bands(img)
    write_parquet(df, tmp_path / "bad.parquet")
    wd = scratch_workflow(tmp_path / "wf")
    cfg = real_data_config(str(tmp_path / "bad.parquet"))
    cfg["datasets"]["real"]["check_pairs_sample"] = 20
    (wd / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "--configfile", "bad.yaml", "--cores", "1", "results/gates/data/real-raw_robust.json")
    assert proc.returncode != 0
    log = (wd / "results" / "logs" / "check_pairs" / "real.log").read_text()
    assert f"{tmp_path / 'bad.parquet'} row 4" in log and "no_nan_inf" in log  # the user's file, not the ingested copy
    assert '"fields": [\n        "ctrl_stamp_npz"' in log
    ingested = pd.read_parquet(wd / "results" / "data" / "real" / "pairs" / "part-0.parquet", columns=["source_file", "source_row"])
    assert ingested.at[4, "source_file"].endswith("bad.parquet") and ingested.at[4, "source_row"] == 4
    assert not (wd / "results" / "checks" / "real" / "pairs.json").exists()
    assert not list((wd / "results").rglob("*.npy"))  # preprocessing never ran


def test_real_data_path_that_matches_nothing_fails_at_start(tmp_path):
    cfg = tmp_path / "missing.yaml"
    cfg.write_text(yaml.safe_dump(real_data_config(str(tmp_path / "nowhere" / "*.parquet"))))
    proc = snakemake(REPO, "--configfile", str(cfg), "-n")
    assert proc.returncode != 0
    assert "datasets.real.path" in proc.stdout + proc.stderr and "matches no file" in proc.stdout + proc.stderr


def write_cutout_fixture(folder: Path, n: int = 40) -> Path:
    """A catalog + one cutout per row (101x101), half .npz, half FITS, every array (H, W, 3): the default layout hwc."""
    import numpy as np
    from astropy.io import fits
    from helpers import validated

    from stronglens.storage.blobs import decode_bands
    from stronglens.survey.synthetic.survey import simulate_shard

    block = validated({"datasets": {"s": {"source": "synthetic", "n_pairs": n, "shard_size": n, "stamp_size": 101,
                                          "footprint": {"n_fields": 12, "field_radius_deg": 0.1}}}})["datasets"]["s"]
    df = simulate_shard(block, "s", 0, seed=5)
    (folder / "cutouts").mkdir(parents=True)
    rows = []
    for i, r in df.iterrows():
        label = int(i < n // 2)
        img = decode_bands(r["stamp_npz"] if label else r["ctrl_stamp_npz"])
        name = f"cutouts/g{i:03d}." + ("npz" if i % 2 else "fits")
        if i % 2:
            np.savez(folder / name, cutout=np.moveaxis(img, 0, -1))
        else:
            fits.PrimaryHDU(np.moveaxis(img, 0, -1)).writeto(folder / name)
        rows.append({"galaxy_id": f"g{i:03d}", "cutout_path": name, "ra": r["ra"], "dec": r["dec"], "label": label,
                     "psfsize_r": r["psfsize_r"], "psfdepth_r": r["psfdepth_r"],
                     "theta_e_arcsec": r["theta_e_arcsec"] if label else float("nan")})
    pd.DataFrame(rows).to_csv(folder / "catalog.csv", index=False)
    return folder / "catalog.csv"


def cutout_config(catalog: Path) -> dict:
    return {
        "seed": 3,
        "datasets": {"cut": {"source": "cutouts", "catalog": str(catalog), "stamp_size": 64, "shard_size": 25,
                             "splits": {"train": 0.5, "val": 0.25, "test": 0.25}}},
        "preprocessing": {"raw_robust": {"mode": "raw_robust", "annulus": [20, 32]}},
    }


def test_cutout_catalog_runs_unpaired_through_the_data_stages(tmp_path):
    catalog = write_cutout_fixture(tmp_path / "data")
    wd = scratch_workflow(tmp_path / "wf")
    (wd / "cut.yaml").write_text(yaml.safe_dump(cutout_config(catalog)))
    proc = snakemake(wd, "--configfile", "cut.yaml", "--cores", "2", "results/gates/data/cut-raw_robust.json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    shards = sorted((wd / "results" / "data" / "cut" / "pairs").glob("part-*.parquet"))
    assert len(shards) == 2  # 40 rows, 25 per shard
    pairs = json.loads((wd / "results" / "checks" / "cut" / "pairs.json").read_text())
    assert pairs["unpaired_source"] and pairs["n_checked"] == 40 and pairs["passed"]
    gates = json.loads((wd / "results" / "gates" / "data" / "cut-raw_robust.json").read_text())
    assert set(gates["pairings"]) == {"unpaired"} and gates["pairings"]["unpaired"]["n_samples"] == 40
    import numpy as np

    from stronglens.storage.blobs import decode_bands

    row = pd.read_parquet(shards[0]).iloc[1]  # g001.npz, a positive: its centre crop of the 101x101 stamp
    assert decode_bands(row["image_npz"]).shape == (3, 64, 64) and np.isfinite(decode_bands(row["image_npz"])).all()


def test_a_missing_cutout_file_fails_naming_row_and_field(tmp_path):
    catalog = write_cutout_fixture(tmp_path / "data", n=12)
    (tmp_path / "data" / "cutouts" / "g003.npz").unlink()
    wd = scratch_workflow(tmp_path / "wf")
    cfg = cutout_config(catalog)
    cfg["datasets"]["cut"]["shard_size"] = 12
    (wd / "cut.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "--configfile", "cut.yaml", "--cores", "1", "results/data/cut/pairs/part-0.parquet")
    assert proc.returncode != 0
    log = (wd / "results" / "logs" / "ingest_cutouts" / "cut" / "part-0.log").read_text()
    assert "catalog.csv row 3: field cutout_path" in log and "g003.npz does not exist" in log
    assert not (wd / "results" / "data" / "cut" / "pairs" / "part-0.parquet").exists()


def test_a_moffat_dataset_passes_its_psf_model_to_the_selection(workdir, tmp_path):
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    cfg["datasets"]["tiny"].update(psf_model="moffat", moffat_beta=2.5)
    path = tmp_path / "moffat.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(workdir, "--configfile", str(path), "-n", "-p", "results/selection/tiny_paired/summary.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    shard_commands = [line for line in (proc.stdout + proc.stderr).splitlines() if "stages.selection_shard" in line]
    assert shard_commands and all("\"psf_model\":\"moffat\"" in c and "\"moffat_beta\":2.5" in c for c in shard_commands)


def test_the_stand_in_sky_runs_unpaired_through_training_and_gates(workdir):
    res = workdir / "results"
    summary = json.loads((res / "data" / "tiny_sky" / "summary.json").read_text())
    assert summary["counts"]["label"] == {"0": 32, "1": 16}  # 48 rows, 2 negatives per lens
    assert summary["counts"]["tier"]["A"] == 8 and summary["counts"]["tier"]["B"] == 8
    manifest = pd.read_parquet(res / "data" / "tiny_sky" / "manifest-unpaired.parquet")
    assert len(manifest) == 48 and (manifest["image_column"] == "image_npz").all()
    assert len(pd.read_parquet(res / "data" / "tiny_sky" / "manifest-paired.parquet")) == 0
    report = json.loads((res / "gates" / "tiny_sky_run.json").read_text())
    assert report["verdict"] and "core_lr_auc" in report["gates"]
    scores = pd.read_parquet(res / "gates" / "tiny_sky_run.scores.parquet")
    assert set(scores.loc[scores["label"] == 1, "tier"]) <= {"A", "B"}
    library = np.load(res / "sources" / "library.npz")
    assert library["stamps"].shape[0] >= 200 and set(library["catalog_subset"]) == {"sky", "injection"}

def test_realism_reports_validate_and_score_the_sky_lenses_per_tier(workdir):
    import jsonschema

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "realism.schema.yaml").read_text())
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    manifest = pd.read_parquet(workdir / "results" / "data" / "tiny_sky" / "manifest-unpaired.parquet")
    lenses = manifest[(manifest["split"] == "test") & (manifest["label"] == 1)]
    for run in cfg["realism"]["runs"]:
        report = json.loads((workdir / "results" / "realism" / f"{run}.json").read_text())
        jsonschema.validate(report, schema)
        assert report["catalog"]["dataset"] == "tiny_sky" and report["catalog"]["n_lenses"] == len(lenses)
        assert report["catalog"]["n_tier"] == {t: int((lenses["tier"] == t).sum()) for t in ("A", "B")}
        tiers = report["recall"]["tiers"]
        assert tiers["A"]["p>0.3"]["n"] + tiers["B"]["p>0.3"]["n"] == len(lenses)
        assert set(report["probe"]["by_model"]) == {"sersic", "real_galaxy"}
        with np.load(workdir / "results" / "realism" / f"{run}.npz") as arrays:
            assert arrays["emb:real"].shape[0] == len(lenses) and arrays["gallery_images"].shape[1:] == (3, 64, 64)
        for name in ("realism_recall", "realism_embedding", "realism_diagnostics"):
            assert (workdir / "results" / "figures" / run / f"{name}.png").stat().st_size > 10_000
    table = pd.read_csv(workdir / "results" / "experiments.tsv", sep="\t").set_index("run")
    assert table.loc["tiny_unpaired_mitigated", "realism_decision"] == "not audited"
    assert set(table.loc[cfg["realism"]["runs"], "realism_decision"]) <= {"GO", "NO-GO"}
    # tiny_paired has a selection function (main-map completeness known); a NO-GO says why
    for run in cfg["realism"]["runs"]:
        if table.loc[run, "realism_decision"] == "NO-GO":
            assert isinstance(table.loc[run, "realism_reasons"], str) and table.loc[run, "realism_reasons"]


def test_one_realism_target_builds_only_what_that_run_needs(tmp_path):
    wd = scratch_workflow(tmp_path / "clean")
    proc = snakemake(wd, "--configfile", "config/test.yaml", "-n", "results/realism/tiny_sky_run.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the sky (catalog and the run's own data), the source library and one run: no other run, no gates, no selection
    assert job_counts(proc.stdout + proc.stderr) == {"build_source_library": 1, "simulate_sky": 2, "build_manifest": 1,
                                                     "check_splits": 1, "check_pairs": 1, "preprocess": 1,
                                                     "run_settings": 1, "train": 1, "realism": 1}


def test_a_realism_setting_reruns_only_the_audits_and_what_reads_them(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c["realism"]["ceiling"].update(per_bin=5))
    assert counts == {"all": 1, "realism": 2, "figures_realism": 2, "experiments": 1, "figures_compare": 1, "pipeline_info": 1,
                      "decide": 1}  # the sequential tree reads the audits' recall
    # a threshold set is applied in the table: the audits stay
    counts = dry_run_with(workdir, tmp_path, lambda c: c["realism"].update(threshold_sets={"tier_a_recall_p05": 0.5}))
    assert counts == {"all": 1, "experiments": 1, "figures_compare": 1, "pipeline_info": 1}
    counts = dry_run_with(workdir, tmp_path, lambda c: c["realism"].update(batch=17, device="cpu"))
    assert counts == {}


def test_two_clean_runs_in_two_folders_give_byte_identical_artifacts(workdir, tmp_path):
    """config/test.yaml from scratch in a second folder: the same checkpoints, histories and gates."""
    runs = ("tiny_paired", "tiny_unpaired_mitigated")
    wd = scratch_workflow(tmp_path / "second")
    proc = snakemake(wd, "--configfile", "config/test.yaml", "--cores", "2", *(f"results/gates/{r}.json" for r in runs))
    assert proc.returncode == 0, proc.stderr[-4000:]
    for run in runs:
        a, b = workdir / "results" / "runs" / run, wd / "results" / "runs" / run
        for name in ("best.pt", "last.pt", "history.csv", "gate_history.csv"):
            assert sha256_of(a / name) == sha256_of(b / name), f"{run}/{name}"
        gates = [json.loads((w / "results" / "gates" / f"{run}.json").read_text()) for w in (workdir, wd)]
        assert gates[0]["checkpoint"]["sha256"] == sha256_of(a / "best.pt")  # the gates name the model by content
        for g in gates:
            g.pop("seconds")
        assert gates[0] == gates[1], run


def readme_block(marker: str) -> str:
    """The fenced code between `<!-- marker: start -->` and `<!-- marker: end -->` in the README."""
    text = (REPO / "README.md").read_text()
    body = text.split(f"<!-- {marker}: start -->", 1)[1].split(f"<!-- {marker}: end -->", 1)[0]
    return body.strip().split("\n", 1)[1].rsplit("```", 1)[0]


def test_the_readme_own_data_recipe_runs(tmp_path):
    """The README's "Your own data" steps, followed literally on config/test.yaml."""
    from helpers import validated

    from stronglens.storage.artifacts import write_parquet
    from stronglens.survey.synthetic.survey import simulate_shard

    home = tmp_path / "home"  # step 1: the user's shards in the seeds' schema, in ~/data/paired/
    (home / "data" / "paired").mkdir(parents=True)
    block = validated({"datasets": {"s": {"source": "synthetic", "n_pairs": 40, "shard_size": 40,
                                          "footprint": {"n_fields": 20, "field_radius_deg": 0.05}}}})["datasets"]["s"]
    df = simulate_shard(block, "s", 0, seed=11)[["stamp_npz", "ctrl_stamp_npz", "ra", "dec", "theta_e_arcsec",
                                                   "psfsize_r", "psfdepth_r"]]
    write_parquet(df.iloc[:20], home / "data" / "paired" / "part-000.parquet")
    write_parquet(df.iloc[20:], home / "data" / "paired" / "part-001.parquet")
    wd = scratch_workflow(tmp_path / "wf")  # step 2: copy the config, replace the runs' dataset block by the README's
    lines = (wd / "config" / "test.yaml").read_text().splitlines()
    start = lines.index("  tiny:")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith("    "))
    recipe = readme_block("own-data-recipe").rstrip("\n").splitlines()
    (wd / "my.yaml").write_text("\n".join(lines[:start] + recipe + lines[end:]) + "\n")
    assert yaml.safe_load((wd / "my.yaml").read_text())["datasets"]["tiny"]["source"] == "parquet"
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in readme_block("own-data-commands").strip().splitlines():  # step 3, as printed
        args = command.split()
        assert args[0] == "snakemake"
        done = subprocess.run([*SNAKEMAKE, *args[1:]], cwd=wd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr[-4000:])
    gates = json.loads((wd / "results" / "gates" / "tiny_paired.json").read_text())
    assert gates["run"] == "tiny_paired" and gates["verdict"]["n_critical_pass"] >= 0
    ingested = pd.read_parquet(wd / "results" / "data" / "tiny" / "pairs" / "part-1.parquet", columns=["source_file"])
    assert ingested["source_file"].eq(str(home / "data" / "paired" / "part-001.parquet")).all()
