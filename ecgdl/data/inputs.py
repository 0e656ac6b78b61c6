"""What a user points predict/evaluate at: one image or PDF, a folder of them, or a Kaggle train/test root.

``discover_inputs(path)`` lists the pages to read with the sampling rate and length their outputs must have: from
``train.csv`` (id, fs, sig_len) or ``test.csv`` (id, lead, fs, number_of_rows) when present, else ``fs=500``, 10 s.

Every page of a PDF and every frame of a multi-page TIFF is an item of its own, named ``<file stem>-p<N>`` (N
from 1) when the file has more than one page and ``<file stem>`` otherwise. A file whose pages cannot be counted
(a damaged or encrypted PDF) is still listed, as one item with ``page=None``: loading it raises the
:class:`~ecgdl.data.images.ImageLoadError` that says what is wrong, so a batch reports it and goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgdl.constants import DEFAULT_DURATION_S, DEFAULT_FS_HZ
from ecgdl.data.images import (
    DEFAULT_PDF_DPI,
    HEIF_SUFFIXES,
    PDF_SUFFIXES,
    TIFF_SUFFIXES,
    ImageLoadError,
    count_pages,
    load_image,
)
from ecgdl.signals.io import KaggleLayout, read_test_csv

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", *HEIF_SUFFIXES)
#: Everything :func:`discover_inputs` picks up: pictures and PDF documents.
INPUT_SUFFIXES = (*IMAGE_SUFFIXES, *PDF_SUFFIXES)
_TYPE_RE = re.compile(r"-(\d{4})$")


@dataclass(frozen=True)
class InputImage:
    """One page to digitize: its output stem, file, sampling rate and number of output rows.

    ``page`` is the page (PDF) or frame (TIFF) inside ``path``, counted from 0; None for a plain picture, or for
    a file whose pages could not be counted (its :meth:`load` raises why). ``pdf_dpi`` is the resolution a PDF
    page is rendered at.
    """

    stem: str
    path: Path
    fs_hz: float
    n_samples: int
    record_id: str
    image_type: str | None = None
    page: int | None = None
    pdf_dpi: float = DEFAULT_PDF_DPI

    def load(self) -> np.ndarray:
        """The page as H x W x 3 uint8 RGB (:func:`~ecgdl.data.images.load_image`); ImageLoadError if unreadable."""
        return load_image(self.path, self.page, pdf_dpi=self.pdf_dpi)


def _n(fs: float) -> int:
    return round(DEFAULT_DURATION_S * fs)


def discover_inputs(
    path: str | Path, default_fs_hz: float = DEFAULT_FS_HZ, pdf_dpi: float = DEFAULT_PDF_DPI
) -> list[InputImage]:
    """Pages under ``path`` (see module docstring); raises FileNotFoundError naming the path if there are none.

    ``pdf_dpi`` is the resolution PDF pages will be rendered at (recorded in each item).
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or folder")
    if not (np.isfinite(pdf_dpi) and pdf_dpi > 0):
        raise ValueError(f"pdf_dpi must be a positive number, got {pdf_dpi!r}")
    fs = float(default_fs_hz)
    if root.is_file():
        if root.suffix.lower() not in INPUT_SUFFIXES:
            raise ValueError(
                f"{root}: not an image or PDF file (expected one of {', '.join(INPUT_SUFFIXES)})"
            )
        return _pages(root, fs, _n(fs), None, _type_of(root.stem), pdf_dpi)
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
        for image_id, id_fs in fs_by_id.items():
            matches = [
                p for p in sorted((root / "test").glob(f"{image_id}.*")) if p.suffix.lower() in IMAGE_SUFFIXES
            ]
            if matches:
                out.append(InputImage(matches[0].stem, matches[0], float(id_fs), _n(id_fs), str(image_id)))
    if not out:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES:
                out.extend(_pages(p, fs, _n(fs), None, _type_of(p.stem), pdf_dpi))
    if not out:
        raise FileNotFoundError(f"{root}: no images found (looked for {', '.join(INPUT_SUFFIXES)})")
    stems = [i.stem for i in out]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ValueError(
            f"{root}: several images share the output name(s) {dupes[:5]}; give them distinct names"
        )
    return out


def _pages(
    path: Path, fs_hz: float, n_samples: int, record_id: str | None, image_type: str | None, pdf_dpi: float
) -> list[InputImage]:
    """One item per page of ``path`` (one for a plain picture; one with page None when the pages of a PDF or
    TIFF cannot be counted, so that loading it reports why)."""
    suffix = path.suffix.lower()
    if suffix not in PDF_SUFFIXES and suffix not in TIFF_SUFFIXES:
        return [InputImage(path.stem, path, fs_hz, n_samples, record_id or path.stem, image_type)]
    try:
        n_pages = count_pages(path)
    except ImageLoadError:
        n_pages = None
    if n_pages is None:
        return [
            InputImage(path.stem, path, fs_hz, n_samples, record_id or path.stem, image_type, None, pdf_dpi)
        ]
    if n_pages == 1:  # a one-page TIFF reads as any picture does
        page = 0 if suffix in PDF_SUFFIXES else None
        return [
            InputImage(path.stem, path, fs_hz, n_samples, record_id or path.stem, image_type, page, pdf_dpi)
        ]
    out = []
    for page in range(n_pages):
        stem = f"{path.stem}-p{page + 1}"
        out.append(InputImage(stem, path, fs_hz, n_samples, record_id or stem, image_type, page, pdf_dpi))
    return out


def _type_of(stem: str) -> str | None:
    m = _TYPE_RE.search(stem)
    return m.group(1) if m else None
