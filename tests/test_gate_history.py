"""Gates during training: training-time inputs, the per-epoch gate row, stop criteria, the Trainer's gate history."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import REPO, gate_thresholds, write_pair_folder

from stronglens.config.settings import SettingsError, as_dict, parse_settings
from stronglens.config.validation import science_run
from stronglens.gates.training_history import (
    TRAINER_COLUMNS,
    GateMonitor,
    data_gate_values,
    epoch_gates,
    gate_columns,
    stop_reason,
    val_selection,
)
from stronglens.gates.training_inputs import training_time_sample
from stronglens.storage.split_store import hard_negative_pairs, load_split
from stronglens.train.augment import core_dropout_at
from stronglens.train.batches import BatchSet, plan_epoch
from stronglens.train.checkpoints import load_checkpoint
from stronglens.train.loop import RunData, Trainer, train_run
from stronglens.train.settings import RunSettings, StopCriteria, TrainGateSettings


def train_gated(*args, **kwargs) -> dict:
    """`train_run` with the gate monitor the train stage hands it."""
    return train_run(*args, monitor=GateMonitor(), **kwargs)

SIZE = 24


def write_folder(folder: Path, n_pairs: dict[str, int], seed: int = 0, core: float = 0.0, theta_px: float = 6.0) -> Path:
    """A paired preprocessed-like folder: ctrl = host + noise, stamp = ctrl + arc (+ a planted core bump of
    amplitude `core` on the positives: the core shortcut)."""
    return write_pair_folder(folder, n_pairs, seed, SIZE, core, theta_px, theta_spread=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("pp"), {"train": 24, "val": 12})


@pytest.fixture(scope="module")
def shortcut(tmp_path_factory) -> Path:
    """Positives carry a planted core bump (and an arc well outside the 10 x 10 core square)."""
    return write_folder(tmp_path_factory.mktemp("core"), {"train": 150, "val": 30}, seed=1, core=2.5, theta_px=9.5)


def run_config(**train) -> dict:
    """A resolved run config: the training schema's defaults under small, fast settings."""
    from snakemake.utils import validate

    settings = {"epochs": 3, "batch_size": 16, "micro_batch": 8, "lr": 0.003, "threads": 1, **train}
    validate(settings, str(REPO / "workflow" / "schemas" / "training.schema.yaml"))
    return {"name": "t", "dataset": "d", "pairing": "paired", "preprocessing": "p", "model": "bottlenecked_resnet",
            "width": 6, "pretrained": None, "seed": 3, "clip": 10.0, "train": settings}


def settings_of(run: dict) -> RunSettings:
    return parse_settings(RunSettings, science_run(run), "test run")


def quiet(*_args) -> None:
    pass


# -- settings ---------------------------------------------------------------------------------------


def test_gates_block_is_off_by_default_and_leaves_the_run_config_unchanged():
    run = run_config()
    assert "gates" not in run["train"]  # no schema default: the config (and its SHA-256) stays as before
    s = settings_of(run)
    assert s.train.gates.every == 0 and not s.train.gates.stop.any_set()
    assert "gates" not in as_dict(s)["train"]


def test_gates_block_is_filled_from_the_schema_and_round_trips():
    run = run_config(gates={"every": 5, "stop": {"core_lr_auc_above": 0.7, "stratum": "resolved"}})
    g = run["train"]["gates"]
    assert g["max_samples"] == 2000 and g["stop"]["after_epoch"] == 15 and g["stop"]["annulus_lr_auc_below"] is None
    s = settings_of(run)
    assert s.train.gates.stop.core_lr_auc_above == 0.7 and s.train.gates.theta_e_bins[0] == 0.5
    assert as_dict(s)["train"]["gates"] == g


def test_a_stop_criterion_without_gates_is_an_error():
    with pytest.raises(SettingsError, match="gates.every"):
        settings_of(run_config(gates={"stop": {"loss_gap_above": 0.3}}))


def test_gates_are_due_after_every_nth_epoch_and_the_last():
    g = TrainGateSettings(every=5)
    assert [e for e in range(12) if g.due(e, e == 11)] == [4, 9, 11]
    assert not any(TrainGateSettings().due(e, True) for e in range(3))


# -- training-time inputs ----------------------------------------------------------------------------


