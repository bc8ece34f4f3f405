"""A dataclass of equally batched tensors: select a sub-batch, move it, count it."""

from __future__ import annotations

from dataclasses import fields
from typing import Self

import torch


class BatchedTensors:
    """Mixin for dataclasses whose fields are tensors sharing a leading batch axis (B, ...).

    Optional fields may be None; they stay None under `index` and `to`. A field declared with
    ``metadata={"shared": True}`` is common to the whole batch (a library the systems index into):
    `index` passes it through unchanged and `to` moves it.
    """

    @property
    def batch_size(self) -> int:
        """B, the leading size of the first field."""
        return int(getattr(self, fields(self)[0].name).shape[0])

    def index(self, idx: torch.Tensor) -> Self:
        """The sub-batch (or gathered batch) selected by a long index tensor."""
        return self._mapped(lambda t: t[idx], shared=lambda t: t)

    def to(self, device: torch.device | str, dtype: torch.dtype) -> Self:
        """The same batch on `device` in `dtype`."""
        move = lambda t: t.to(device, dtype)  # noqa: E731
        return self._mapped(move, shared=move)

    def _mapped(self, fn, shared) -> Self:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = None if value is None else (shared if f.metadata.get("shared") else fn)(value)
        return type(self)(**out)
