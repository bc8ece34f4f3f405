"""Selection grid presets (stdlib only: the Snakefile reads them)."""

from __future__ import annotations

# [low, high, step] per axis (theta_E arcsec, PSF FWHM arcsec, r-band 5-sigma depth mag) and injections per cell.
PRESETS = {
    "small": {"theta_e": [0.75, 2.75, 0.5], "psf_fwhm": [1.0, 1.6, 0.3], "depth": [24.0, 25.0, 1.0], "n_per_cell": 20},
    "full": {"theta_e": [0.5, 3.0, 0.25], "psf_fwhm": [0.9, 1.8, 0.15], "depth": [24.0, 25.5, 0.5], "n_per_cell": 200},
}


def resolved_grid(selection: dict) -> dict:
    """The grid a selection block uses: its preset's, or its own `grid` when preset is custom."""
    if selection["preset"] == "custom":
        return selection["grid"]
    return PRESETS[selection["preset"]]
