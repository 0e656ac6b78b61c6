"""What the file format a page is stored in costs a reader: Kaggle-layout pages read as their PNG, as a JPEG and as
a HEIC copy (both quality 90 with 4:2:0 chroma, as phones write them), pooled Kaggle SNR per format.

    python scripts/storage_formats.py [--root ../shared/data/dev_eik_clean] [--model cnn] [--limit N]

The copies are written to a temporary folder and read back through predict's own loader
(:func:`ecgdl.data.images.load_image`); the reader is the model's plain digitizer with its shipped weights (no
self-check), so the figures isolate the storage.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pillow_heif
from hydra import compose, initialize_config_dir
from PIL import Image

from ecgdl.constants import LEADS
from ecgdl.data.images import load_image
from ecgdl.metrics.snr import snr_kaggle
from ecgdl.tasks.predict import build_digitizer

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("png", "jpeg420", "heic420")


def _copies(png: Path, folder: Path) -> dict[str, Path]:
    image = Image.open(png).convert("RGB")
    jpeg, heic = folder / f"{png.stem}.jpg", folder / f"{png.stem}.heic"
    image.save(jpeg, format="JPEG", quality=90, subsampling=2)  # 2: 4:2:0
    pillow_heif.from_pillow(image).save(heic, quality=90)  # pillow-heif's default chroma is 4:2:0
    return {"png": png, "jpeg420": jpeg, "heic420": heic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "data" / "dev_eik_clean")
    parser.add_argument("--model", default="cnn", help="conf/model option (default cnn)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many pages")
    args = parser.parse_args()
    pages = sorted(args.root.glob("train/*/*-0001.png"))[: args.limit]
    if not pages:
        raise SystemExit(f"no Kaggle-layout pages (train/<id>/<id>-0001.png) under {args.root}")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("predict", [f"model={args.model}"])
    digitizer = build_digitizer(cfg.model, None, args.model)
    truths, fss, preds, rows = [], [], {f: [] for f in FORMATS}, []
    with tempfile.TemporaryDirectory() as tmp:
        for png in pages:
            frame = pd.read_csv(png.with_name(f"{png.parent.name}.csv"))
            truth = frame[list(LEADS)].to_numpy(float)
            fs_hz = len(frame) / 10.0  # Kaggle records are 10 s long
            truths.append(truth)
            fss.append(fs_hz)
            row = {"page": png.parent.name}
            for name, path in _copies(png, Path(tmp)).items():
                signal = np.nan_to_num(digitizer.digitize(load_image(path), fs_hz, len(truth)).signal_mv)
                preds[name].append(signal)
                row[name] = float(snr_kaggle([truth], [signal], [fs_hz]).snr_db)
            rows.append(row)
            print(
                ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else str(v) for k, v in row.items()),
                flush=True,
            )
    pooled = {name: float(snr_kaggle(truths, preds[name], fss).snr_db) for name in FORMATS}
    print("pooled: " + ", ".join(f"{name} {db:.2f} dB" for name, db in pooled.items()))


if __name__ == "__main__":
    main()
