"""What the output writers (:mod:`ecgdl.signals.writers`, :mod:`ecgdl.signals.dicom`) share: checks of a
reading's shape and rate, atomic file writes that never overwrite unasked, and the unprinted stretches of a lead."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgdl.constants import N_LEADS

INT16_MAX = 32767
UV_PER_MV = 1000.0
#: EDF records last a whole number of seconds; the shortest that holds a whole number of samples, at most this.
EDF_MAX_RECORD_S = 60
#: EDF physical ranges are whole multiples of this many mV.
EDF_RANGE_STEP_MV = 0.5
NOT_PRINTED = "not printed"


def checked_signal(signal_mv: np.ndarray, fs_hz: float, where: str) -> np.ndarray:
    sig = np.asarray(signal_mv, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[1] != N_LEADS or sig.shape[0] < 1:
        raise ValueError(f"{where}: signal_mv must have shape (T, {N_LEADS}) with T >= 1, got {sig.shape}")
    if np.isinf(sig).any():
        raise ValueError(f"{where}: signal_mv contains inf")
    if not (isinstance(fs_hz, int | float | np.integer | np.floating) and math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"{where}: fs_hz must be a positive number, got {fs_hz!r}")
    return sig


def check_free(paths: Sequence[Path], overwrite: bool) -> None:
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path}: already exists; pass overwrite=True to replace it")


@contextlib.contextmanager
def atomic_file(path: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary path next to ``path``; moved onto ``path`` when the block ends without an error, else removed."""
    check_free([path], overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        check_free([path], overwrite)  # something may have appeared while we wrote
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def nan_runs(column: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) sample ranges where ``column`` is NaN."""
    missing = np.concatenate(([False], np.isnan(column), [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(missing))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become numbers and lists, NaN and inf become None,
    paths and other objects their text, dataclasses dicts, mapping keys text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return str(value)


def meta_lines(meta: Mapping[str, Any] | None) -> list[str]:
    """``key: value`` lines for the scalar entries of ``meta`` (for free-text header fields)."""
    lines = []
    for key, value in (meta or {}).items():
        plain = to_jsonable(value)
        if plain is None or isinstance(plain, bool | int | float | str):
            text = re.sub(r"\s+", " ", f"{key}: {plain}").strip()
            lines.append(text[:200])
    return lines
