"""Batch plumbing shared by predict and evaluate: shards of a job (:mod:`ecgdl.data.shards`), a per-page time
limit, a page-worker pool, atomic table writes and a journal of report rows."""

from __future__ import annotations

import json
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from ecgdl.data.shards import shard_items, shard_suffix
from ecgdl.signals.filekit import atomic_file

__all__ = [
    "PageTimeout",
    "RowJournal",
    "map_pages",
    "shard_items",
    "shard_suffix",
    "time_limit",
    "write_table_atomic",
]

T = TypeVar("T")
R = TypeVar("R")


class PageTimeout(TimeoutError):
    """A page took longer than the job's per-page time limit."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`PageTimeout` in the block after ``seconds`` of wall time (None or <= 0: no limit).

    SIGALRM interrupts Python code between bytecodes (a single long C call finishes first), which is what a
    pathological page stuck in a tracing loop needs. Signals reach only the main thread of a POSIX process, so
    elsewhere (Windows, worker threads) the block runs without a limit.
    """
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _expired(signum, frame):
        raise PageTimeout(f"took longer than the per-page limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


# One worker process's state: the page function built once by the initializer (a digitizer is too heavy to
# send with every page).
_WORKER_FN: Callable[[Any], Any] | None = None


def _init_worker(factory: Callable[..., Callable[[Any], Any]], args: tuple) -> None:
    global _WORKER_FN
    import torch  # each worker gets one thread: the pool is the parallelism

    torch.set_num_threads(1)
    _WORKER_FN = factory(*args)


def _call_worker(item: Any) -> Any:
    assert _WORKER_FN is not None, "worker not initialised"
    return _WORKER_FN(item)


def map_pages(
    factory: Callable[..., Callable[[T], R]],
    factory_args: tuple,
    items: Iterable[T],
    workers: int = 1,
) -> Iterator[R]:
    """``fn(item)`` for each item, in order, where ``fn = factory(*factory_args)``; with ``workers > 1`` in that
    many spawned processes, each building its own ``fn`` once (``factory`` and its arguments must pickle).

    ``fn`` should catch its own errors and return them as results, so one bad page never stops the batch.
    """
    if workers <= 1:
        fn = factory(*factory_args)
        for item in items:
            yield fn(item)
        return
    ctx = multiprocessing.get_context("spawn")  # fork after torch / OpenMP threads started can deadlock
    with ctx.Pool(workers, initializer=_init_worker, initargs=(factory, factory_args)) as pool:
        yield from pool.imap(_call_worker, items, chunksize=1)


def write_table_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """``frame.to_csv(path)`` through a temporary file in the same folder (:func:`ecgdl.signals.filekit.atomic_file`),
    so a killed job never leaves a half-written table (the old one stays until the new one is complete)."""
    path = Path(path)
    with atomic_file(path, overwrite=True) as tmp:
        frame.to_csv(tmp, index=False)
    return path


class RowJournal:
    """An append-only file of a batch's report rows, one JSON line per finished page, so a job killed at any
    moment (even by SIGKILL) keeps the rows of every page it wrote: the next run reads them back and writes the
    full report. A torn last line (the kill came mid-write) is ignored; that page's outputs are then redone or
    found complete."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
            fh.flush()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
