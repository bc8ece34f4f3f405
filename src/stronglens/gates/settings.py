"""Settings of the shortcut gates, parsed once at the stage boundary (docs/science.md section 7).

`GateSettings` is the science slice of `gates` (its execution keys, batch and
device, reach the stage as flags from the rule's resources);
`DataGateSettings` is `data_gates`; `Threshold` one entry of
`gates.thresholds`, the single source of every gate's thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stronglens.config.settings import SettingsError, Threshold, parse_settings
from stronglens.gates.verdict import DIRECTIONS


def check_gate_names(thresholds: Mapping[str, Threshold], where: str, required: tuple[str, ...] = tuple(DIRECTIONS)) -> None:
    """SettingsError naming an unknown gate, or the first `required` gate without a threshold."""
    for name in thresholds:
        if name not in DIRECTIONS:
            raise SettingsError(f"{where}: unknown gate {name!r} (known: {', '.join(DIRECTIONS)})")
    for name in required:
        if name not in thresholds:
            raise SettingsError(f"{where}: missing key {name!r}")


def parse_thresholds(data: Any, where: str, required: tuple[str, ...] = tuple(DIRECTIONS)) -> Mapping[str, Threshold]:
    """`gates.thresholds` (gate name -> {pass, fail}), or the slice of it naming `required`, checked by name."""
    if not isinstance(data, Mapping):
        raise SettingsError(f"{where}: expected a mapping of gate thresholds")
    thresholds = {str(k): parse_settings(Threshold, v, f"{where}.{k}") for k, v in data.items()}
    check_gate_names(thresholds, where, required)
    return thresholds


@dataclass(frozen=True)
class DataGateSettings:
    """Model-free data gates.

    core_px: side of the central square of core features (pixels); annulus_px:
    (inner, outer) radius of the annulus features (pixels); folds: CV folds,
    grouped by host; max_samples: most images (whole hosts) per gate;
    theta_e_bins: bin edges of the per-bin gates (arcsec).
    """

    core_px: int
    annulus_px: tuple[float, float]
    folds: int
    max_samples: int
    theta_e_bins: tuple[float, ...]


@dataclass(frozen=True)
class GateSettings:
    """Model gates of a run (science keys of `gates`).

    eval_split / val_split: split names; max_eval_samples: most images per
    split; core_radii, masked_radius, reliance_radius: core-mask radii
    (pixels); occlusion_band: occluded annulus in units of theta_E;
    occlusion_psf_pad: widening of that annulus (PSF FWHMs); occlusion_fill:
    ``sky`` or ``zero``; hardneg_ring_px: azimuthal-shuffle ring width
    (pixels); theta_e_bins: bin edges (arcsec); min_positives_per_bin: count;
    low_fprs: false-positive rates; ece_bins: calibration bins; thresholds:
    gate name -> Threshold; training_inputs: also run the data gates on the
    run's training-time inputs (`stronglens.gates.training_inputs`).
    """

    eval_split: str
    val_split: str
    max_eval_samples: int
    core_radii: tuple[float, ...]
    masked_radius: float
    reliance_radius: float
    occlusion_band: tuple[float, float]
    occlusion_psf_pad: float
    occlusion_fill: str
    hardneg_ring_px: float
    theta_e_bins: tuple[float, ...]
    min_positives_per_bin: int
    low_fprs: tuple[float, ...]
    ece_bins: int
    thresholds: Mapping[str, Threshold]
    training_inputs: bool = True

    def __post_init__(self) -> None:
        check_gate_names(self.thresholds, "gates.thresholds")
