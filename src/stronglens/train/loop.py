"""The training loop of one run (docs/science.md section 6), resumable and reproducible.

`train_run(run, data, outdir)` trains the model a resolved run config names
on the preprocessed arrays of its dataset / pairing / mode and writes
``best.pt``, ``history.csv``, ``gate_history.csv``, ``timing.csv`` and
``run_info.json`` into `outdir`. After every epoch it writes ``last.pt``
(model, optimizer, scaler, best weights, history, gate history and the run
config's SHA-256) with ``last.timing.csv`` beside it and, every
``checkpoint_every`` epochs, ``checkpoints/epoch-NNN.pt``; none is a declared
Snakemake output, so they survive a killed job. A rerun resumes from
``last.pt`` when its config hash matches, redoing the interrupted epoch.

Reproducibility: model init, sample order, hard negatives, augmentation and
the global torch RNG (dropout) are reseeded from (seed, epoch) at every
epoch, so a resumed run follows the uninterrupted one exactly on CPU. Wall
times live only in ``timing.csv`` (`TIMING_COLUMNS`), never in a checkpoint,
the history or the gate history, and checkpoints are serialised with fixed
record names (`stronglens.train.checkpoints`): on CPU the same config and
seed give byte-identical ``best.pt``, ``last.pt``, ``history.csv`` and
``gate_history.csv``, killed and resumed or not.

Gates during training (``train.gates``, `stronglens.gates.training_history`):
with ``gates.every`` = N > 0, after the validation of every N-th epoch and of
the last one, the data gates run on the train split as training saw it that
epoch and the model gates on the validation split; each gated epoch appends a
row to the gate history (kept in ``last.pt``, so a resumed run keeps it;
written to ``gate_history.csv``, header only when gating is off). When a stop
criterion (``gates.stop``, seed 002 §2.4) fires, the run ends after that epoch
and run_info.json records ``stopped_early: {epoch, reason}``.

Loss: per-sample BCE on the logit, weighted by ``sample_weight`` (tier
weights), summed over an optimizer step's samples and divided by their
number; micro-batches accumulate gradients up to ``batch_size`` samples.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from stronglens.config.settings import as_dict, parse_settings
from stronglens.config.validation import science_run
from stronglens.core.progress import progress
from stronglens.core.provenance import config_sha256
from stronglens.core.rng import generator
from stronglens.storage.split_store import (
    SplitData,
    hard_negative_pairs,
    load_split,
    require_both_classes,
)
from stronglens.train.batches import epoch_batch_set, plan_epoch
from stronglens.train.checkpoints import cpu_state, load_checkpoint, save_checkpoint
from stronglens.train.execution import ExecutionSettings
from stronglens.train.models import backbone_modules, build_model
from stronglens.train.scoring import pick_device, predict_logits
from stronglens.train.settings import RunSettings, TrainSettings

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_auroc", "lr")
TIMING_COLUMNS = ("epoch", "epoch_time_s", "images_per_s", "gate_time_s")  # seconds, images per second of training
TIMING_SIDECAR = "last.timing.csv"  # the timing rows of the epochs in last.pt (undeclared, like last.pt)


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss or input); the message names epoch and batch."""


@dataclass
class RunData:
    """Files a run reads: its own pairing's preprocessed arrays, the paired ones for hard negatives, and a
    fine-tune's starting weights (the parent run's best.pt, for `pretrained: run:<name>`)."""

    folder: Path
    paired_folder: Path | None = None
    pretrained_checkpoint: Path | None = None


