"""Provenance attached to every result: config slice + SHA-256, code version, packages."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("stronglens", "numpy", "pandas", "pyarrow", "torch", "scipy", "astropy", "astropy-healpix", "snakemake")


def canonical_json(obj) -> str:
    """Key-sorted, compact JSON: the form that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def config_sha256(obj) -> str:
    """SHA-256 of the canonical JSON of a config slice."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def git_commit(repo: Path | None = None) -> str:
    """HEAD commit of the repository holding the library, '+dirty' if modified; 'unknown' outside git."""
    repo = repo or Path(__file__).resolve().parents[3]
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()

        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(config_slice, code_hash: str | None = None) -> dict:
    """The provenance record stored beside a result."""
    return {
        "config": config_slice,
        "config_sha256": config_sha256(config_slice),
        "code_hash": code_hash,
        "git_commit": git_commit(),
        "packages": package_versions(),
    }
