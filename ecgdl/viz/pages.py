"""What HTML pages that show a folder's pictures share: small JPEG thumbnails kept beside them and relative links.

The leaderboard dashboard (:mod:`ecgdl.leaderboard.dashboard`) and the batch review page (:mod:`ecgdl.review`)
both write one HTML file into a folder and link to overlays, signals and run folders from there.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import cv2

__all__ = ["href", "make_thumbnail"]


def href(path: Path, base: Path) -> str:
    """A relative link from a page in ``base`` to ``path`` (URL-quoted, forward slashes)."""
    return quote(Path(os.path.relpath(path, base)).as_posix())


def make_thumbnail(src: Path, dst: Path, width_px: int, *, quality: int = 80) -> Path | None:
    """A JPEG of ``src`` scaled to ``width_px`` wide at ``dst`` (kept when newer than ``src``); None when
    ``src`` cannot be read as an image."""
    try:
        if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
            return dst
    except OSError:
        return None
    image = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if image is None:
        return None
    height, width = image.shape[:2]
    if width > width_px:
        size = (int(width_px), max(1, round(height * width_px / width)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dst), image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return dst
