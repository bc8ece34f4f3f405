"""Foundations every stage shares: survey constants (bands, pixel scale, zeropoint), keyed random
generators (seed, stage, index) and provenance records (config SHA-256, code hash, git commit, versions)."""
