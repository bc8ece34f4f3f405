"""Training stage: models, augmentation, hard negatives, core dropout, the loop, checkpoints, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import REPO, arc_image, write_pair_folder

from stronglens.config.validation import science_run
from stronglens.data.interventions import azimuthal_shuffle, core_mask, hard_negative, radius_pix, ring_index
from stronglens.storage.split_store import TrainingDataError, hard_negative_pairs, load_split
from stronglens.train.augment import CoreDropout, aug_seed, core_dropout_at, dihedral
from stronglens.train.batches import BatchSet, HardNegativeSettings, plan_epoch
from stronglens.train.checkpoints import load_checkpoint
from stronglens.train.loop import HISTORY_COLUMNS, TIMING_COLUMNS, RunData, Trainer, TrainingError, lr_factor, train_run
from stronglens.train.models import ModelError, build_model, head_parameters, load_pretrained, n_parameters
from stronglens.train.settings import CoreDropStep, ScheduleSettings

SIZE = 24


def write_folder(folder: Path, n_pairs: dict[str, int], seed: int = 0, size: int = SIZE) -> Path:
    """A preprocessed-like paired folder: ctrl = host + noise, stamp = ctrl + arc, per split."""
    return write_pair_folder(folder, n_pairs, seed, size)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("pp"), {"train": 24, "val": 10})


def run_config(**train) -> dict:
    """A resolved run config: the training schema's defaults under small, fast settings."""
    from snakemake.utils import validate

    settings = {"epochs": 3, "batch_size": 16, "micro_batch": 8, "lr": 0.003, "threads": 1, **train}
    validate(settings, str(REPO / "workflow" / "schemas" / "training.schema.yaml"))
    return {"name": "t", "dataset": "d", "pairing": "paired", "preprocessing": "p", "model": "bottlenecked_resnet",
            "width": 6, "pretrained": None, "seed": 3, "clip": 10.0, "train": settings}


# -- models --------------------------------------------------------------------------------------


def test_bottlenecked_resnet_matches_paper_iv_parameter_count():
    n = n_parameters(build_model("bottlenecked_resnet"))
    assert abs(n - 194_433) / 194_433 < 0.01


@pytest.mark.parametrize("name", ["bottlenecked_resnet", "resnet18", "efficientnet_v2_s"])
def test_models_take_three_bands_and_give_one_logit(name):
    model = build_model(name).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 1) and torch.isfinite(out).all()


def test_unknown_model_is_an_error_naming_it():
    with pytest.raises(ModelError, match="unknown model 'vgg'.*field model"):
        build_model("vgg")


def test_missing_weights_file_is_an_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist.*nothing is downloaded"):
        build_model("resnet18", pretrained=str(tmp_path / "imagenet.pth"))


def test_pretrained_backbone_loads_from_a_local_file_and_the_head_stays_fresh(tmp_path):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    imagenet = resnet18(weights=None)  # stands in for a local ImageNet .pth (1000-class head)
    torch.save(imagenet.state_dict(), tmp_path / "w.pth")
    model = build_model("resnet18")
    counts = load_pretrained(model, tmp_path / "w.pth")
    assert counts["head_tensors"] == 0 and counts["backbone_tensors"] > 50
    assert torch.equal(model.conv1.weight, imagenet.conv1.weight)
    assert head_parameters(model)[0].shape == (1, 512)


def test_weights_of_another_architecture_are_rejected(tmp_path):
    torch.save(build_model("bottlenecked_resnet").state_dict(), tmp_path / "w.pth")
    with pytest.raises(ModelError, match="lacks tensor"):
        load_pretrained(build_model("resnet18"), tmp_path / "w.pth")


# -- augmentation, hard negatives, core dropout ------------------------------------------------------


def test_aug_seed_is_the_seeds_formula():
    assert aug_seed(42, 7, 3, 100) == (42 * 1000003 + 7 + 3 * 100) & 0x7FFFFFFF
    assert aug_seed(2**40, 0, 0, 1) < 2**31


