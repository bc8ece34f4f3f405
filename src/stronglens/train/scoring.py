"""Scoring images with a trained run: logits in batches, and a run's best model loaded safely."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from stronglens.train.checkpoints import load_checkpoint
from stronglens.train.models import build_model


def pick_device(name: str) -> torch.device:
    """``auto`` = CUDA when visible, else CPU; an explicit ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but no CUDA device is visible: field device")
    return torch.device(name)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, array: np.ndarray, device: torch.device, batch: int,
                   amp: torch.dtype | None = None, channels_last: bool = False) -> np.ndarray:
    """Logits (float64, one per image) of an (N, C, H, W) array, read in chunks; the model is left in eval mode."""
    model.eval()
    out = np.empty(len(array), np.float64)
    for start in range(0, len(array), batch):
        x = torch.from_numpy(np.array(array[start : start + batch], dtype=np.float32)).to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            out[start : start + len(x)] = model(x).squeeze(1).float().cpu().numpy()
    return out


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class RunScorer:
    """p(lens) of (N, C, H, W) float32 images from a run's best.pt (loaded with weights_only=True).

    An ensemble's best.pt (`stronglens.train.ensemble`) scores with every
    member and combines; its `logits` are logit(p) of the combined p, and
    `model` is None (no single network to probe: embedding audits need a
    trained run).
    """

    def __init__(self, checkpoint: str | Path, device: torch.device | str = "cpu", batch: int = 256) -> None:
        ckpt = load_checkpoint(checkpoint)
        run = ckpt["run_config"]
        self.run = run
        self.device = pick_device(device) if isinstance(device, str) else device
        self.members: list[torch.nn.Module] = []
        self.combiner: dict | None = None
        if "ensemble" in ckpt:
            from stronglens.train.ensemble import combiner_of, member_models

            self.members = member_models(ckpt["ensemble"]["members"], self.device)
            self.combiner = combiner_of(ckpt)
            self.model = None
        else:
            self.model = build_model(run["model"], run["width"]).to(self.device)
            self.model.load_state_dict(ckpt["model"])
            self.model.eval()
        self.batch = batch
        self.epoch = ckpt["epoch"]
        self.sha256 = file_sha256(checkpoint)

    def logits(self, x: np.ndarray) -> np.ndarray:
        if self.combiner is None:
            return predict_logits(self.model, x, self.device, self.batch)
        from stronglens.train.ensemble import combine_probabilities, combined_logit

        member = np.stack([predict_logits(m, x, self.device, self.batch) for m in self.members], axis=1)
        return combined_logit(combine_probabilities(member, self.combiner))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.combiner is None:
            return 1.0 / (1.0 + np.exp(-self.logits(x)))
        from stronglens.train.ensemble import combine_probabilities

        member = np.stack([predict_logits(m, x, self.device, self.batch) for m in self.members], axis=1)
        return combine_probabilities(member, self.combiner)
