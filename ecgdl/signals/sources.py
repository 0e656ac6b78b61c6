"""Signal sources behind one interface (``len`` + ``get(index, rng)``): synthetic, PTB-XL and Kaggle truth signals.

Datasets draw 12-lead records from a :class:`SignalSource` without knowing where they come from; Hydra configs in
``conf/signals/`` instantiate these classes directly (plain constructor arguments) or go through
:func:`build_source`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ecgdl.signals.io import KaggleLayout, PtbXlIndex, resample_record
from ecgdl.signals.record import EcgRecord
from ecgdl.signals.synthetic import SyntheticECGConfig, config_from_kwargs, generate_ecg


@runtime_checkable
class SignalSource(Protocol):
    """A finite, indexable collection of 12-lead records; ``rng`` feeds any randomness of ``get``."""

    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> EcgRecord: ...


def _check_index(index: int, n: int, name: str) -> int:
    i = int(index)
    if not 0 <= i < n:
        raise IndexError(f"{name}: index {index} out of range 0..{n - 1}")
    return i


class SyntheticSource:
    """``num_records`` synthetic records; record ``index`` is whatever ``generate_ecg`` draws from ``rng``.

    ``fs_hz`` is one rate or a list to draw from (uniformly, with ``rng``). The generator configuration is
    ``config`` (or the defaults) with any :class:`SyntheticECGConfig` field given as a keyword replaced.
    """

    def __init__(
        self,
        num_records: int = 1000,
        fs_hz: float | Sequence[float] = 500,
        duration_s: float = 10.0,
        config: SyntheticECGConfig | None = None,
        **config_overrides: Any,
    ) -> None:
        if int(num_records) < 1:
            raise ValueError(f"SyntheticSource: num_records must be >= 1, got {num_records}")
        self.num_records = int(num_records)
        rates = [fs_hz] if isinstance(fs_hz, int | float) else list(fs_hz)
        if not rates or any(float(f) <= 0 for f in rates):
            raise ValueError(
                f"SyntheticSource: fs_hz must be a positive rate or a non-empty list of them, got {fs_hz}"
            )
        self.fs_choices = [float(f) for f in rates]
        if float(duration_s) <= 0:
            raise ValueError(f"SyntheticSource: duration_s must be positive, got {duration_s}")
        self.duration_s = float(duration_s)
        self.config = config_from_kwargs(config, **config_overrides)

    def __len__(self) -> int:
        return self.num_records

    def get(self, index: int, rng: np.random.Generator) -> EcgRecord:
        i = _check_index(index, self.num_records, "SyntheticSource")
        if len(self.fs_choices) == 1:
            fs = self.fs_choices[0]
        else:
            fs = self.fs_choices[int(rng.integers(len(self.fs_choices)))]
        return generate_ecg(rng, fs, self.duration_s, self.config, record_id=f"synthetic-{i}")


class PtbXlSource:
    """PTB-XL records under ``root`` (see :class:`~ecgdl.signals.io.PtbXlIndex`), resampled to ``fs_hz`` if given."""

    def __init__(self, root: str, fs_hz: float | None = None, max_records: int | None = None) -> None:
        self.index = PtbXlIndex(root)
        if fs_hz is not None and float(fs_hz) <= 0:
            raise ValueError(f"PtbXlSource: fs_hz must be positive, got {fs_hz}")
        self.fs_hz = None if fs_hz is None else float(fs_hz)
        if max_records is not None and int(max_records) < 1:
            raise ValueError(f"PtbXlSource: max_records must be >= 1, got {max_records}")
        n = len(self.index)
        self.n_records = n if max_records is None else min(n, int(max_records))

    def __len__(self) -> int:
        return self.n_records

    def get(self, index: int, rng: np.random.Generator) -> EcgRecord:
        i = _check_index(index, self.n_records, f"PtbXlSource({self.index.root})")
        record = self.index.read(i)
        if self.fs_hz is not None and self.fs_hz != record.fs_hz:
            record = resample_record(record, self.fs_hz)
        return record


class KaggleSource:
    """Truth signals of a Kaggle train layout under ``root``: lead II full length, short leads NaN outside their window."""

    def __init__(self, root: str) -> None:
        self.layout = KaggleLayout(root)
        self._index = self.layout.read_index()

    def __len__(self) -> int:
        return len(self._index)

    def get(self, index: int, rng: np.random.Generator) -> EcgRecord:
        i = _check_index(index, len(self._index), f"KaggleSource({self.layout.root})")
        row = self._index.iloc[i]
        return self.layout.read_signal(str(row["id"]), float(row["fs"]), int(row["sig_len"]))


_SOURCES: dict[str, Callable[..., SignalSource]] = {
    "synthetic": SyntheticSource,
    "ptbxl": PtbXlSource,
    "kaggle": KaggleSource,
}


def build_source(name: str, **kwargs: Any) -> SignalSource:
    """A source by registry name ('synthetic', 'ptbxl', 'kaggle'); ``None`` kwargs mean the library default."""
    if name not in _SOURCES:
        raise KeyError(f"unknown signal source {name!r}; valid: {sorted(_SOURCES)}")
    clean = {k: (str(v) if isinstance(v, Path) else v) for k, v in kwargs.items() if v is not None}
    return _SOURCES[name](**clean)
