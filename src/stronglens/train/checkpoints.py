"""Checkpoints: plain tensors and plain data only, written atomically, read with weights_only=True.

A checkpoint is a dict: ``model`` (state dict), and for resumable state also
``optimizer``, ``scheduler``, ``scaler``, ``best_model``, plus ``epoch`` (last
finished, 0-based), ``best_metric``, ``best_epoch``, ``history`` (list of
per-epoch dicts), ``run_config`` and ``config_sha256``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import torch

from stronglens.storage.artifacts import atomic_path


def canonical(obj: Any) -> Any:
    """`obj` rebuilt with fresh dicts, lists and tuples and every string interned (tensors kept as they are).

    Pickle shares an object it has seen by identity, so a state whose history
    was partly loaded from last.pt (its strings distinct objects from the
    code's literals) pickled to other bytes than the same values built in one
    run. Rebuilt this way, equal values give the same pickle.
    """
    if isinstance(obj, dict):
        return {canonical(k): canonical(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    if type(obj) is tuple:
        return tuple(canonical(v) for v in obj)
    if type(obj) is str:
        return sys.intern(obj)
    return obj


def checkpoint_bytes(state: dict) -> bytes:
    """The checkpoint as bytes, serialised in memory from its `canonical` form.

    `torch.save` to a file names the zip's records after that file (here a
    random temporary name), so equal tensors gave different bytes; to a
    buffer the record prefix is always ``archive``. With the canonical form,
    the same state gives the same bytes however it was reached (in one run, or
    killed and resumed), so a checkpoint's SHA-256 identifies its content.
    """
    buffer = io.BytesIO()
    torch.save(canonical(state), buffer)
    return buffer.getvalue()


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Write `checkpoint_bytes(state)` to `path` atomically."""
    data = checkpoint_bytes(state)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True`` (no code runs); a file that needs pickle raises."""
    return torch.load(path, map_location=map_location, weights_only=True)


def cpu_state(module_or_state) -> dict:
    """A detached CPU copy of a state dict (so a later optimizer step cannot change it)."""
    state = module_or_state.state_dict() if hasattr(module_or_state, "state_dict") else module_or_state
    return {k: v.detach().to("cpu", copy=True) if torch.is_tensor(v) else v for k, v in state.items()}
