"""A dataclass of equally batched tensors: select a sub-batch, move it, count it."""

from __future__ import annotations

from dataclasses import fields
from typing import Self

import torch


class BatchedTensors:
    """Mixin for dataclasses whose fields are tensors sharing a leading batch axis (B, ...).

    Optional fields may be None; they stay None under `index` and `to`.
    """

    @property
    def batch_size(self) -> int:
        """B, the leading size of the first field."""
        return int(getattr(self, fields(self)[0].name).shape[0])

    def index(self, idx: torch.Tensor) -> Self:
        """The sub-batch (or gathered batch) selected by a long index tensor."""
        return self._mapped(lambda t: t[idx])

    def to(self, device: torch.device | str, dtype: torch.dtype) -> Self:
        """The same batch on `device` in `dtype`."""
        return self._mapped(lambda t: t.to(device, dtype))

    def _mapped(self, fn) -> Self:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return type(self)(**{k: None if v is None else fn(v) for k, v in values.items()})