def lr_factor(epoch: int, settings: TrainSettings, step: int = 0, steps: int = 1) -> float:
    """Learning-rate multiplier of optimizer step `step` of `steps` in `epoch` (both 0-based).

    Warm-up is linear per step: over ``warmup_epochs`` x `steps` steps the
    factor climbs 1/W, 2/W, ..., 1 (W warm-up steps), so a one-epoch warm-up
    spends half its steps above 0.5 instead of a whole epoch at 1/100. Then
    the schedule: ``constant``; ``cosine`` (from 1 at the end of warm-up
    towards 0 at the end of the last epoch, continuous in the step);
    ``step`` (times ``step_gamma`` at each epoch of ``step_epochs``).
    """
    sched = settings.schedule
    warm = sched.warmup_epochs
    position = epoch + step / steps  # epochs done when this step starts
    if position < warm:
        return min(1.0, (position + 1.0 / steps) / warm)
    if sched.name == "cosine":
        span = max(1, settings.epochs - warm)
        return 0.5 * (1.0 + math.cos(math.pi * (position - warm) / span))
    if sched.name == "step":
        return sched.step_gamma ** sum(epoch >= e for e in sched.step_epochs)
    return 1.0


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (CUDA only; CPU runs in float32 whatever the setting)."""
    if device.type != "cuda" or amp == "off":
        return None
    return torch.bfloat16 if amp == "bf16" else torch.float16


def torch_seed(seed: int, stage: str, *index: int) -> int:
    return int(generator(seed, stage, *index).integers(2**62))


class Trainer:
    """State of one run: model, optimizer (its lr set per step by `lr_factor`), data and history."""

    def __init__(self, run: RunSettings | dict, data: RunData, outdir: Path, log=print, code_hash: str | None = None,
                 execution: ExecutionSettings | None = None, monitor=None) -> None:
        if isinstance(run, dict):  # a resolved run dict (library callers): its execution keys, then its science
            execution = execution or ExecutionSettings.from_train(run["train"])
            run = parse_settings(RunSettings, science_run(run), f"run {run.get('name')}")
        self.x = execution or ExecutionSettings()
        self.settings, self.s, self.outdir, self.log = run, run.train, Path(outdir), log
        self.run = as_dict(run)  # the science config as recorded in checkpoints and hashed
        self.code_hash = code_hash
        self.seed = int(run.seed)
        self.sha = config_sha256(self.run)
        self.device = pick_device(self.x.device)
        torch.set_num_threads(self.x.threads)
        if self.device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        self.train = load_split(data.folder, "train")
        self.val = load_split(data.folder, "val")
        require_both_classes(self.train, "train")
        require_both_classes(self.val, "val")
        self.hn = self.s.hard_negatives
        self.hard: SplitData | None = None
        self.pairs = np.empty((0, 2), np.int64)
        if self.hn.ratio > 0:
            if data.paired_folder is None:
                raise TrainingError("hard_negatives.ratio > 0 needs the paired arrays of the dataset: field hard_negatives")
            self.hard = self.train if Path(data.paired_folder) == Path(data.folder) else load_split(data.paired_folder, "train")
            self.pairs = hard_negative_pairs(self.hard)
        self.gates = self.s.gates
        self.monitor = monitor
        if self.gates.every > 0:
            if monitor is None:
                raise TrainingError("train.gates.every > 0 needs a gate monitor (stronglens.gates.training_history."
                                    "GateMonitor; the train stage passes one): field gates.every")
            monitor.setup(self, self.paired_val(data))
        torch.manual_seed(torch_seed(self.seed, "init"))
        self.model = build_model(run.model, run.width, self.pretrained_weights(run, data)).to(self.device)
        if self.x.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=self.s.lr, weight_decay=self.s.weight_decay)
        self.amp = amp_dtype(self.s.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.start_epoch, self.best_metric, self.best_epoch = 0, -math.inf, -1
        self.best_model = cpu_state(self.model)
        self.history: list[dict] = []
        self.timing: list[dict] = []
        self.gate_history: list[dict] = []
        self.stopped_early: dict | None = None
        self.val_logits: np.ndarray | None = None

    @staticmethod
    def pretrained_weights(run: RunSettings, data: RunData) -> str | None:
        """The weights file a run starts from: the parent's best.pt for `run:<name>` (which must be given as
        data.pretrained_checkpoint), a local file, or None."""
        if run.pretrained and run.pretrained.startswith("run:"):
            if data.pretrained_checkpoint is None:
                raise TrainingError(f"pretrained {run.pretrained!r}: the parent run's best.pt was not given "
                                    "(--pretrained-checkpoint): field pretrained")
            return str(data.pretrained_checkpoint)
        return run.pretrained

    def paired_val(self, data: RunData) -> SplitData | None:
        """The paired validation split (hard negatives of the gates during training), or None without pairs."""
        if data.paired_folder is None:
            return None
        return self.val if Path(data.paired_folder) == Path(data.folder) else load_split(data.paired_folder, "val")

    # -- checkpoints ---------------------------------------------------------------------
    def state(self, epoch: int) -> dict:
        return {
            "model": cpu_state(self.model), "optimizer": self.opt.state_dict(),
            "scaler": self.scaler.state_dict(), "best_model": self.best_model, "epoch": epoch,
            "best_metric": self.best_metric, "best_epoch": self.best_epoch, "history": self.history,
            "gate_history": self.gate_history, "stopped_early": self.stopped_early,
            "run_config": self.run, "config_sha256": self.sha, "code_hash": self.code_hash,
        }

    def try_resume(self, last: Path) -> bool:
        """Restore from `last` if it belongs to this exact run config and stage code; True when resumed."""
        if not last.is_file():
            return False
        ckpt = load_checkpoint(last)
        if ckpt.get("config_sha256") != self.sha:
            self.log(f"{last}: written by another run config (sha {str(ckpt.get('config_sha256'))[:12]}), starting afresh")
            return False
        if ckpt.get("code_hash") != self.code_hash:
            self.log(f"{last}: written by other training code (code hash {ckpt.get('code_hash')}), starting afresh")
            return False
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.best_model, self.best_metric, self.best_epoch = ckpt["best_model"], ckpt["best_metric"], ckpt["best_epoch"]
        self.history = list(ckpt["history"])
        self.gate_history = list(ckpt.get("gate_history", []))
        self.stopped_early = ckpt.get("stopped_early")
        self.start_epoch = ckpt["epoch"] + 1
        sidecar = last.parent / TIMING_SIDECAR
        if sidecar.is_file():  # wall times of the epochs kept; a lost sidecar only loses timing
            timing = pd.read_csv(sidecar)
            self.timing = timing[timing["epoch"] < self.start_epoch].to_dict("records")
        self.log(f"resumed from {last} after epoch {ckpt['epoch']}")
        return True

    # -- one epoch -------------------------------------------------------------------------
    def loader(self, epoch: int) -> torch.utils.data.DataLoader:
        n_pos = int(self.train.index["label"].sum())
        plan = plan_epoch(len(self.train.index), n_pos, len(self.pairs), self.hn, epoch, self.seed,
                          self.s.batch_size, self.s.micro_batch)
        batches = epoch_batch_set(self.train, self.s, plan, self.seed, epoch, self.hard, self.pairs, self.settings.clip)
        workers = self.x.num_workers
        return torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=workers,
                                           pin_memory=self.x.pin_memory and self.device.type == "cuda",
                                           prefetch_factor=4 if workers else None), plan

    def set_frozen(self, frozen: bool) -> None:
        for module in backbone_modules(self.model):
            module.train(not frozen)
            for p in module.parameters():
                p.requires_grad_(not frozen)

    def train_epoch(self, epoch: int) -> tuple[float, int]:
        """One pass over the epoch's plan; returns (weighted mean loss, samples seen)."""
        loader, plan = self.loader(epoch)
        return self.train_batches(epoch, loader, plan)

    def train_batches(self, epoch: int, batches, plan: list) -> tuple[float, int]:
        """Optimise on `batches` (tensors (x, y, w, index) matching `plan`'s micro-batches)."""
        torch.manual_seed(torch_seed(self.seed, "torch", epoch))
        self.model.train()
        self.set_frozen(epoch < self.s.freeze_backbone_epochs)
        total, seen = 0.0, 0
        steps, step = max(1, sum(mb.step for mb in plan)), 0
        self.set_lr(epoch, 0, steps)
        self.opt.zero_grad(set_to_none=True)
        bar = progress(zip(batches, plan, strict=True), total=len(plan), desc=f"epoch {epoch}", unit="batch")
        for b, ((x, y, w, idx), mb) in enumerate(bar):
            if not torch.isfinite(x).all():
                bad = idx[~torch.isfinite(x).flatten(1).all(1)].tolist()
                raise TrainingError(f"non-finite input at epoch {epoch} batch {b}: sample indices {bad[:5]} "
                                    f"(base rows < {len(self.train.index)}, others are hard negatives)")
            loss_sum = self.loss_sum(x, y, w)
            if not torch.isfinite(loss_sum):
                raise TrainingError(f"non-finite loss at epoch {epoch} batch {b}; the last good checkpoint "
                                    f"({self.outdir / 'last.pt'}, epoch {epoch - 1}) is kept")
            self.scaler.scale(loss_sum / mb.step_samples).backward()
            if mb.step:
                self.scaler.step(self.opt)
                self.scaler.update()
                self.opt.zero_grad(set_to_none=True)
                step += 1
                if step < steps:
                    self.set_lr(epoch, step, steps)
            total += float(loss_sum.detach())
            seen += len(y)
            bar.set_postfix_str(f"loss {total / seen:.4f}", refresh=False)
        bar.close()
        return total / max(seen, 1), seen

    def set_lr(self, epoch: int, step: int, steps: int) -> None:
        """Set every parameter group's learning rate for optimizer step `step` of `steps` in `epoch`."""
        for group in self.opt.param_groups:
            group["lr"] = self.s.lr * lr_factor(epoch, self.s, step, steps)

    def loss_sum(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.to_device(x)
        y, w = y.to(self.device), w.to(self.device)
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            logit = self.model(x).squeeze(1)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logit.float(), y, reduction="none")
        return (bce * w).sum()

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.x.channels_last else x

    @torch.no_grad()
    def evaluate(self, data: SplitData) -> tuple[float, float]:
        """(weighted BCE, AUROC) of the current model on a split, no augmentation."""
        logits = self.logits(data.array)
        self.val_logits = logits
        y = data.index["label"].to_numpy(np.float64)
        w = data.index["sample_weight"].to_numpy(np.float64)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(logits).double(),
                                                                   torch.from_numpy(y), reduction="none").numpy()
        return float((bce * w).sum() / w.sum()), float(roc_auc_score(y, logits))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits of the current model on (N, C, H, W) images (eval mode, no augmentation)."""
        return predict_logits(self.model, x, self.device, self.x.eval_batch, self.amp, self.x.channels_last)

    def score(self, x: np.ndarray) -> np.ndarray:
        """p(lens) of the current model: the gates' scorer."""
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    # -- the whole run ---------------------------------------------------------------------
    def fit(self) -> None:
        last = self.outdir / "last.pt"
        self.try_resume(last)
        patience = self.s.early_stopping_patience
        if self.stopped_early:
            self.log(f"stopped early after epoch {self.stopped_early['epoch']} ({self.stopped_early['reason']}): "
                     "nothing left to train")
            return
        for epoch in range(self.start_epoch, self.s.epochs):
            if patience is not None and self.best_epoch >= 0 and epoch - 1 - self.best_epoch >= patience:
                self.log(f"early stop before epoch {epoch}: no val AUROC gain for {patience} epochs")
                break
            t0 = time.perf_counter()
            lr = self.s.lr * lr_factor(epoch, self.s)
            train_loss, seen = self.train_epoch(epoch)
            t_train = time.perf_counter() - t0
            val_loss, val_auroc = self.evaluate(self.val)
            if val_auroc > self.best_metric:
                self.best_metric, self.best_epoch, self.best_model = val_auroc, epoch, cpu_state(self.model)
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_auroc": val_auroc, "lr": lr}
            self.history.append(row)
            timing = {"epoch": epoch, "epoch_time_s": time.perf_counter() - t0, "images_per_s": seen / t_train,
                      "gate_time_s": float("nan")}
            self.timing.append(timing)
            reason = None
            final = epoch == self.s.epochs - 1 or (patience is not None and epoch - self.best_epoch >= patience)
            if self.gates.due(epoch, final):
                t_gate = time.perf_counter()
                gate = self.monitor.row(self, epoch, train_loss, val_loss)
                timing["gate_time_s"] = time.perf_counter() - t_gate
                reason = self.monitor.stop(gate, self.gate_history, self.gates.stop)
                gate["stop_reason"] = reason or ""
                self.gate_history.append(gate)
                self.log(f"gates after epoch {epoch}: " + " ".join(
                    f"{k}={gate[k]:.4g}" for k in ("core_lr_auc", "radial_lr_auc", "annulus_lr_auc", "auroc",
                                                   "theta_e_min_auroc", "core_reliance", "hardneg_mean_p"))
                    + f" in {timing['gate_time_s']:.1f} s")
                if reason:
                    self.stopped_early = {"epoch": epoch, "reason": reason}
            save_checkpoint(self.state(epoch), last)
            write_timing(self.timing, self.outdir / TIMING_SIDECAR)
            every = self.s.checkpoint_every
            if every and (epoch + 1) % every == 0:
                save_checkpoint(self.state(epoch), self.outdir / "checkpoints" / f"epoch-{epoch:03d}.pt")
            self.log(" ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in {**row, **timing}.items()
                              if k != "gate_time_s" or not math.isnan(v)))
            if reason:
                self.log(f"stopped early after epoch {epoch}: gate stop criterion {reason}")
                break

    def best_checkpoint(self) -> dict:
        return {"model": self.best_model, "epoch": self.best_epoch, "best_metric": self.best_metric,
                "run_config": self.run, "config_sha256": self.sha}


