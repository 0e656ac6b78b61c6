"""What a user points predict/evaluate at: one image, a folder of images, or a Kaggle train/test root.

``discover_inputs(path)`` lists the images with the sampling rate and length their outputs must have: from
``train.csv`` (id, fs, sig_len) or ``test.csv`` (id, lead, fs, number_of_rows) when present, else ``fs=500``, 10 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ecgdl.constants import DEFAULT_DURATION_S, DEFAULT_FS_HZ
from ecgdl.signals.io import KaggleLayout, read_test_csv

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
_TYPE_RE = re.compile(r"-(\d{4})$")


@dataclass(frozen=True)
class InputImage:
    """One image to digitize: its output stem, file, sampling rate and number of output rows."""

    stem: str
    path: Path
    fs_hz: float
    n_samples: int
    record_id: str
    image_type: str | None = None


def _n(fs: float) -> int:
    return round(DEFAULT_DURATION_S * fs)


def discover_inputs(path: str | Path, default_fs_hz: float = DEFAULT_FS_HZ) -> list[InputImage]:
    """Images under ``path`` (see module docstring); raises FileNotFoundError naming the path if there are none."""
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{root}: not an image file (expected one of {', '.join(IMAGE_SUFFIXES)})")
        return [
            InputImage(
                root.stem, root, float(default_fs_hz), _n(default_fs_hz), root.stem, _type_of(root.stem)
            )
        ]
    out: list[InputImage] = []
    if (root / "train.csv").is_file() and (root / "train").is_dir():
        layout = KaggleLayout(root)
        for item in layout.iter_items():
            n = round(DEFAULT_DURATION_S * item.fs_hz)
            for img_type, img_path in item.images:
                out.append(InputImage(img_path.stem, img_path, item.fs_hz, n, item.id, img_type))
    if (root / "test.csv").is_file() and (root / "test").is_dir():
        test = read_test_csv(root / "test.csv")
        fs_by_id = test.groupby("id")["fs"].first().to_dict()
        for image_id, fs in fs_by_id.items():
            matches = [
                p for p in sorted((root / "test").glob(f"{image_id}.*")) if p.suffix.lower() in IMAGE_SUFFIXES
            ]
            if matches:
                out.append(InputImage(matches[0].stem, matches[0], float(fs), _n(fs), str(image_id)))
    if not out:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
                out.append(
                    InputImage(p.stem, p, float(default_fs_hz), _n(default_fs_hz), p.stem, _type_of(p.stem))
                )
    if not out:
        raise FileNotFoundError(f"{root}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    stems = [i.stem for i in out]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ValueError(
            f"{root}: several images share the output name(s) {dupes[:5]}; give them distinct names"
        )
    return out


def _type_of(stem: str) -> str | None:
    m = _TYPE_RE.search(stem)
    return m.group(1) if m else None
