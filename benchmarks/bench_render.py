"""Render speed: pages per second at 2200 x 1700 (200 dpi, US letter) on one core, per layout.

    python benchmarks/bench_render.py [--n 50] [--fs 500]

Records are generated once beforehand, so only drawing (grid copy, traces, text, truth) is timed.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

from ecgdl.render import LAYOUTS, RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50, help="pages per layout")
    parser.add_argument("--fs", type=float, default=500.0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    records = [generate_ecg(rng, args.fs) for _ in range(args.n)]
    print(f"{'layout':<8} {'pages/s':>8} {'ms/page':>8}   (2200 x 1700, one core, fs={args.fs:g} Hz)")
    for layout in LAYOUTS:
        config = RenderConfig(layout=layout, pulse="start")
        render_ecg(records[0], config, rng)  # warm the grid cache
        t0 = time.perf_counter()
        for rec in records:
            image, _ = render_ecg(rec, config, rng)
        dt = (time.perf_counter() - t0) / len(records)
        assert image.shape == (1700, 2200, 3)
        print(f"{layout:<8} {1 / dt:8.1f} {1000 * dt:8.1f}")


if __name__ == "__main__":
    main()
