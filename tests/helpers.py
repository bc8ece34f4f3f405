"""Test helpers shared by several test files: import them from here, never from a sibling test file."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from stronglens.data.interventions import radius_pix

REPO = Path(__file__).resolve().parents[1]


SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


TRAINING_SCHEMA = REPO / "workflow" / "schemas" / "training.schema.yaml"


def validated(config: dict) -> dict:
    """Validate a config as the Snakefile does (filling defaults); resolved runs go under "resolved_runs"."""
    from snakemake.utils import validate

    from stronglens.config.validation import check_config, resolve_runs

    config = copy.deepcopy(config)
    validate(config, str(SCHEMA))
    check_config(config)
    config["resolved_runs"] = resolve_runs(config, lambda train: validate(train, str(TRAINING_SCHEMA)))
    return config


SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run Snakemake with this interpreter's bin folder first on PATH (jobs call `python`)."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, env=env)


def scratch_workflow(wd: Path) -> Path:
    """A copy of the workflow files in `wd` (the library linked, results empty)."""
    wd.mkdir(parents=True, exist_ok=True)
    for item in ("Snakefile", "workflow", "config", "profiles", "Makefile"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, wd / item)
    (wd / "src").symlink_to(REPO / "src")
    return wd


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table ({} when Snakemake has nothing to do)."""
    if "Job stats:" not in output:
        assert "Nothing to be done" in output, output[-3000:]
        return {}
    lines = output.split("Job stats:", 1)[1].splitlines()
    counts = {}
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def dry_run_with(workdir: Path, tmp_path: Path, change) -> dict[str, int]:
    cfg = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    change(cfg)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(workdir, "--configfile", str(path), "-n", "all")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return job_counts(proc.stdout + proc.stderr)


def arc_image(rng: np.random.Generator, theta_px: float = 6.0, size: int = 24) -> np.ndarray:
    """A (3, size, size) partial ring of radius theta_px on one side of the centre: an arc."""
    r = radius_pix((size, size))
    yy, xx = np.indices((size, size)) - size // 2
    angle = np.arctan2(yy, xx)
    phase = rng.uniform(-np.pi, np.pi)
    ring = np.exp(-0.5 * ((r - theta_px) / 1.0) ** 2) * (np.cos(angle - phase) > 0.5)
    return np.stack([ring * f for f in (0.6, 1.0, 1.2)]).astype(np.float32) * 4.0


def write_pair_folder(folder: Path, n_pairs: dict[str, int], seed: int = 0, size: int = 24, core: float = 0.0,
                      theta_px: float = 6.0, theta_spread: bool = False) -> Path:
    """A preprocessed-like paired folder per split: ctrl = host + noise, stamp = ctrl + arc (+ a planted core bump
    of amplitude `core` on the positives: the core shortcut). theta_e_arcsec is 1.5, or spread over 0.6-2.8"
    across the pairs (the gate bins) with `theta_spread`."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    r = radius_pix((size, size))
    bump = np.exp(-0.5 * (r / 1.5) ** 2)[None]
    for split, n in n_pairs.items():
        images, rows = [], []
        for i in range(n):
            host = 5.0 * np.exp(-0.5 * (r / 2.5) ** 2)
            ctrl = (host[None] + rng.standard_normal((3, size, size))).astype(np.float32)
            stamp = ctrl + arc_image(rng, theta_px, size) + core * bump
            theta = 0.6 + 2.2 * i / max(n - 1, 1) if theta_spread else 1.5
            for label, img in ((1, stamp), (0, ctrl)):
                images.append(img.astype(np.float32))
                rows.append({"pair_id": f"{split}-{i}", "host_id": f"{split}-h{i}", "label": label,
                             "sample_weight": 1.0, "sample_id": f"{split}-{i}:{label}", "theta_e_arcsec": theta,
                             "psfsize_r": 1.2})
        np.save(folder / f"{split}.npy", np.stack(images))
        pd.DataFrame(rows).to_parquet(folder / f"{split}.index.parquet")
    return folder


def default_config() -> dict:
    """The schema's defaults around one tiny synthetic dataset (validated as the Snakefile does)."""
    return validated({"datasets": {"d": {"source": "synthetic", "n_pairs": 4}}})


def gate_settings():
    """The default `gates` block as the gates stage parses it (science keys only)."""
    from stronglens.config.settings import parse_settings
    from stronglens.config.validation import GATES_EXECUTION_KEYS, without
    from stronglens.gates.settings import GateSettings

    return parse_settings(GateSettings, without(default_config()["gates"], GATES_EXECUTION_KEYS), "gates")


def gate_thresholds():
    """The default `gates.thresholds`, parsed."""
    return gate_settings().thresholds
