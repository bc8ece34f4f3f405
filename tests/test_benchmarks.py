"""The benchmark scripts still import and parse their arguments (they are not run here: speed is
measured by running them, never asserted in a test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_is_found():
    assert {p.stem for p in BENCHMARKS} >= {"bench_injection", "bench_preprocess", "bench_selection", "bench_train"}


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_imports_and_shows_its_usage(script: Path):
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("usage:")