def test_training_time_sample_is_what_the_training_batches_hold(folder):
    run = run_config(hard_negatives={"ratio": 0.5}, core_dropout={"schedule": [{"radius": 4, "p": 0.5}]})
    s = settings_of(run).train
    train = load_split(folder, "train")
    pairs = hard_negative_pairs(train)
    epoch, seed = 2, 3
    x, index = training_time_sample(train, s, seed, epoch, paired=train, pairs=pairs, clip=10.0, max_samples=10_000)
    n = len(train.index)
    assert (index["kind"] == "hard_negative").sum() == round(0.5 * 24) and (index["kind"] == "train").sum() == n
    assert (index.loc[index["kind"] == "hard_negative", "label"] == 0).all()
    plan = plan_epoch(n, 24, len(pairs), s.hard_negatives, epoch, seed, s.batch_size, s.micro_batch)
    batches = BatchSet(train, plan, seed, s.augment, core_dropout_at(s.core_dropout.schedule, epoch, "zero"), train,
                       pairs, s.hard_negatives, 10.0)
    seen = {}
    for k in range(len(batches)):
        xb, _, _, idx = batches[k]
        seen.update({int(i): xb[j].numpy() for j, i in enumerate(idx)})
    for j, i in enumerate(index["sample_index"]):
        np.testing.assert_array_equal(x[j], seen[int(i)])


def test_training_time_sample_keeps_whole_hosts_and_caps_the_size(folder):
    s = settings_of(run_config(hard_negatives={"ratio": 1.0})).train
    train = load_split(folder, "train")
    x, index = training_time_sample(train, s, 3, 0, paired=train, max_samples=30)
    assert len(x) == len(index) <= 40 and len(index) < 72
    per_host = index.groupby("host_id")["kind"].agg(list)
    assert all(sorted(kinds) == ["hard_negative", "train", "train"] for kinds in per_host)  # stamp, ctrl, hard negative


def test_training_time_sample_needs_the_pairs_for_hard_negatives(folder):
    s = settings_of(run_config(hard_negatives={"ratio": 0.5})).train
    with pytest.raises(ValueError, match="hard_negatives"):
        training_time_sample(load_split(folder, "train"), s, 3, 0)


def test_core_lr_gate_on_training_time_inputs_drops_for_a_core_dropout_run(shortcut):
    """Acceptance: the core LR gate on training-time inputs drops for a core-dropout run (radius >= the core square)."""
    train = load_split(shortcut, "train")
    cfg = TrainGateSettings(every=1)
    plain = settings_of(run_config(augment=False)).train
    dropped = settings_of(run_config(core_dropout={"fill": "noise", "schedule": [{"radius": 8, "p": 1.0}]})).train
    before = data_gate_values(*training_time_sample(train, plain, 3, 0), cfg, 3)
    after = data_gate_values(*training_time_sample(train, dropped, 3, 0), cfg, 3)
    assert before["core_lr_auc"] > 0.9
    assert abs(after["core_lr_auc"] - 0.5) < 0.1
    assert after["annulus_lr_auc"] > 0.8  # the arc is untouched
    zeroed = settings_of(run_config(core_dropout={"schedule": [{"radius": 8, "p": 1.0}]})).train
    assert math.isnan(data_gate_values(*training_time_sample(train, zeroed, 3, 0), cfg, 3)["core_lr_auc"])  # N/A


def test_scheduled_core_dropout_follows_the_epoch(shortcut):
    train = load_split(shortcut, "train")
    s = settings_of(run_config(core_dropout={"fill": "noise", "schedule": [{"radius": 8, "p": 1.0, "until_epoch": 2}]})).train
    cfg = TrainGateSettings(every=1)
    early = data_gate_values(*training_time_sample(train, s, 3, 1), cfg, 3)["core_lr_auc"]
    late = data_gate_values(*training_time_sample(train, s, 3, 2), cfg, 3)["core_lr_auc"]
    assert early < 0.6 < 0.9 < late


# -- the gate row ---------------------------------------------------------------------------------


def core_scorer(x: np.ndarray) -> np.ndarray:
    """Reads only the central 3 x 3 pixels: all core reliance."""
    c = x.shape[-1] // 2
    return 1.0 / (1.0 + np.exp(-(x[:, :, c - 1 : c + 2, c - 1 : c + 2].mean(axis=(1, 2, 3)) - 5.0)))


def test_epoch_gates_returns_the_documented_keys(shortcut):
    train, val = load_split(shortcut, "train"), load_split(shortcut, "val")
    cfg = TrainGateSettings(every=1, min_positives_per_bin=3)
    s = settings_of(run_config()).train
    sample = training_time_sample(train, s, 3, 0)
    rows, pairs = val_selection(val, cfg, 3, hard_negative_pairs(val))
    row = epoch_gates(0, sample, core_scorer, val, cfg, 3, val_rows=rows, val_pairs=(val, pairs), clip=10.0)
    expected = [c for c in gate_columns(cfg) if c not in TRAINER_COLUMNS]
    assert list(row) == expected
    assert {"core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "auroc", "theta_e_min_auroc", "theta_e_spread",
            "core_auroc_r7", "core_reliance", "hardneg_mean_p", "theta_e_auroc_0.5_0.75"} <= set(row)
    assert row["n_val"] == 60 and row["n_val_hard"] == 30 and row["gate_n_hard_negative"] == 0
    assert row["auroc"] > 0.9 and row["core_auroc_r0"] == row["auroc"]
    assert row["core_reliance"] > 0.3 and row["core_auroc_r7"] < 0.7  # the core scorer loses its signal when masked
    assert 0 <= row["hardneg_mean_p"] <= 1 and np.isfinite(row["theta_e_min_auroc"])
    assert row["gate_n_resolved_positive"] > 0 and np.isfinite(row["core_lr_auc_resolved"])
    no_pairs = epoch_gates(0, sample, core_scorer, val, cfg, 3, val_rows=rows)
    assert math.isnan(no_pairs["hardneg_mean_p"]) and no_pairs["n_val_hard"] == 0
    assert epoch_gates(0, sample, core_scorer, val, cfg, 3, val_rows=rows) == no_pairs  # deterministic


