"""Render the README's sample pictures: one synthetic page per degradation preset (docs/aug_<preset>.png).

    python docs/make_samples.py [--out docs] [--width 640] [--seed 7]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ecgdl.aug import PRESETS, load_preset
from ecgdl.render import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).parent))
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = generate_ecg(np.random.default_rng(args.seed), 500.0, record_id="sample")
    for k, name in enumerate(PRESETS):
        rng = np.random.default_rng([args.seed, k])
        image, truth = render_ecg(record, RenderConfig(pulse="start"), rng)
        image, truth = load_preset(name)(image, truth, rng)
        h = round(image.shape[0] * args.width / image.shape[1])
        small = cv2.resize(image, (args.width, h), interpolation=cv2.INTER_AREA)
        path = out / f"aug_{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path}  ({truth.meta.get('aug')}: {', '.join(truth.meta.get('applied', []))})")


if __name__ == "__main__":
    main()
