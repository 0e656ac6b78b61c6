"""Measure how thick the traces of rendered ECG pages are: the vertical run length of dark ink across the
flat stretches of the rhythm strip (the bottom tenth of the page), in pixels and in mm at the page's scale.

This is the measurement behind ``line_width_mm`` in ``conf/render/kaggle.yaml``::

    python scripts/stroke_width.py ../shared/data/dev_eik_clean --px-per-mm 7.874

Only runs of dark, unsaturated pixels (every channel below ``--dark``) count, so red or grey grid lines do not;
runs longer than ``--max-run`` px are steep waves, not the stroke's width, and are left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ecgdl.data.images import load_image


def vertical_runs(
    image_rgb: np.ndarray, dark: int, top_frac: float, bottom_frac: float, step: int
) -> np.ndarray:
    """Lengths (px) of the vertical runs of dark pixels in every ``step``-th column of a horizontal band."""
    h = image_rgb.shape[0]
    band = image_rgb[int(top_frac * h) : int(bottom_frac * h), :: max(1, step)].max(axis=2) < dark
    # columns one after another, each padded with a light pixel at both ends so no run spans two columns
    edges = np.diff(np.pad(band, ((1, 1), (0, 0))).T.ravel().astype(np.int8))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", type=Path, help="a folder of page images (searched recursively for *.png)")
    parser.add_argument("--px-per-mm", type=float, default=200 / 25.4, help="page scale (default: 200 dpi)")
    parser.add_argument("--dark", type=int, default=128, help="ink: every RGB channel below this")
    parser.add_argument("--max-run", type=int, default=8, help="longer runs are steep waves, not width")
    parser.add_argument("--limit", type=int, default=20, help="at most this many images")
    args = parser.parse_args()
    paths = sorted(args.root.rglob("*.png"))[: args.limit]
    if not paths:
        raise SystemExit(f"{args.root}: no .png images found")
    all_runs, failures = [], []
    for path in paths:
        try:
            runs = vertical_runs(load_image(path), args.dark, 0.85, 0.95, step=3)
        except Exception as exc:  # one unreadable image does not stop the others; all are reported at the end
            failures.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        runs = runs[runs <= args.max_run]
        if runs.size == 0:
            failures.append(f"{path}: no trace ink in the bottom tenth of the page (no rhythm strip there?)")
            continue
        all_runs.append(runs)
        print(
            f"{path.name}: median {np.median(runs):.0f} px, histogram 1..{args.max_run} px {np.bincount(runs, minlength=args.max_run + 1)[1:].tolist()}"
        )
    for failure in failures:
        print(f"failed: {failure}")
    if not all_runs:
        raise SystemExit(f"{args.root}: no image could be measured")
    runs = np.concatenate(all_runs)
    q25, q50, q75 = np.percentile(runs, [25, 50, 75])
    print(
        f"{len(all_runs)} images: stroke {q25:.0f}-{q75:.0f} px (median {q50:.0f}) = "
        f"{q25 / args.px_per_mm:.2f}-{q75 / args.px_per_mm:.2f} mm at {args.px_per_mm:.3f} px/mm"
    )
    if failures:
        raise SystemExit(f"{len(failures)} of {len(paths)} images failed (listed above)")


if __name__ == "__main__":
    main()