# -- stop criteria ----------------------------------------------------------------------------------


def gate_row(epoch: int, **values) -> dict:
    base = {"epoch": epoch, "core_lr_auc": 0.55, "annulus_lr_auc": 0.8, "hardneg_mean_p": 0.05,
            "core_lr_auc_resolved": 0.55, "annulus_lr_auc_resolved": 0.8, "train_loss": 0.3, "val_loss": 0.35}
    return {**base, **values}


SEEDS = StopCriteria(core_lr_auc_above=0.70, annulus_lr_auc_below=0.65, hardneg_mean_p_above=0.15, loss_gap_above=0.3)


@pytest.mark.parametrize("row, fires", [
    (gate_row(19), None),
    (gate_row(19, core_lr_auc=0.75), "core_lr_auc"),
    (gate_row(14, core_lr_auc=0.75), None),  # before after_epoch 15
    (gate_row(15, core_lr_auc=0.75), "core_lr_auc"),  # "after epoch 15": from the row of 0-based epoch 15
    (gate_row(19, annulus_lr_auc=0.6), "annulus_lr_auc"),
    (gate_row(19, hardneg_mean_p=0.2), "hardneg_mean_p"),
    (gate_row(19, hardneg_mean_p=math.nan), None),  # N/A never fires
    (gate_row(4, val_loss=0.7), "val_loss - train_loss"),  # the loss gap counts at any epoch
    (gate_row(19, core_lr_auc=math.nan), None),
])
def test_stop_reason_applies_the_seed_criteria(row, fires):
    reason = stop_reason(row, [], SEEDS)
    if fires is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(f"at epoch {row['epoch']}") and fires in reason


def test_stop_criteria_off_patience_and_stratum():
    assert stop_reason(gate_row(30, core_lr_auc=0.99, val_loss=9.0), [], StopCriteria()) is None
    two = StopCriteria(core_lr_auc_above=0.7, patience=2)
    assert stop_reason(gate_row(19, core_lr_auc=0.8), [gate_row(14, core_lr_auc=0.8)], two) is None  # 14 < after_epoch
    assert stop_reason(gate_row(24, core_lr_auc=0.8), [gate_row(19, core_lr_auc=0.8)], two) is not None
    assert stop_reason(gate_row(24, core_lr_auc=0.8), [], two) is None
    resolved = StopCriteria(core_lr_auc_above=0.7, stratum="resolved")
    assert stop_reason(gate_row(19, core_lr_auc=0.8), [], resolved) is None
    assert "core_lr_auc_resolved" in stop_reason(gate_row(19, core_lr_auc_resolved=0.8), [], resolved)


# -- the Trainer ------------------------------------------------------------------------------------


def test_gate_history_is_header_only_when_gating_is_off(folder, tmp_path):
    info = train_gated(run_config(epochs=1), RunData(folder), tmp_path, log=quiet)
    frame = pd.read_csv(tmp_path / "gate_history.csv")
    assert frame.empty and list(frame.columns) == gate_columns(TrainGateSettings())
    assert info["stopped_early"] is None and info["gated_epochs"] == []


class Interrupted(Exception):
    pass


def test_gate_history_has_a_row_per_epoch_and_survives_a_resume(folder, tmp_path):
    run = run_config(gates={"every": 1, "min_positives_per_bin": 2})
    straight = tmp_path / "straight"
    info = train_gated(run, RunData(folder, folder), straight, log=quiet)
    gates = pd.read_csv(straight / "gate_history.csv")
    assert list(gates["epoch"]) == [0, 1, 2] and list(gates.columns) == gate_columns(settings_of(run).train.gates)
    assert info["gated_epochs"] == [0, 1, 2] and info["stopped_early"] is None
    assert gates["hardneg_mean_p"].notna().all() and gates["core_lr_auc"].notna().all()
    history = pd.read_csv(straight / "history.csv")
    np.testing.assert_allclose(gates["loss_gap"], history["val_loss"] - history["train_loss"], rtol=1e-6)

    class KilledAtEpoch2(Trainer):
        def train_epoch(self, epoch):
            if epoch == 2:
                raise Interrupted
            return super().train_epoch(epoch)

    import stronglens.train.loop as training

    killed = tmp_path / "killed"
    original = training.Trainer
    training.Trainer = KilledAtEpoch2
    try:
        with pytest.raises(Interrupted):
            train_gated(run, RunData(folder, folder), killed, log=quiet)
    finally:
        training.Trainer = original
    assert [r["epoch"] for r in load_checkpoint(killed / "last.pt")["gate_history"]] == [0, 1]
    info = train_gated(run, RunData(folder, folder), killed, log=quiet)
    assert info["resumed_after_epoch"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(killed / "gate_history.csv"), gates, check_exact=True)


