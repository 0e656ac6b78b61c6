"""The one interface every digitizer (classical or learned) implements: image in, 12-lead record in mV out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ecgdl.signals.record import EcgRecord


class DigitizationError(RuntimeError):
    """A digitizer could not read an image; the message says which stage failed and why."""


@runtime_checkable
class Digitizer(Protocol):
    """Reads a paper-ECG picture and returns the 12-lead signal.

    ``image_rgb`` is H x W x 3 uint8 RGB. The result has ``n_samples`` rows at ``fs_hz`` covering the 10 s of the
    recording, values in mV at their true time positions and NaN where a lead is not printed. Diagnostics (detected
    layout, px_per_mm, gain, ...) go in ``record.meta``. Raise :class:`DigitizationError` on failure.
    """

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord: ...
