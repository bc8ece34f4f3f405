"""What both trees share: the record of a visited node, and reading a figure that may be missing.

A node record is ``{"node", "question", "measured": {name: value}, "threshold": {name: text}, "answer"}``
with answer ``yes``, ``no``, ``cannot decide`` (then ``missing`` lists what was absent) or ``manual``.
Readers never guess: a run without a report, a gate reported N/A, a field that is not in a file, each
becomes one line of `Missing`, and a node with anything missing answers ``cannot decide``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

YES, NO, CANNOT, MANUAL = "yes", "no", "cannot decide", "manual"
CANNOT_DECIDE = "CANNOT_DECIDE"


class Missing(list):
    """The missing inputs met while reading a node's figures (one plain line each, no duplicates)."""

    def add(self, line: str) -> None:
        """Record one missing input."""
        if line not in self:
            self.append(line)


def node(name: str, question: str, measured: Mapping[str, Any], threshold: Mapping[str, str], answer: str,
         missing: list[str] | None = None, **extra: Any) -> dict:
    """One visited node; `missing` is recorded (and the answer forced to `cannot decide`) when non-empty."""
    out = {"node": name, "question": question, "measured": dict(measured), "threshold": dict(threshold),
           "answer": CANNOT if missing else answer}
    if missing:
        out["missing"] = list(missing)
    out.update(extra)
    return out


def finite(value: Any) -> float | None:
    """`value` as a float when it is a finite number, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def gate_value(reports: Mapping[str, dict], run: str, gate: str, missing: Missing) -> float | None:
    """The value of gate `gate` in run `run`'s gates report (None, with a `missing` line, when absent or N/A)."""
    report = reports.get(run)
    if report is None:
        missing.add(f"run {run}: no gates report (results/gates/{run}.json)")
        return None
    record = report.get("gates", {}).get(gate)
    if record is None:
        missing.add(f"run {run}: gate {gate} is not in its gates report")
        return None
    value = finite(record.get("value"))
    if record.get("status") == "N/A" or value is None:
        note = record.get("note") or record.get("reason")
        missing.add(f"run {run}: gate {gate} is N/A" + (f" ({note})" if note else ""))
        return None
    return value


def verdict_of(reports: Mapping[str, dict], run: str, missing: Missing) -> str | None:
    """The overall verdict (PASS / MARGINAL / FAIL) of a run's gates report, or None with a `missing` line."""
    report = reports.get(run)
    if report is None:
        missing.add(f"run {run}: no gates report (results/gates/{run}.json)")
        return None
    verdict = report.get("verdict", {}).get("verdict") if isinstance(report.get("verdict"), Mapping) else None
    if verdict is None:
        missing.add(f"run {run}: no verdict.verdict in its gates report")
    return verdict


def fmt(value: float) -> str:
    """A threshold as written in a node (no trailing zeros)."""
    return f"{value:g}"