def test_dihedral_is_uniform_over_the_eight_symmetries_and_keeps_the_centre():
    img = np.arange(3 * 9 * 9, dtype=np.float32).reshape(3, 9, 9)
    seen = {}
    for s in range(4000):
        out = dihedral(img, np.random.default_rng(s))
        assert out[0, 4, 4] == img[0, 4, 4]
        seen[out.tobytes()] = seen.get(out.tobytes(), 0) + 1
    assert len(seen) == 8
    assert all(abs(c / 4000 - 1 / 8) < 0.025 for c in seen.values())


def test_flips_of_an_even_stamp_keep_the_object_centre_pixel():
    img = np.zeros((1, 8, 8), np.float32)
    img[0, 4, 4] = 1.0  # object centre = npix // 2
    for s in range(50):
        assert dihedral(img, np.random.default_rng(s))[0, 4, 4] == 1.0


def test_augmentation_differs_between_epochs_and_repeats_for_seed_index_epoch(folder):
    data = load_split(folder, "train")
    plan = plan_epoch(len(data.index), 24, 0, HardNegativeSettings(), 0, 5, 8, 8)

    def sample(epoch: int, index: int, batch_with: list[int]) -> np.ndarray:
        ds = BatchSet(data, plan, 5, True, CoreDropout(0, 0))
        from stronglens.train.batches import make_batch

        x, *_ = make_batch(ds, np.array(batch_with), epoch)
        return x[batch_with.index(index)].numpy()

    epochs = [sample(e, 3, [3]) for e in range(6)]
    assert len({e.tobytes() for e in epochs}) > 1  # changes with the epoch
    again = sample(2, 3, [9, 3, 11])  # other batch company, same (seed, index, epoch)
    np.testing.assert_array_equal(again, epochs[2])


def test_azimuthal_shuffle_keeps_each_ring_flux_and_destroys_the_arc():
    rng = np.random.default_rng(1)
    arc = arc_image(rng, theta_px=7.0)
    out = azimuthal_shuffle(arc, np.random.default_rng(2))
    rings = ring_index(arc.shape[-2:])
    for band in range(3):
        ring_flux = np.bincount(rings.ravel(), weights=arc[band].ravel())
        np.testing.assert_allclose(np.bincount(rings.ravel(), weights=out[band].ravel()), ring_flux, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.sort(out.ravel()), np.sort(arc.ravel()))
    corr = np.corrcoef(arc[1].ravel(), out[1].ravel())[0, 1]
    assert corr < 0.3  # the arc's shape is gone (identical images would give 1)
    # one permutation for all bands: colours move together
    np.testing.assert_allclose(out[2], out[1] * 1.2, rtol=1e-5, atol=1e-6)


def test_hard_negative_is_ctrl_plus_shuffled_arc_and_respects_the_clip():
    rng = np.random.default_rng(3)
    ctrl = rng.standard_normal((3, SIZE, SIZE)).astype(np.float32)
    arc = arc_image(rng) * 5
    hn = hard_negative(ctrl + arc, ctrl, np.random.default_rng(4), 1.0, clip=10.0)
    assert hn.max() <= 10.0
    unclipped = hard_negative(ctrl + arc, ctrl, np.random.default_rng(4), 1.0, clip=None)
    np.testing.assert_allclose(unclipped.sum(), (ctrl + arc).sum(), rtol=1e-4)
    assert not np.allclose(unclipped, ctrl + arc)


@pytest.mark.parametrize("radius", [3, 5, 7])
def test_core_dropout_masks_exactly_radius_r(radius):
    img = np.ones((3, 33, 33), np.float32)
    out = CoreDropout(radius, 1.0)(img, np.random.default_rng(0))
    inside = radius_pix((33, 33)) <= radius
    assert np.all(out[:, inside] == 0) and np.all(out[:, ~inside] == 1)
    assert inside.sum() == core_mask((33, 33), radius).sum() > 0