def test_gating_does_not_change_training(folder, tmp_path):
    a = train_gated(run_config(epochs=2), RunData(folder), tmp_path / "a", log=quiet)
    b = train_gated(run_config(epochs=2, gates={"every": 1}), RunData(folder), tmp_path / "b", log=quiet)
    assert a["config_sha256"] != b["config_sha256"]
    cols = ["epoch", "train_loss", "val_loss", "val_auroc", "lr"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / "history.csv")[cols],
                                  pd.read_csv(tmp_path / "b" / "history.csv")[cols], check_exact=True)


def test_a_stop_criterion_ends_the_run_with_the_reason_in_run_info(folder, tmp_path):
    run = run_config(epochs=6, gates={"every": 1, "stop": {"core_lr_auc_above": 0.0, "after_epoch": 1}})
    logs: list[str] = []
    info = train_gated(run, RunData(folder), tmp_path, log=logs.append)
    assert info["epochs_run"] == 2 and info["stopped_early"]["epoch"] == 1
    assert "core_lr_auc" in info["stopped_early"]["reason"] and "stop.core_lr_auc_above" in info["stopped_early"]["reason"]
    on_disk = json.loads((tmp_path / "run_info.json").read_text())
    assert on_disk["stopped_early"] == info["stopped_early"]
    gates = pd.read_csv(tmp_path / "gate_history.csv")
    assert list(gates["epoch"]) == [0, 1] and pd.isna(gates["stop_reason"][0]) and "core_lr_auc" in gates["stop_reason"][1]
    assert any("stopped early after epoch 1" in m for m in logs)
    again = train_gated(run, RunData(folder), tmp_path, log=logs.append)  # a rerun resumes and trains no further
    assert again["epochs_run"] == 2 and again["stopped_early"] == info["stopped_early"]


def test_gates_after_the_epoch_early_stopping_ends_on(folder, tmp_path):
    run = run_config(epochs=30, lr=1e-7, early_stopping_patience=1, gates={"every": 100})
    info = train_gated(run, RunData(folder), tmp_path, log=quiet)
    assert info["epochs_run"] < 30 and info["gated_epochs"] == [info["epochs_run"] - 1]


# -- the figure ---------------------------------------------------------------------------------------


def test_gate_history_figure_draws_a_history_and_says_when_gating_was_off(tmp_path):
    from stronglens.figures.run_panels import GATE_HISTORY_OFF, gate_history_panel
    from stronglens.figures.style import save_figure

    cfg = TrainGateSettings(every=1)
    rows = [{**{c: 0.6 + 0.01 * e for c in gate_columns(cfg) if c not in ("epoch", "stop_reason")}, "epoch": e,
             "radial_lr_auc": math.nan, "hardneg_mean_p": math.nan, "stop_reason": "" if e < 3 else "at epoch 3: x"}
            for e in range(4)]
    fig = gate_history_panel(pd.DataFrame(rows, columns=gate_columns(cfg)), "r", gate_thresholds(),
                             StopCriteria(core_lr_auc_above=0.7))
    assert len(fig.axes) == 3 and "stopped early" in fig._suptitle.get_text()
    save_figure(fig, tmp_path / "g.png", tmp_path / "g.pdf")
    assert (tmp_path / "g.png").stat().st_size > 0
    off = gate_history_panel(pd.DataFrame(columns=gate_columns(cfg)), "r")
    assert GATE_HISTORY_OFF in off.axes[0].texts[0].get_text()
    assert "no gate_history.csv" in gate_history_panel(None, "r").axes[0].texts[0].get_text()


def test_no_global_rng_is_drawn_by_the_gates(shortcut):
    train, val = load_split(shortcut, "train"), load_split(shortcut, "val")
    cfg = TrainGateSettings(every=1)
    torch.manual_seed(0)
    np.random.seed(0)
    before = (torch.rand(1).item(), np.random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    epoch_gates(0, training_time_sample(train, settings_of(run_config()).train, 3, 0), core_scorer, val, cfg, 3)
    assert (torch.rand(1).item(), np.random.random()) == before
