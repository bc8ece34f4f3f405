"""Checkpoints: plain tensors and plain data only, written atomically, read with weights_only=True.

A checkpoint is a dict: ``model`` (state dict), and for resumable state also
``optimizer``, ``scheduler``, ``scaler``, ``best_model``, plus ``epoch`` (last
finished, 0-based), ``best_metric``, ``best_epoch``, ``history`` (list of
per-epoch dicts), ``run_config`` and ``config_sha256``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from stronglens.storage.artifacts import atomic_path


def save_checkpoint(state: dict, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True`` (no code runs); a file that needs pickle raises."""
    return torch.load(path, map_location=map_location, weights_only=True)


def cpu_state(module_or_state) -> dict:
    """A detached CPU copy of a state dict (so a later optimizer step cannot change it)."""
    state = module_or_state.state_dict() if hasattr(module_or_state, "state_dict") else module_or_state
    return {k: v.detach().to("cpu", copy=True) if torch.is_tensor(v) else v for k, v in state.items()}
