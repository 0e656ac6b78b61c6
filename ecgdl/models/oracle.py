"""Oracle digitizer: returns the ground truth (optionally plus white noise of known power).

It tests the evaluation pipeline end to end: the exact oracle must score the metric's cap, and the noisy oracle
the SNR that follows analytically from the noise power. It needs the truth, so evaluate.py hands it over.
"""

from __future__ import annotations

import zlib

import numpy as np

from ecgdl.digitizer import DigitizationError
from ecgdl.signals.record import EcgRecord


class OracleDigitizer:
    """``digitize(image, fs_hz, n_samples, truth=...)`` -> the truth + N(0, noise_mv^2) on every printed sample."""

    needs_truth = True

    def __init__(self, noise_mv: float = 0.0, seed: int = 0) -> None:
        if noise_mv < 0:
            raise ValueError(f"noise_mv must be >= 0, got {noise_mv}")
        self.noise_mv = float(noise_mv)
        self.seed = int(seed)

    def digitize(
        self, image_rgb: np.ndarray, fs_hz: float, n_samples: int, truth: EcgRecord | None = None
    ) -> EcgRecord:
        if truth is None:
            raise DigitizationError(
                "the oracle digitizer needs the ground truth (it only tests the pipeline)"
            )
        if truth.n_samples != n_samples:
            raise DigitizationError(f"truth has {truth.n_samples} samples, {n_samples} requested")
        sig = truth.signal_mv.copy()
        if self.noise_mv > 0:
            rng = np.random.default_rng([self.seed, zlib.crc32(truth.record_id.encode())])
            sig += rng.normal(0.0, self.noise_mv, sig.shape)  # NaN stays NaN where not printed
        return EcgRecord(sig, fs_hz, truth.record_id, {"model": "oracle", "noise_mv": self.noise_mv})
