"""Shared figure conventions: headless matplotlib, PNG + PDF written atomically, gri colour composites.

Every figure is saved twice from the same Figure object: ``<stem>.png`` (for
the HTML report and the README) and ``<stem>.pdf`` (vector, for papers).
Status colours are fixed so PASS / WARN / FAIL read the same in every figure.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from stronglens.storage.artifacts import atomic_path  # noqa: E402

STATUS_COLOURS = {"PASS": "#2e7d32", "WARN": "#ef8f00", "FAIL": "#c62828", "N/A": "#9e9e9e"}
DPI = 130


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """(fig, axes) with constrained layout; sizes in inches."""
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", squeeze=False, **kwargs)


def save_figure(fig, png: str | Path, pdf: str | Path, dpi: int = DPI) -> None:
    """Write the figure as PNG and PDF (each atomically), then close it."""
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=None if fmt == "png" else {"CreationDate": None})
    plt.close(fig)


def save_figures(figs: dict, out: Mapping[str, Path], dpi: int) -> None:
    """Write each named figure to its declared outputs: ``out[name]`` (PNG) and ``out[name + '_pdf']``."""
    for name, fig in figs.items():
        save_figure(fig, out[name], out[f"{name}_pdf"], dpi)


def no_data(ax, message: str) -> None:
    """Mark an axis whose data are missing or too few, instead of leaving it blank."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.35", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def gri_composite(image: np.ndarray, q: float = 99.5) -> np.ndarray:
    """(3, H, W) g, r, z image -> (H, W, 3) RGB in [0, 1] (z -> red, r -> green, g -> blue).

    Each panel is scaled by an asinh stretch with one common scale (the q-th
    percentile of all bands), so colours stay comparable inside a panel.
    Non-finite pixels are an error, never drawn as black.
    """
    if not np.isfinite(image).all():
        raise ValueError("gri_composite: image has non-finite pixels")
    rgb = np.stack([image[2], image[1], image[0]], axis=-1).astype(np.float64)
    scale = np.percentile(np.abs(rgb), q) or 1.0
    stretched = np.arcsinh(rgb / (0.1 * scale)) / np.arcsinh(10.0)
    return np.clip(stretched, 0.0, 1.0)


def mono_view(image: np.ndarray) -> tuple[np.ndarray, float]:
    """(3, H, W) -> (r-band image, symmetric colour limit at its 99.5th percentile of |x|)."""
    r = image[1]
    lim = float(np.percentile(np.abs(r), 99.5)) or 1.0
    return r, lim


def html_table(df: pd.DataFrame, title: str, note: str = "") -> str:
    """A self-contained HTML page holding one table (for the report's HTML viewer); PASS / WARN / FAIL cells coloured."""

    def cell(value) -> str:
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else (
            f"{value:.4g}" if isinstance(value, float) else str(value))
        style = f' style="color:{STATUS_COLOURS[text]};font-weight:600"' if text in STATUS_COLOURS else ""
        return f"<td{style}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in df.itertuples(index=False))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;font-size:13px;margin:12px}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
            "td:first-child,th:first-child{text-align:left}</style></head><body>"
            f"<h3>{html.escape(title)}</h3><p>{html.escape(note)}</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>\n")


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
