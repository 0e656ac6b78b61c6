"""Inference speed of the digitizers on 2200 x 1700 pages: seconds per image, on the CPU.

    python benchmarks/bench_predict.py [--models classical cnn] [--threads 2] [--root ../shared/data/dev_eik_clean]
    python benchmarks/bench_predict.py --aug photo     # the same pages degraded by a preset (ecgdl/aug/presets/<name>.yaml)

Uses the Kaggle-layout images under --root (default: the development renders) or, if absent, freshly rendered
synthetic pages; ``--aug`` degrades each (seeded), e.g. ``photo``, whose perspective pages take the grid
refinement path. The learned models use their shipped weights (ecgdl/assets/<model>.pt).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ecgdl.aug.degradation import load_preset
from ecgdl.classical import ClassicalDigitizer
from ecgdl.data.images import load_image
from ecgdl.models import DigitizerModule, build_network
from ecgdl.render import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg


def _images(root: Path, n: int) -> list[np.ndarray]:
    paths = sorted(root.glob("train/*/*-0001.png"))[:n] if root.is_dir() else []
    if paths:
        return [load_image(p) for p in paths]
    rng = np.random.default_rng(0)
    return [render_ecg(generate_ecg(rng, 500.0), RenderConfig(), rng)[0] for _ in range(n)]


def _digitizer(name: str):
    if name == "classical":
        return ClassicalDigitizer()
    module = DigitizerModule(build_network(name), kind="autoencoder" if name == "autoencoder" else "column")
    return module.load_weights(name).eval()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["classical", "cnn"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--aug", default=None, help="degrade the pages with this preset first (e.g. photo)")
    parser.add_argument(
        "--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "dev_eik_clean")
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = _images(Path(args.root), args.n)
    if args.aug:
        preset, rng = load_preset(args.aug), np.random.default_rng(0)
        images = [preset(img, None, rng)[0] for img in images]
    print(
        f"{'model':<12} {'median s/img':>12} {'max s/img':>10}   ({len(images)} images"
        f"{', ' + args.aug if args.aug else ''}, {args.threads} threads)"
    )
    for name in args.models:
        dig = _digitizer(name)
        dig.digitize(images[0], 500.0, 5000)  # warm-up
        times = []
        for img in images:
            t0 = time.perf_counter()
            dig.digitize(img, 500.0, 5000)
            times.append(time.perf_counter() - t0)
        print(f"{name:<12} {statistics.median(times):12.3f} {max(times):10.3f}")


if __name__ == "__main__":
    main()
