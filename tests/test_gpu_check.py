"""benchmarks/gpu_check.sh runs end to end on a CPU with tiny sizes and prints its full summary table.

No GPU is lent to these sessions: this is the only run the script gets here. It checks that every
step runs and hands its figure to the summary (one row per check, each a finite number), not the
figures themselves: speed is never asserted in a test, and the goals fail on a CPU by design.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = ["engine eager", "engine compiled", "train ResNet (bottlenecked), real loader", "train ResNet, real / in memory",
        "train EfficientNetV2-S, real loader", "train EfficientNetV2-S, real / in memory",
        "selection, full grid from one shard", "workflow: lambda-profile train job"]


def summary_rows(stdout: str) -> dict[str, list[str]]:
    """check name -> [figure, unit, goal, status] from the table after 'GPU check summary'."""
    table = stdout.split("GPU check summary", 1)[1].splitlines()[2:]
    rows = {}
    for line in table:
        if not line.strip() or line.startswith(("failed steps", "logs and")):
            break
        name, fields = line[:40].rstrip(), line[40:].split()
        rows[name] = [fields[0], fields[1], " ".join(fields[2:-1]), fields[-1]]
    return rows


def test_gpu_check_tiny_on_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    out = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--tiny"],
                         capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "device cpu, tiny sizes" in out.stdout
    rows = summary_rows(out.stdout)
    assert [n for n in rows if not n.startswith("engine")] == ROWS[2:]
    assert sum(n.startswith("engine eager") for n in rows) == 1 and sum(n.startswith("engine compiled") for n in rows) == 1
    for name, (figure, _unit, _goal, status) in rows.items():
        assert math.isfinite(float(figure)) and float(figure) > 0, (name, figure)
        assert status in {"PASS", "FAIL", "info"}, (name, status)
    assert rows["workflow: lambda-profile train job"][3] == "PASS"  # the job ran, on the requested device
    assert not list(tmp_path.glob("gpu_check.*"))  # the scratch folder is removed (no --keep)
