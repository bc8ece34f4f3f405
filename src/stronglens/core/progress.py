"""Progress of long work (training epochs, selection shards, the survey simulation) with rate and ETA.

`progress(iterable, ...)` is a tqdm bar on stderr. In a terminal it redraws
in place; in a job's log (stderr not a terminal, as under Snakemake) it
writes one plain line at most every ``STRONGLENS_PROGRESS_SECONDS`` seconds
(default 30), so ``tail -f results/logs/<rule>/<job>.log`` shows how far a
job is, how fast it goes and when it should end, without filling the log.
Snakemake's own "x of y steps done" stays the top level.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
ENV_SECONDS = "STRONGLENS_PROGRESS_SECONDS"
LOG_SECONDS = 30.0  # a line every 30 s in a log
TTY_SECONDS = 0.5


class LineStream:
    """A stream for tqdm that turns its carriage-return redraws into whole lines (a log holds no '\\r')."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def interval_seconds(tty: bool) -> float:
    """Seconds between two progress lines: ``STRONGLENS_PROGRESS_SECONDS``, else 0.5 s in a terminal, 30 s in a log."""
    value = os.environ.get(ENV_SECONDS)
    if value is None:
        return TTY_SECONDS if tty else LOG_SECONDS
    try:
        seconds = float(value)
    except ValueError as err:
        raise ValueError(f"{ENV_SECONDS}={value!r} is not a number of seconds") from err
    if seconds < 0:
        raise ValueError(f"{ENV_SECONDS}={value!r} must be >= 0")
    return seconds


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str, unit: str,
             stream: IO[str] | None = None) -> tqdm:
    """A tqdm progress bar (count, rate in `unit`/s, elapsed and ETA) on `stream` (stderr) over `iterable`, or,
    without one, a bar of `total` units advanced by ``bar.update(n)`` (close it, or use it as a context)."""
    stream = sys.stderr if stream is None else stream
    tty = bool(getattr(stream, "isatty", lambda: False)())
    seconds = interval_seconds(tty)
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream if tty else LineStream(stream),
                mininterval=seconds, maxinterval=max(seconds, 10.0), ascii=not tty, dynamic_ncols=tty,
                ncols=None if tty else 100, smoothing=0.3)


def chunked(rows: range, size: int) -> list[range]:
    """`rows` cut into consecutive ranges of at most `size` (the last one shorter)."""
    if size < 1:
        raise ValueError(f"chunk size {size} must be >= 1")
    return [range(start, min(start + size, rows.stop)) for start in range(rows.start, rows.stop, size)]


def map_chunks(rows: range, size: int, work: Callable[[range], T], *, desc: str, unit: str) -> list[T]:
    """`work(chunk)` for every `chunked(rows, size)` in order, with a progress bar counting rows in `unit`."""
    results = []
    with progress(total=len(rows), desc=desc, unit=unit) as bar:
        for chunk in chunked(rows, size):
            results.append(work(chunk))
            bar.update(len(chunk))
    return results
