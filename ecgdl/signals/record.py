"""The 12-lead record type shared by readers, the generator, the renderer and every digitizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgdl.constants import LEADS, N_LEADS


@dataclass
class EcgRecord:
    """A 12-lead recording in millivolts.

    ``signal_mv`` has shape (T, 12) in :data:`ecgdl.constants.LEADS` order; NaN marks samples that are
    absent (Kaggle CSV semantics: a short lead is NaN outside the window where it was printed).
    """

    signal_mv: np.ndarray
    fs_hz: float
    record_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.signal_mv = np.asarray(self.signal_mv, dtype=np.float64)
        if self.signal_mv.ndim != 2 or self.signal_mv.shape[1] != N_LEADS:
            raise ValueError(
                f"record {self.record_id!r}: signal_mv must have shape (T, {N_LEADS}), got {self.signal_mv.shape}"
            )
        if not self.fs_hz or self.fs_hz <= 0:
            raise ValueError(f"record {self.record_id!r}: fs_hz must be positive, got {self.fs_hz}")

    @property
    def n_samples(self) -> int:
        return int(self.signal_mv.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / float(self.fs_hz)

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples, shape (T,)."""
        return self.signal_mv[:, LEADS.index(name)]
