"""Degradation speed: milliseconds per page for every preset at 2200 x 1700 (200 dpi, US letter) on one core.

    python benchmarks/bench_aug.py [--n 20] [--presets photo scan] [--per-step] [--threads 1]

One page is rendered beforehand; each call uses a fresh seed, so a step with probability p runs in about p of the
calls (the numbers are averages over what the preset really does). Wall time and process CPU time are both shown:
on a shared machine the CPU time is the better estimate of one free core. ``--per-step`` also times every step of each
preset on its own, forced to run (p = 1). Ground truth is carried along, as in training.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import albumentations as A
import cv2
import numpy as np

from ecgdl.aug import PRESETS, Degradation, load_preset
from ecgdl.render import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg


def _steps(steps: list[dict]) -> list[dict]:
    out = []
    for step in steps:
        out += _steps(step["transforms"]) if "transforms" in step else [step]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="calls per preset")
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    parser.add_argument("--dpi", type=float, default=200.0)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads")
    parser.add_argument("--per-step", action="store_true", help="also time each step alone (p = 1)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    record = generate_ecg(np.random.default_rng(0))
    image, truth = render_ecg(record, RenderConfig(dpi=args.dpi), np.random.default_rng(0))
    h, w = image.shape[:2]
    print(
        f"{'preset':<9} {'wall ms':>8} {'median':>8} {'p90':>8} {'cpu ms':>8}"
        f"   ({w} x {h}, {args.threads} thread(s), n={args.n})"
    )
    for name in args.presets:
        aug = load_preset(name)
        aug(image, truth, np.random.default_rng(12345))  # warm caches (noise bank, lazy imports)
        times, cpu = [], []
        for seed in range(args.n):
            t0, c0 = time.perf_counter(), time.process_time()
            aug(image, truth, np.random.default_rng(seed))
            times.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
        t = np.array(times)
        print(
            f"{name:<9} {t.mean():8.1f} {np.median(t):8.1f} {np.percentile(t, 90):8.1f} {np.mean(cpu):8.1f}"
        )
        if args.per_step and isinstance(aug, Degradation):
            for step in _steps(aug.steps):
                single = Degradation(step["name"], [{**step, "p": 1.0}])
                single(image, truth, np.random.default_rng(0))
                reps = max(3, args.n // 4)
                t0, c0 = time.perf_counter(), time.process_time()
                for seed in range(reps):
                    single(image, truth, np.random.default_rng(seed))
                dt, dc = (1000 * (time.perf_counter() - t0) / reps, 1000 * (time.process_time() - c0) / reps)
                print(f"    {step['name']:<26} {dt:8.1f} {'':>8} {'':>8} {dc:8.1f}")
    print(f"(albumentations {A.__version__}, OpenCV {cv2.__version__})")


if __name__ == "__main__":
    main()
