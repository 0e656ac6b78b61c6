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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    overlay_figure(out, 2 * args.width)


def overlay_figure(out: Path, width: int) -> None:
    """docs/overlay.png: the classical digitizer's traces (blue) drawn back over a real ECG-Image-Kit render."""
    from ecgdl.classical import ClassicalDigitizer
    from ecgdl.data.images import load_image
    from ecgdl.viz.overlay import overlay_prediction
    from ecgdl.viz.segments import segments_from_meta

    path = (
        Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "dev_eik_clean"
        / "train"
        / "841"
        / "841-0001.png"
    )
    if not path.is_file():
        print(f"skipped overlay: {path} not found")
        return
    image = load_image(path)
    record = ClassicalDigitizer().digitize(image, 500.0, 5000)
    page = overlay_prediction(image, record, segments_from_meta(record.meta))
    crop = page[560:1100, 40:1140]  # rows I-III, first two columns
    h = round(crop.shape[0] * width / crop.shape[1])
    small = cv2.resize(crop, (width, h), interpolation=cv2.INTER_AREA)
    cv2.imwrite(
        str(out / "overlay.png"), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]
    )
    print(out / "overlay.png")


if __name__ == "__main__":
    main()