def test_core_dropout_fires_with_probability_p():
    img = np.ones((1, 17, 17), np.float32)
    n, p = 4000, 0.3
    fired = sum(CoreDropout(5, p)(img, np.random.default_rng(s))[0, 8, 8] == 0 for s in range(n))
    assert abs(fired / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_core_dropout_noise_fill_is_gaussian_sky_in_mad_units():
    img = np.full((3, 65, 65), 50.0, np.float32)
    out = CoreDropout(15, 1.0, "noise")(img, np.random.default_rng(0))
    vals = out[:, radius_pix((65, 65)) <= 15]
    assert abs(vals.mean()) < 0.1 and abs(vals.std() - 1.4826) < 0.1


def test_core_dropout_schedule_follows_the_seeds_b3_plan():
    sched = (CoreDropStep(7, 0.7, 10), CoreDropStep(5, 0.5, 30), CoreDropStep(3, 0.3, None))
    assert core_dropout_at(sched, 0, "zero") == CoreDropout(7, 0.7)
    assert core_dropout_at(sched, 10, "zero") == CoreDropout(5, 0.5)
    assert core_dropout_at(sched, 99, "zero") == CoreDropout(3, 0.3)
    assert core_dropout_at((), 0, "zero").p == 0


def test_hard_negative_curriculum_and_counts():
    hn = HardNegativeSettings(ratio=0.5, start_epoch=2, ramp_epochs=2)
    assert [hn.ratio_at(e) for e in range(5)] == [0, 0, 0.25, 0.5, 0.5]
    plan = plan_epoch(40, 20, 10, hn, 3, 0, 16, 8)
    idx = np.concatenate([mb.indices for mb in plan])
    assert (idx >= 40).sum() == 10 and sorted(idx[idx < 40]) == list(range(40))
    steps = [mb for mb in plan if mb.step]
    assert sum(mb.step_samples for mb in steps) == 50  # every sample in exactly one optimizer step


def test_hard_negative_pairs_match_stamp_and_ctrl_of_one_host(folder):
    data = load_split(folder, "train")
    pairs = hard_negative_pairs(data)
    idx = data.index
    assert len(pairs) == 24
    assert (idx["pair_id"].to_numpy()[pairs[:, 0]] == idx["pair_id"].to_numpy()[pairs[:, 1]]).all()
    assert (idx["label"].to_numpy()[pairs[:, 0]] == 1).all() and (idx["label"].to_numpy()[pairs[:, 1]] == 0).all()


# -- schedules ----------------------------------------------------------------------------------------


def test_lr_warm_up_is_linear_per_step_and_the_cosine_continues_from_it():
    def settings(**schedule) -> SimpleNamespace:  # lr_factor reads only epochs and the schedule
        return SimpleNamespace(epochs=10, schedule=ScheduleSettings(**schedule))

    s = settings(name="cosine", warmup_epochs=1)
    warm = [lr_factor(0, s, k, 4) for k in range(4)]
    assert warm == pytest.approx([0.25, 0.5, 0.75, 1.0])  # never an epoch at 1/100
    assert lr_factor(1, s, 0, 4) == pytest.approx(1.0)
    after = [lr_factor(e, s, k, 4) for e in range(1, 10) for k in range(4)]
    assert all(a >= b for a, b in zip(after, after[1:])) and after[-1] == pytest.approx(
        0.5 * (1 + math.cos(math.pi * (9.75 - 1) / 9)))
    s = settings(name="cosine", warmup_epochs=2)
    assert lr_factor(0, s, 0, 10) == pytest.approx(0.05) and lr_factor(1, s, 9, 10) == pytest.approx(1.0)
    assert lr_factor(10, s) == pytest.approx(0.0, abs=1e-12)
    s = settings(name="step", warmup_epochs=0, step_epochs=(4, 8))
    assert [lr_factor(e, s) for e in (0, 3, 4, 8)] == [1.0, 1.0, 0.5, 0.25]
    assert lr_factor(9, settings(name="constant")) == 1.0


# -- the loop ----------------------------------------------------------------------------------------


BYTE_IDENTICAL = ("best.pt", "last.pt", "history.csv", "gate_history.csv")


def sha256_of(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_config_and_seed_give_byte_identical_artifacts(folder, tmp_path):
    run = run_config(hard_negatives={"ratio": 0.5}, core_dropout={"schedule": [{"radius": 3, "p": 0.5}]})
    for name in ("a", "b"):
        train_run(run, RunData(folder, folder), tmp_path / name, log=lambda *a: None)
    h = pd.read_csv(tmp_path / "a" / "history.csv")
    assert list(h.columns) == list(HISTORY_COLUMNS) and len(h) == 3 and h["train_loss"].nunique() == 3
    for name in BYTE_IDENTICAL:
        assert sha256_of(tmp_path / "a" / name) == sha256_of(tmp_path / "b" / name), name
    timing = pd.read_csv(tmp_path / "a" / "timing.csv")  # wall times: only here
    assert list(timing.columns) == list(TIMING_COLUMNS) and timing["epoch"].tolist() == [0, 1, 2]
    assert (timing["epoch_time_s"] > 0).all() and (timing["images_per_s"] > 0).all()


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_from_last_pt_to_the_same_weights(folder, tmp_path):
    run = run_config(epochs=4, hard_negatives={"ratio": 0.5, "start_epoch": 1})
    train_run(run, RunData(folder, folder), tmp_path / "straight", log=lambda *a: None)

    class KilledMidEpoch(Trainer):  # dies at epoch 2, micro-batch 3 (after one optimizer step of that epoch)
        def train_epoch(self, epoch):
            self.epoch, self.batch = epoch, 0
            return super().train_epoch(epoch)

        def loss_sum(self, x, y, w):
            if (self.epoch, self.batch) == (2, 3):
                raise Interrupted
            self.batch += 1
            return super().loss_sum(x, y, w)

    out = tmp_path / "killed"
    import stronglens.train.loop as training

    original = training.Trainer
    training.Trainer = KilledMidEpoch
    try:
        with pytest.raises(Interrupted):
            train_run(run, RunData(folder, folder), out, log=lambda *a: None)
    finally:
        training.Trainer = original
    assert not (out / "best.pt").exists()
    assert load_checkpoint(out / "last.pt")["epoch"] == 1
    info = train_run(run, RunData(folder, folder), out, log=lambda *a: None)
    assert info["resumed_after_epoch"] == 1
    for name in BYTE_IDENTICAL:  # on bytes: the resumed run is the uninterrupted one
        assert sha256_of(tmp_path / "straight" / name) == sha256_of(out / name), name
    assert pd.read_csv(out / "timing.csv")["epoch"].tolist() == [0, 1, 2, 3]  # epoch 2 timed once, after the resume


def test_last_pt_of_another_config_is_not_resumed(folder, tmp_path):
    train_run(run_config(epochs=2), RunData(folder), tmp_path, log=lambda *a: None)
    logs = []
    info = train_run(run_config(epochs=2, lr=0.001), RunData(folder), tmp_path, log=logs.append)
    assert info["resumed_after_epoch"] is None and any("another run config" in m for m in logs)


def test_last_pt_of_other_training_code_is_not_resumed(folder, tmp_path):
    train_run(run_config(epochs=2), RunData(folder), tmp_path, code_hash="aaaa", log=lambda *a: None)
    logs = []
    info = train_run(run_config(epochs=2), RunData(folder), tmp_path, code_hash="bbbb", log=logs.append)
    assert info["resumed_after_epoch"] is None and any("other training code" in m for m in logs)


def test_checkpoints_load_with_weights_only_and_restore_the_model(folder, tmp_path):
    run = run_config(epochs=2, checkpoint_every=1)
    info = train_run(run, RunData(folder), tmp_path, log=lambda *a: None)
    for path in ("best.pt", "last.pt", "checkpoints/epoch-000.pt", "checkpoints/epoch-001.pt"):
        ckpt = torch.load(tmp_path / path, map_location="cpu", weights_only=True)
        assert ckpt["config_sha256"] == info["config_sha256"]
    last = load_checkpoint(tmp_path / "last.pt")
    assert {"model", "optimizer", "best_model", "epoch", "best_metric", "history"} <= set(last)
    model = build_model("bottlenecked_resnet", width=6)
    model.load_state_dict(load_checkpoint(tmp_path / "best.pt")["model"])
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == info["best_epoch"]


def test_a_checkpoint_that_needs_pickle_is_rejected(tmp_path):
    torch.save({"model": {}, "evil": Interrupted()}, tmp_path / "bad.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_checkpoint(tmp_path / "bad.pt")


def test_backbone_freeze_trains_only_the_head(folder, tmp_path):
    run = run_config(epochs=1, freeze_backbone_epochs=1, augment=False)
    trainer = Trainer(run, RunData(folder), tmp_path, log=lambda *a: None)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    after = trainer.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"fc.weight", "fc.bias"}


def test_early_stopping_stops_after_patience(folder, tmp_path):
    info = train_run(run_config(epochs=30, lr=1e-7, early_stopping_patience=1), RunData(folder), tmp_path,
                     log=lambda *a: None)
    assert info["epochs_run"] < 30


# -- bad input ---------------------------------------------------------------------------------------


def test_one_class_training_split_is_an_error(tmp_path):
    folder = write_folder(tmp_path / "pp", {"train": 6, "val": 4})
    idx = pd.read_parquet(folder / "train.index.parquet")
    keep = idx["label"] == 1
    np.save(folder / "train.npy", np.load(folder / "train.npy")[keep.to_numpy()])
    idx[keep].to_parquet(folder / "train.index.parquet")
    with pytest.raises(TrainingDataError, match="train split has 6 positives and 0 negatives.*field label"):
        Trainer(run_config(), RunData(folder), tmp_path / "out")


def test_empty_training_split_is_an_error(tmp_path):
    folder = write_folder(tmp_path / "pp", {"train": 3, "val": 4})
    np.save(folder / "train.npy", np.zeros((0, 3, SIZE, SIZE), np.float32))
    pd.read_parquet(folder / "train.index.parquet").iloc[:0].to_parquet(folder / "train.index.parquet")
    with pytest.raises(TrainingDataError, match="0 positives and 0 negatives"):
        Trainer(run_config(), RunData(folder), tmp_path / "out")


def test_array_and_index_of_different_length_is_an_error(tmp_path):
    folder = write_folder(tmp_path / "pp", {"train": 3, "val": 4})
    np.save(folder / "train.npy", np.load(folder / "train.npy")[:-1])
    with pytest.raises(TrainingDataError, match="train.npy: 5 images but .*has 6 rows"):
        load_split(folder, "train")


def test_nan_stops_with_epoch_and_batch_and_keeps_the_last_good_checkpoint(tmp_path):
    """A NaN in a ctrl used only by hard negatives (from epoch 1) stops epoch 1; epoch 0's last.pt stays."""
    paired = write_folder(tmp_path / "paired", {"train": 8, "val": 4})
    unpaired = write_folder(tmp_path / "unpaired", {"train": 8, "val": 4})
    arr = np.load(paired / "train.npy")
    arr[1::2, 0, 5, 5] = np.nan  # every ctrl of the paired folder
    np.save(paired / "train.npy", arr)
    run = run_config(epochs=3, hard_negatives={"ratio": 1.0, "start_epoch": 1})
    with pytest.raises(TrainingError, match="non-finite input at epoch 1 batch"):
        train_run(run, RunData(unpaired, paired), tmp_path / "out", log=lambda *a: None)
    assert load_checkpoint(tmp_path / "out" / "last.pt")["epoch"] == 0
    assert not (tmp_path / "out" / "best.pt").exists()


def test_nan_loss_names_epoch_and_batch(folder, tmp_path):
    class NaNLoss(Trainer):
        def loss_sum(self, x, y, w):
            return super().loss_sum(x, y, w) * float("nan")

    with pytest.raises(TrainingError, match="non-finite loss at epoch 0 batch 0"):
        NaNLoss(run_config(), RunData(folder), tmp_path).fit()


def test_last_pt_resumes_across_a_change_of_execution_settings(folder, tmp_path):
    """Threads, workers, eval batch and memory format say how a run runs, not what it is: a resume survives them."""
    from stronglens.train.execution import ExecutionSettings

    train_run(run_config(epochs=2), RunData(folder), tmp_path, log=lambda *a: None,
              execution=ExecutionSettings(threads=1))
    first = json.loads((tmp_path / "run_info.json").read_text())["config_sha256"]
    logs = []
    info = train_run(run_config(epochs=2, threads=2, eval_batch=32, channels_last=False), RunData(folder), tmp_path,
                     log=logs.append, execution=ExecutionSettings(threads=2, eval_batch=32, channels_last=False))
    assert info["config_sha256"] == first
    assert info["resumed_after_epoch"] == 1 and any("resumed" in m for m in logs)
    assert info["execution"]["threads"] == 2 and info["device"]["torch_threads"] == 2


def test_the_train_stage_sets_torch_threads_from_its_flag(folder, tmp_path):
    """The rule passes {threads} (so --set-threads train=N) as --threads; it beats the run config's value."""
    from stronglens.stages import train as stage

    settings = tmp_path / "settings.json"  # what the run_settings rule writes: the science slice only
    settings.write_text(json.dumps(science_run(run_config(epochs=1, threads=2))))
    out = tmp_path / "run"
    stage.main(["--run", str(settings), "--data", str(folder), "--threads", "1", "--workers", "0", "--eval-batch", "16",
                "--out", f"best={out / 'best.pt'}", f"history={out / 'history.csv'}", f"run_info={out / 'info.json'}",
                f"gate_history={out / 'gate_history.csv'}", f"timing={out / 'timing.csv'}"])
    info = json.loads((out / "info.json").read_text())
    assert (out / "best.pt").is_file() and (out / "history.csv").is_file() and (out / "last.pt").is_file()
    assert info["device"]["torch_threads"] == 1 and info["execution"]["threads"] == 1
    assert info["execution"]["eval_batch"] == 16
    assert "threads" not in info["run_config"]["train"] or info["run_config"]["train"]["threads"] == 1


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["train"].update(lrr=r["train"].pop("lr")), "lrr"),
    (lambda r: r["train"].pop("epochs"), "epochs"),
    (lambda r: r["train"]["schedule"].update(nme="cosine"), "nme"),
    (lambda r: r["train"].update(threads=4), "threads"),  # an execution key is a flag, never part of the settings
])
def test_the_train_stage_rejects_a_bad_settings_key_by_name(folder, tmp_path, capsys, edit, key):
    """A hand-run with a misspelled, missing or misplaced key stops at the boundary, naming key and file."""
    from stronglens.stages import train as stage

    run = science_run(run_config(epochs=1))
    edit(run)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(run))
    with pytest.raises(SystemExit) as exc:
        stage.main(["--run", str(settings), "--data", str(folder), "--out", f"best={tmp_path / 'b.pt'}",
                    f"history={tmp_path / 'h.csv'}", f"run_info={tmp_path / 'i.json'}"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and repr(key) in err and str(settings) in err
    assert not (tmp_path / "b.pt").exists() and not (tmp_path / "last.pt").exists()


def test_the_train_stage_names_a_missing_declared_output(folder, tmp_path, capsys):
    from stronglens.stages import train as stage

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(science_run(run_config(epochs=1))))
    with pytest.raises(SystemExit):
        stage.main(["--run", str(settings), "--data", str(folder), "--out", f"best={tmp_path / 'b.pt'}",
                    f"history={tmp_path / 'h.csv'}"])
    assert "missing output 'run_info'" in capsys.readouterr().err


def test_the_same_state_gives_the_same_checkpoint_bytes(tmp_path):
    """torch.save to a file records the (random, temporary) file name in the archive; checkpoints must not."""
    import hashlib

    from stronglens.train.checkpoints import save_checkpoint

    torch.manual_seed(0)
    state = {"model": build_model("bottlenecked_resnet", width=4).state_dict(), "epoch": 2, "history": [{"a": 1.0}]}
    digests = set()
    for name in ("a/best.pt", "b/other-name.pt"):
        save_checkpoint(state, tmp_path / name)
        digests.add(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert len(digests) == 1
    assert load_checkpoint(tmp_path / "a/best.pt")["epoch"] == 2
