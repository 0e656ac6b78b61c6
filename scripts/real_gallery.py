"""A contact sheet of a prediction folder's overlays, most confident first (for docs/).

    python predict.py input=../shared/data/real_notruth output_dir=outputs/real save_overlay=true
    python scripts/real_gallery.py outputs/real docs/real_gallery.png --n 12

Each tile is ``<stem>-overlay.png`` with its stem, layout, confidence and status; the report's order is by
confidence, so the sheet shows the readings the self-check trusts most (and, with ``--lowest``, the least).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a predict.py output_dir with report.csv and overlays")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--lowest", action="store_true", help="the least confident readings instead")
    parser.add_argument("--tile-width", type=int, default=640)
    args = parser.parse_args()
    report = pd.read_csv(args.folder / "report.csv", dtype={"stem": str})
    report = report[report["status"] != "failed"].sort_values("confidence", ascending=args.lowest)
    tiles = []
    for row in report.head(args.n).itertuples():
        path = args.folder / f"{row.stem}-overlay.png"
        if not path.is_file():
            continue
        img = cv2.imread(str(path))
        box_w, box_h = (
            args.tile_width,
            round(args.tile_width * 0.6),
        )  # landscape tiles; portrait pictures fit inside
        scale = min(box_w / img.shape[1], box_h / img.shape[0])
        img = cv2.resize(
            img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
        img = cv2.copyMakeBorder(
            img, 0, box_h - img.shape[0], 0, box_w - img.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)
        )
        label = f"{row.stem}  {row.layout}  confidence {row.confidence:.2f}  {row.status}"
        band = np.full((28, args.tile_width, 3), 255, np.uint8)
        cv2.putText(band, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([band, img]))
    if not tiles:
        raise SystemExit(f"{args.folder}: no overlays (run predict.py with save_overlay=true)")
    height = max(t.shape[0] for t in tiles)
    tiles = [np.vstack([t, np.full((height - t.shape[0], t.shape[1], 3), 255, np.uint8)]) for t in tiles]
    cols = 3
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 255))
    sheet = np.vstack([np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet, [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f"{args.out}: {len(report.head(args.n))} readings")


if __name__ == "__main__":
    main()
