"""Ensembles of trained runs: one scorer made of several runs' best models (docs/training.md, "Ensembles").

An ensemble run is not trained. Its best.pt holds every member's weights and
run config, and a combiner:

* ``mean``: p = mean over members of sigmoid(logit_m);
* ``logistic``: p = sigmoid(b + sum_m w_m logit_m), an L2 logistic
  meta-learner fitted on the members' logits on the validation split
  (Paper IV combined its two networks this way).

The combined logit is logit(p), so an ensemble is gated, scored and selected
like any run (`stronglens.train.scoring.RunScorer` reads both kinds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stronglens.train.checkpoints import load_checkpoint
from stronglens.train.models import build_model

COMBINERS = ("mean", "logistic")
P_FLOOR = 1e-12  # probabilities are clipped to [P_FLOOR, 1 - P_FLOOR] before taking the combined logit


class EnsembleError(ValueError):
    """An ensemble that cannot be built (a member of another network family, a single-class split, ...)."""


@dataclass(frozen=True)
class EnsembleSettings:
    """members: run names (at least 2); combine: ``mean`` or ``logistic``."""

    members: tuple[str, ...]
    combine: str = "mean"

    def __post_init__(self) -> None:
        if self.combine not in COMBINERS:
            raise EnsembleError(f"ensemble.combine: {self.combine!r} is not one of {', '.join(COMBINERS)}")
        if len(self.members) < 2:
            raise EnsembleError("ensemble.members: an ensemble needs at least 2 member runs")


def load_members(checkpoints: list[Path]) -> list[dict]:
    """Each member's name, run config, weights and file hash, from its best.pt."""
    from stronglens.train.scoring import file_sha256

    members = []
    for path in checkpoints:
        ckpt = load_checkpoint(path)
        if "ensemble" in ckpt:
            raise EnsembleError(f"{path}: is itself an ensemble; members must be trained runs")
        members.append({"name": ckpt["run_config"]["name"], "run_config": ckpt["run_config"], "model": ckpt["model"],
                        "epoch": ckpt["epoch"], "sha256": file_sha256(path)})
    return members


def member_models(members: list[dict], device: torch.device) -> list[torch.nn.Module]:
    """Every member's network in eval mode on `device`."""
    models = []
    for m in members:
        model = build_model(m["run_config"]["model"], m["run_config"]["width"]).to(device)
        model.load_state_dict(m["model"])
        models.append(model.eval())
    return models


def fit_combiner(logits: np.ndarray, labels: np.ndarray, combine: str, seed: int) -> dict:
    """The combiner of (N, M) member logits: {"combine", "weights" (M,), "intercept"} (mean: equal weights, unused).

    The logistic meta-learner is scikit-learn's L2 LogisticRegression (C = 1)
    on the raw logits; a split with one class is an error naming the field.
    """
    labels = np.asarray(labels).astype(int)
    if combine == "mean":
        return {"combine": "mean", "weights": np.full(logits.shape[1], 1.0 / logits.shape[1]), "intercept": 0.0}
    if len(np.unique(labels)) < 2:
        raise EnsembleError("the validation split holds a single class: the meta-learner needs both (field label)")
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(logits, labels)
    return {"combine": "logistic", "weights": fit.coef_[0].astype(np.float64), "intercept": float(fit.intercept_[0])}


def combine_probabilities(logits: np.ndarray, combiner: dict) -> np.ndarray:
    """p(lens) of (N, M) member logits under a combiner from `fit_combiner`."""
    logits = np.asarray(logits, dtype=np.float64)
    if combiner["combine"] == "mean":
        return (1.0 / (1.0 + np.exp(-logits))).mean(axis=1)
    z = logits @ np.asarray(combiner["weights"], dtype=np.float64) + float(combiner["intercept"])
    return 1.0 / (1.0 + np.exp(-z))


def combined_logit(p: np.ndarray) -> np.ndarray:
    """logit(p), p clipped to [P_FLOOR, 1 - P_FLOOR] so a saturated mean stays finite."""
    p = np.clip(np.asarray(p, dtype=np.float64), P_FLOOR, 1.0 - P_FLOOR)
    return np.log(p) - np.log1p(-p)


def ensemble_checkpoint(run: dict, members: list[dict], combiner: dict) -> dict:
    """The best.pt of an ensemble run: members' weights and configs, the combiner as tensors, the run config."""
    return {
        "ensemble": {
            "combine": combiner["combine"],
            "weights": torch.as_tensor(np.asarray(combiner["weights"], dtype=np.float64)),
            "intercept": float(combiner["intercept"]),
            "members": [{k: m[k] for k in ("name", "run_config", "model", "epoch", "sha256")} for m in members],
        },
        "model": {}, "epoch": -1, "run_config": run,
    }


def combiner_of(ckpt: dict) -> dict:
    """The combiner stored in an ensemble checkpoint, as numpy."""
    ens = ckpt["ensemble"]
    return {"combine": ens["combine"], "weights": ens["weights"].numpy(), "intercept": float(ens["intercept"])}