def history_frame(history: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(history, columns=list(HISTORY_COLUMNS))


def write_timing(rows: list[dict], path: Path) -> None:
    """The wall-time rows (`TIMING_COLUMNS`; gate_time_s empty for an epoch without gates) as CSV, atomically."""
    from stronglens.storage.artifacts import atomic_path

    with atomic_path(path) as tmp:
        pd.DataFrame(rows, columns=list(TIMING_COLUMNS)).to_csv(tmp, index=False, float_format="%.6g")


def device_info(device: torch.device) -> dict:
    info = {"type": device.type, "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
    return info


RUN_OUTPUTS = {"best": "best.pt", "history": "history.csv", "run_info": "run_info.json",
               "gate_history": "gate_history.csv", "timing": "timing.csv"}


def run_outputs(outdir: str | Path) -> dict[str, Path]:
    """The declared outputs of a run in `outdir` under their usual names."""
    return {name: Path(outdir) / file for name, file in RUN_OUTPUTS.items()}


def train_run(run: RunSettings | dict, data: RunData, outdir: str | Path, code_hash: str | None = None,
              command: list[str] | None = None, log=print, execution: ExecutionSettings | None = None,
              outputs: dict[str, Path] | None = None, monitor=None) -> dict:
    """Train (or resume) one run and write its outputs; returns run_info.

    outdir holds the resumable state (last.pt, checkpoints/); outputs maps
    best, history, gate_history, timing and run_info to their paths (default:
    `run_outputs(outdir)`; a mapping without gate_history or timing writes it
    into `outdir`). gate_history.csv is always written: one row per gated
    epoch, only the header when gating is off.
    """
    from datetime import datetime

    from stronglens.core.provenance import git_commit, package_versions
    from stronglens.storage.artifacts import atomic_path, write_json
    from stronglens.train.models import n_parameters

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    trainer = Trainer(run, data, outdir, log, code_hash, execution, monitor)
    log(f"run config sha256 {trainer.sha[:16]}; {n_parameters(trainer.model):,} parameters; device {trainer.device}; "
        f"train {len(trainer.train.index)} / val {len(trainer.val.index)} images; {len(trainer.pairs)} hard-negative pairs")
    trainer.fit()
    resumed_after = trainer.start_epoch - 1 if trainer.start_epoch else None
    out = outputs or run_outputs(outdir)
    save_checkpoint(trainer.best_checkpoint(), out["best"])
    with atomic_path(out["history"]) as tmp:
        history_frame(trainer.history).to_csv(tmp, index=False, float_format="%.8g")
    with atomic_path(out.get("gate_history", outdir / RUN_OUTPUTS["gate_history"])) as tmp:
        frame = monitor.frame(trainer.gate_history, trainer.gates) if monitor else pd.DataFrame(columns=["epoch"])
        frame.to_csv(tmp, index=False, float_format="%.8g")
    write_timing(trainer.timing, Path(out.get("timing", outdir / RUN_OUTPUTS["timing"])))
    info = {
        "run": trainer.settings.name,
        "run_config": {**trainer.run, "train": {**trainer.run["train"], **asdict(trainer.x)}},
        "config_sha256": trainer.sha,
        "execution": asdict(trainer.x),
        "code_hash": code_hash,
        "git_commit": git_commit(),
        "started_utc": started,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "seeds": {"run": trainer.seed, "init_torch_seed": torch_seed(trainer.seed, "init"),
                  "augmentation": "(seed*1000003 + index + epoch*n) & 0x7fffffff"},
        "device": device_info(trainer.device),
        "amp": str(trainer.amp).replace("torch.", "") if trainer.amp else "off",
        "packages": package_versions(),
        "n_parameters": n_parameters(trainer.model),
        "epochs_run": len(trainer.history),
        "best_epoch": trainer.best_epoch,
        "best_val_auroc": trainer.best_metric,
        "resumed_after_epoch": resumed_after,
        "gates_every": trainer.gates.every,
        "gated_epochs": [int(r["epoch"]) for r in trainer.gate_history],
        "stopped_early": trainer.stopped_early,
        "n_train": len(trainer.train.index),
        "n_val": len(trainer.val.index),
        "n_hard_negative_pairs": len(trainer.pairs),
    }
    write_json(info, out["run_info"])
    return info
