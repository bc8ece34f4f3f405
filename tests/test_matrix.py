"""The experiment matrix: replicates, scaled schedules, fine-tunes, ensembles, comparisons and the experiments
table's replicate summaries (issue 17)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from helpers import REPO, job_counts, scratch_workflow, snakemake, validated

from stronglens.config.validation import ConfigError, comparison_pairs
from stronglens.gates.runs_table import with_replicate_summaries
from stronglens.train.ensemble import (
    EnsembleError,
    EnsembleSettings,
    combine_probabilities,
    combined_logit,
    ensemble_checkpoint,
    fit_combiner,
    load_members,
)
from stronglens.train.models import build_model
from stronglens.train.scoring import RunScorer


def base_config(**runs) -> dict:
    cfg = {"datasets": {"d": {"source": "synthetic", "n_pairs": 4}},
           "preprocessing": {"res": {"mode": "residual_radial_profile", "annulus": [20, 32], "clip": 10}},
           "runs": {"A": {"dataset": "d", "pairing": "unpaired", "preprocessing": "res", "seed": 5}}}
    cfg["runs"].update(runs)
    return cfg


RUN = {"dataset": "d", "pairing": "unpaired", "preprocessing": "res"}


def test_replicates_train_k_seeds_and_keep_the_first_run_as_it_was():
    single = validated(base_config())["resolved_runs"]["A"]
    cfg = base_config()
    cfg["runs"]["A"]["replicates"] = 3
    runs = validated(cfg)["resolved_runs"]
    assert list(runs) == ["A", "A_r2", "A_r3"]
    assert [runs[r]["seed"] for r in runs] == [5, 6, 7] and [runs[r].get("replicate_of") for r in runs] == [None, "A", "A"]
    assert runs["A"] == single  # the run itself is unchanged: adding replicates never retrains it


def test_a_schedule_given_in_fractions_scales_with_the_run():
    sched = [{"radius": 7, "p": 0.7, "until_fraction": 0.2}, {"radius": 5, "p": 0.5, "until_fraction": 0.6},
             {"radius": 3, "p": 0.3}]
    for epochs, ends in ((10, [2, 6, None]), (50, [10, 30, None])):
        cfg = base_config(B3={**RUN, "train": {"epochs": epochs, "core_dropout": {"schedule": copy.deepcopy(sched)}}})
        got = validated(cfg)["resolved_runs"]["B3"]["train"]["core_dropout"]["schedule"]
        assert [e["until_epoch"] for e in got] == ends and all("until_fraction" not in e for e in got)


@pytest.mark.parametrize("change, message", [
    (lambda c: c["runs"].update(F={**RUN, "pretrained": "run:nope"}), "names no run"),
    (lambda c: c["runs"].update(F={**RUN, "pretrained": "run:G"}, G={**RUN, "pretrained": "run:F"}), "cycle"),
    (lambda c: c["runs"].update(F={**RUN, "pretrained": "run:A", "width": 8}), "same network"),
    (lambda c: c["runs"].update(E={**RUN, "ensemble": {"members": ["A", "zz"]}}), "names no run"),
    (lambda c: (c["preprocessing"].update(raw={"mode": "raw_robust", "annulus": [20, 32], "clip": 10}),
                c["runs"].update(B={**RUN, "preprocessing": "raw"}, E={**RUN, "ensemble": {"members": ["A", "B"]}})),
     "same inputs"),
])
def test_bad_fine_tunes_and_ensembles_are_config_errors(change, message):
    cfg = base_config()
    change(cfg)
    with pytest.raises(ConfigError, match=message):
        validated(cfg)


def test_comparisons_name_runs():
    runs = validated(base_config(B=dict(RUN)))["resolved_runs"]
    assert comparison_pairs({"comparisons": [["A", "B"]]}, runs) == [("A", "B")]
    with pytest.raises(ConfigError, match=r"comparisons\[0\]: 'C' is not a run"):
        comparison_pairs({"comparisons": [["A", "C"]]}, runs)


def member_file(tmp_path, name: str, seed: int) -> str:
    torch.manual_seed(seed)
    model = build_model("bottlenecked_resnet", width=4)
    path = tmp_path / f"{name}.pt"
    torch.save({"model": model.state_dict(), "epoch": 3, "run_config": {"name": name, "model": "bottlenecked_resnet",
                                                                       "width": 4}}, path)
    return path


def test_an_ensemble_scores_as_the_mean_or_the_meta_learner_of_its_members(tmp_path):
    members = load_members([member_file(tmp_path, "m1", 1), member_file(tmp_path, "m2", 2)])
    x = np.random.default_rng(0).standard_normal((12, 3, 32, 32)).astype(np.float32)
    one = [RunScorer(tmp_path / f"{m}.pt") for m in ("m1", "m2")]
    logits = np.stack([s.logits(x) for s in one], axis=1)
    for combine in ("mean", "logistic"):
        labels = np.r_[np.zeros(6), np.ones(6)]
        combiner = fit_combiner(logits, labels, combine, seed=0)
        path = tmp_path / f"ens-{combine}.pt"
        torch.save(ensemble_checkpoint({"name": "E", "model": "ensemble"}, members, combiner), path)
        scorer = RunScorer(path)
        p = scorer(x)
        assert np.allclose(p, combine_probabilities(logits, combiner)) and scorer.model is None
        assert np.allclose(scorer.logits(x), combined_logit(p))
        if combine == "mean":
            assert np.allclose(p, (1 / (1 + np.exp(-logits))).mean(axis=1))
    with pytest.raises(EnsembleError, match="single class"):
        fit_combiner(logits, np.zeros(12), "logistic", 0)
    with pytest.raises(EnsembleError, match="at least 2"):
        EnsembleSettings(members=("m1",))


def test_the_experiments_table_summarises_replicates_as_mean_and_std():
    rows = [{"run": r, "replicate_of": "B" if r.startswith("B_") else None, "seed": s, "auroc": a,
             "core_lr_auc_status": st, "dataset": "d"}
            for r, s, a, st in (("A", 1, 0.9, "PASS"), ("B", 1, 0.8, "PASS"), ("B_r2", 2, 0.82, "WARN"),
                                ("B_r3", 3, 0.84, "PASS"))]
    out = pd.DataFrame(with_replicate_summaries(rows))
    assert list(out["run"]) == ["A", "B", "B_r2", "B_r3", "B (mean +- std, 3 seeds)"]
    summary = out.iloc[-1]
    assert summary["auroc"] == f"{0.82:.4f} +- {np.std([0.8, 0.82, 0.84], ddof=1):.4f}"
    assert summary["core_lr_auc_status"] == "PASS 2/3, WARN 1/3" and summary["seed"] == "1,2,3"
    assert summary["dataset"] == "d"
    rows[2]["n_pass"], rows[1]["n_pass"], rows[3]["n_pass"] = "3/5", "2/5", "3/5"
    assert pd.DataFrame(with_replicate_summaries(rows)).iloc[-1]["n_pass"] == "3/5 x2, 2/5 x1"


def test_a_fine_tune_parent_is_built_first_and_the_matrix_dry_runs(tmp_path):
    wd = scratch_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    first = next(iter(cfg["runs"]))
    parent = cfg["runs"][first]
    cfg["runs"]["child"] = {**copy.deepcopy(parent), "pretrained": f"run:{first}", "train": {"epochs": 1}}
    (wd / "ft.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "--configfile", "ft.yaml", "-n", "-p", "--forceall", "results/runs/child/best.pt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert job_counts(log).get("train") == 2
    # jobs print in the order they would run: the parent's training first, and the child reads its best.pt
    parent_cmd = log.index(f"--run results/settings/runs/{first}.json")
    child_cmd = log.index("--run results/settings/runs/child.json")
    assert parent_cmd < child_cmd
    assert f"--pretrained-checkpoint results/runs/{first}/best.pt" in log[child_cmd:]
    proc = snakemake(wd, "--configfile", "config/config.yaml", "config/matrix.yaml", "-n", "all")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["ensemble"] == 1 and counts["decide"] == 1 and counts["compare"] == 7
    assert counts["train"] == len(yaml.safe_load((REPO / "config" / "config.yaml").read_text())["runs"]) + 4 + 3
    json.dumps(counts)


def test_the_ensemble_stage_refuses_members_other_than_its_own_in_one_line(tmp_path, capsys):
    from stronglens.stages import build_ensemble

    a, b = member_file(tmp_path, "m1", 1), member_file(tmp_path, "m2", 2)
    settings = tmp_path / "E.json"
    settings.write_text(json.dumps({"name": "E", "seed": 0, "ensemble": {"members": ["m1", "zz"]}}))
    outs = [f"{k}={tmp_path / k}" for k in ("best", "history", "run_info", "gate_history", "timing")]
    with pytest.raises(SystemExit) as err:
        build_ensemble.main(["--run", str(settings), "--members", str(a), str(b), "--data", str(tmp_path),
                             "--out", *outs])
    assert err.value.code == 2
    assert "the ensemble names ['m1', 'zz']" in capsys.readouterr().err
    assert not (tmp_path / "best").exists()  # nothing written
