"""Progress lines of long work: whole lines in a log, with count, rate and ETA, at a set interval."""

from __future__ import annotations

import io
import time

import pytest

from stronglens.core.progress import ENV_SECONDS, chunked, interval_seconds, progress


def test_a_log_gets_whole_lines_with_count_rate_and_eta(monkeypatch):
    monkeypatch.setenv(ENV_SECONDS, "0")
    log = io.StringIO()  # not a terminal, like a Snakemake job's log
    for _ in progress(range(5), total=5, desc="epoch 3", unit="batch", stream=log):
        time.sleep(0.01)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) >= 2
    last = lines[-1]
    assert last.startswith("epoch 3: 100%") and "5/5" in last and "batch/s" in last
    assert any("<" in line for line in lines)  # elapsed<remaining: the ETA


def test_a_bar_without_an_iterable_counts_what_it_is_told(monkeypatch):
    monkeypatch.setenv(ENV_SECONDS, "0")
    log = io.StringIO()
    with progress(total=250, desc="synth", unit="pair", stream=log) as bar:
        for rows in chunked(range(0, 250), 100):
            bar.update(len(rows))
    assert "250/250" in log.getvalue().splitlines()[-1] and "pair/s" in log.getvalue()


def test_the_interval_is_30_s_in_a_log_unless_set(monkeypatch):
    monkeypatch.delenv(ENV_SECONDS, raising=False)
    assert interval_seconds(tty=False) == 30.0 and interval_seconds(tty=True) == 0.5
    log = io.StringIO()
    list(progress(range(1000), total=1000, desc="quiet", unit="x", stream=log))
    assert len(log.getvalue().splitlines()) <= 2  # the first and the final line, nothing between
    monkeypatch.setenv(ENV_SECONDS, "soon")
    with pytest.raises(ValueError, match="STRONGLENS_PROGRESS_SECONDS='soon' is not a number"):
        interval_seconds(tty=False)


def test_chunked_covers_the_range_once():
    parts = chunked(range(5, 27), 10)
    assert [(r.start, r.stop) for r in parts] == [(5, 15), (15, 25), (25, 27)]
    with pytest.raises(ValueError, match="chunk size 0"):
        chunked(range(3), 0)


def test_map_chunks_runs_every_chunk_in_order_and_counts_rows(monkeypatch):
    from stronglens.core.progress import map_chunks

    monkeypatch.setenv(ENV_SECONDS, "0")
    seen = []
    out = map_chunks(range(3, 28), 10, lambda r: seen.append((r.start, r.stop)) or len(r), desc="sim", unit="pair")
    assert out == [10, 10, 5] and seen == [(3, 13), (13, 23), (23, 28)]
