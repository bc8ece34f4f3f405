"""Deterministic random generators keyed by (config seed, stage, index).

Every random draw in the library comes from a generator made here, never from
a global RNG, so any shard or row regenerates alone and reruns give identical
bytes. Stage names are hashed to a stable 32-bit integer.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stage_key(stage: str) -> int:
    """Stable 32-bit integer for a stage name."""
    return int.from_bytes(hashlib.sha256(stage.encode()).digest()[:4], "little")


def generator(seed: int, stage: str, *index: int) -> np.random.Generator:
    """A numpy Generator seeded by (seed, stage, *index)."""
    return np.random.default_rng([int(seed), stage_key(stage), *(int(i) for i in index)])


def unit_hash(seed: int, key: str) -> float:
    """Deterministic uniform number in [0, 1) for a string key (e.g. a brick name)."""
    digest = hashlib.sha256(f"{int(seed)}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64
