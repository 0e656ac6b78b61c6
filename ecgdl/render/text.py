"""Text on the page (lead labels, header, footer) in a real TrueType font, blended into numpy images.

Uses the TrueType fonts shipped with matplotlib (no system fonts needed) through Pillow: DejaVu Sans, Sans Mono and
Serif, and STIX General, a Times-like serif; rendered strings are cached as alpha masks, so labels cost a blend,
not a font rasterisation, per page.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "times": "STIXGeneral.ttf",
    "times-bold": "STIXGeneralBol.ttf",
}


def check_font(name: str) -> str:
    if name not in FONTS:
        raise KeyError(f"unknown font {name!r}; valid: {', '.join(FONTS)}")
    return name


@lru_cache(maxsize=32)
def _font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    check_font(name)
    return ImageFont.truetype(str(_FONT_DIR / FONTS[name]), size_px)


@lru_cache(maxsize=512)
def text_mask(text: str, size_px: int, font: str = "sans") -> tuple[np.ndarray, int, int]:
    """(alpha uint8 h x w, dx, dy): the string rendered with its top-left ink offset from the anchor point."""
    f = _font(font, size_px)
    left, top, right, bottom = f.getbbox(text)
    w, h = max(1, right - left), max(1, bottom - top)
    canvas = Image.new("L", (w, h), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, font=f, fill=255)
    alpha = np.asarray(canvas)
    alpha.setflags(write=False)
    return alpha, left, top


def draw_text(
    image: np.ndarray, text: str, x_px: float, y_px: float, size_px: int, colour=(0, 0, 0), font: str = "sans"
) -> tuple[int, int, int, int]:
    """Blend ``text`` into ``image`` in place with its anchor (left, top of the em box) at (x, y); returns the ink box."""
    alpha, dx, dy = text_mask(text, int(size_px), font)
    h, w = alpha.shape
    x0, y0 = round(x_px) + dx, round(y_px) + dy
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + w, image.shape[1]), min(y0 + h, image.shape[0])
    if ix1 <= ix0 or iy1 <= iy0:
        return (ix0, iy0, ix0, iy0)
    a = alpha[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0, None].astype(np.float32) / 255.0
    region = image[iy0:iy1, ix0:ix1].astype(np.float32)
    image[iy0:iy1, ix0:ix1] = np.round(region * (1 - a) + np.asarray(colour, np.float32) * a).astype(np.uint8)
    return (ix0, iy0, ix1, iy1)
