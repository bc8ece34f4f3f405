"""Every binomial interval contains its estimate, and FPR thresholds count each distinct negative once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stronglens.selection.deltas import newcombe_interval
from stronglens.selection.realism import recall
from stronglens.selection.recovery import beta_interval, completeness_table, threshold_at_fpr
from stronglens.selection.tables import thresholds

COUNTS = [(k, n) for n in (1, 2, 3, 5, 20, 200) for k in sorted({0, 1, n - 1, n})]


@pytest.mark.parametrize("level", [0.68, 0.95])
@pytest.mark.parametrize("k, n", COUNTS)
def test_jeffreys_intervals_contain_the_estimate_at_the_edges(k, n, level):
    lo, hi = beta_interval(np.array([k]), np.array([n]), level)
    assert lo[0] <= k / n <= hi[0]
    assert (lo[0] == 0.0) == (k == 0) and (hi[0] == 1.0) == (k == n)  # the endpoint convention, and only there


@pytest.mark.parametrize("k, n", COUNTS)
def test_recall_and_completeness_intervals_contain_their_rate(k, n):
    p = np.r_[np.ones(k), np.zeros(n - k)]
    rec = recall(p, 0.5)
    for ci in (rec["ci68"], rec["ci95"]):
        assert ci[0] <= rec["recall"] <= ci[1]
    inj = pd.DataFrame({"cell": 0, "status": "ok", "p": p, "arc_snr": 10.0})
    row = completeness_table(inj, ["cell"], {"p>0.5": 0.5}).iloc[0]
    assert row["lo95"] <= row["completeness"] <= row["hi95"] and row["lo68"] <= row["completeness"] <= row["hi68"]
    delta, lo, hi = newcombe_interval(k, n, n - k, n)
    assert lo <= delta <= hi


def test_an_fpr_threshold_counts_a_host_drawn_many_times_once():
    rng = np.random.default_rng(1)
    distinct = rng.uniform(0, 1, 50)
    repeats = np.repeat(distinct, 20)  # 1,000 draws of 50 hosts, as `hosts: dataset` makes
    ids = np.repeat(np.arange(50), 20)
    naive = threshold_at_fpr(repeats, 0.01)
    honest = threshold_at_fpr(repeats, 0.01, ids)
    assert naive["n_valid"] == 1000 and naive["resolved"]  # looks like 1,000 independent negatives
    assert honest["n_valid"] == 50 and honest["n_scores"] == 1000
    assert not honest["resolved"] and honest["smallest_resolvable_fpr"] == pytest.approx(1 / 50)
    assert honest["threshold"] == pytest.approx(distinct.max())
    assert threshold_at_fpr(repeats, 0.05, ids)["resolved"]


def test_selection_thresholds_read_the_dataset_host_ids():
    rng = np.random.default_rng(2)
    n = 400
    inj = pd.DataFrame({"variant": "baseline", "status": "ok", "cell_id": np.arange(n) % 8, "injection": np.arange(n),
                        "attempt": 0, "host_id": [f"h{i % 40}" for i in range(n)]})
    inj["p_clean"] = inj["host_id"].map({f"h{i}": v for i, v in enumerate(rng.uniform(0, 1, 40))})
    _, records = thresholds(inj, [0.5], [0.01])
    assert records[0]["n_valid"] == 40 and records[0]["n_scores"] == n and not records[0]["resolved"]
    _, records = thresholds(inj.drop(columns="host_id"), [0.5], [0.01])  # synthetic hosts: each attempt is new
    assert records[0]["n_valid"] == n
