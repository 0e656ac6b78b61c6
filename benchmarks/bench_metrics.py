"""Speed of the Kaggle SNR scorer (:func:`ecgdl.metrics.snr.snr_kaggle`) on synthetic images.

Truth is a random-walk 12-lead signal; predictions are the truth shifted by a random lag within 0.2 s, with an
offset and noise. ``--layout kaggle`` masks short leads to their 3x4 2.5 s window (lead II full), as in the
Kaggle train CSVs; ``--layout full`` keeps all 12 leads full length.

    python benchmarks/bench_metrics.py --images 1000 --samples 5000 --layout full
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ecgdl.constants import LEADS, N_LEADS
from ecgdl.metrics.snr import snr_kaggle

_COLUMN = {
    lead: k // 3
    for k, lead in enumerate(("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"))
}


def make_images(
    n_images: int, n_samples: int, fs_hz: float, layout: str, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    truths, preds = [], []
    max_lag = int(0.2 * fs_hz)
    quarter = n_samples // 4
    for _ in range(n_images):
        truth = np.cumsum(rng.normal(0.0, 0.02, size=(n_samples, N_LEADS)), axis=0)
        lag = int(rng.integers(-max_lag, max_lag + 1))
        pred = np.roll(truth, lag, axis=0) + rng.normal(0.0, 0.01, size=truth.shape) + rng.normal(0.0, 0.1)
        if layout == "kaggle":
            for k, lead in enumerate(LEADS):
                if lead == "II":
                    continue
                col = _COLUMN[lead]
                keep = np.zeros(n_samples, dtype=bool)
                keep[col * quarter : (col + 1) * quarter] = True
                truth[~keep, k] = np.nan
        truths.append(truth)
        preds.append(pred)
    return truths, preds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=5000, help="rows per image (10 s at --fs)")
    parser.add_argument("--fs", type=float, default=500.0)
    parser.add_argument("--layout", choices=("full", "kaggle"), default="full")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    truths, preds = make_images(args.images, args.samples, args.fs, args.layout, rng)
    best = float("inf")
    result = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = snr_kaggle(truths, preds, args.fs)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    print(
        f"snr_kaggle: {args.images} images x 12 leads x {args.samples} samples ({args.layout} layout, "
        f"fs={args.fs:g} Hz, L={int(0.2 * args.fs)})"
    )
    print(
        f"total {best:.3f} s (best of {args.repeats}), {args.images / best:.0f} images/s, score {result.snr_db:.2f} dB"
    )


if __name__ == "__main__":
    main()
