"""Settings of the figures (`figures` block), parsed once at the stage boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureSettings:
    """selection_threshold: ``p>T`` or ``fpr<=F`` of the completeness figures;
    gallery_examples: rows of each gallery; dpi: PNG resolution (dots per inch)."""

    selection_threshold: str
    gallery_examples: int
    dpi: int
