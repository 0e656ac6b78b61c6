"""Paper grid drawing: colour schemes and an anti-aliased 1 mm / 5 mm grid, cached per page geometry.

Grid lines are drawn from exact 1-D coverage profiles (a line of width w centred at a fractional position covers
each pixel by the overlap length), so lines at 7.874 px spacing land where the grid geometry says they are.
Patterns (:data:`GRID_PATTERNS`): ``solid`` lines, ``dotted`` (a dot at every 1 mm and a larger one at every
5 mm intersection, as some machines print: the product of the two profiles) or ``none``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: name -> (paper RGB, minor-line RGB, major-line RGB); ``none`` draws no lines.
GRID_SCHEMES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    "red": ((255, 255, 255), (254, 223, 219), (255, 0, 0)),
    "pink": ((255, 252, 252), (250, 214, 222), (236, 128, 150)),
    "orange": ((255, 253, 248), (252, 222, 196), (242, 146, 72)),
    "green": ((252, 255, 252), (206, 236, 206), (90, 170, 100)),
    "blue": ((252, 253, 255), (208, 222, 245), (95, 135, 205)),
    "grey": ((255, 255, 255), (222, 222, 222), (150, 150, 150)),
    "bw": ((255, 255, 255), (205, 205, 205), (120, 120, 120)),
    # darker grids, as other machines and photocopies print them (pale to dark, grey and black)
    "pale": ((255, 255, 255), (254, 238, 236), (247, 168, 160)),
    "dark-red": ((255, 255, 255), (238, 170, 165), (190, 35, 35)),
    "dark": ((255, 255, 255), (185, 185, 185), (85, 85, 85)),
    "black": ((255, 255, 255), (200, 200, 200), (30, 30, 30)),
    "none": ((255, 255, 255), (255, 255, 255), (255, 255, 255)),
}
#: how grid lines are drawn: solid lines, dots at the line crossings, or not at all
GRID_PATTERNS = ("solid", "dotted", "none")


def get_scheme(name: str):
    try:
        return GRID_SCHEMES[name]
    except KeyError:
        raise KeyError(f"unknown grid colour {name!r}; valid: {', '.join(GRID_SCHEMES)}") from None


def check_pattern(name: str) -> str:
    if name not in GRID_PATTERNS:
        raise KeyError(f"unknown grid style {name!r}; valid: {', '.join(GRID_PATTERNS)}")
    return name


@dataclass(frozen=True)
class GridStyle:
    colour: str = "red"
    minor_width_px: float = 1.0
    major_width_px: float = 1.6
    pattern: str = "solid"  # one of GRID_PATTERNS


def _coverage(n: int, origin: float, spacing: float, width: float, every: int, major: bool) -> np.ndarray:
    """Fraction of each of ``n`` pixels covered by lines at origin + k*spacing (only every ``every``-th if major)."""
    centres = np.arange(n, dtype=np.float64)
    step = spacing * (every if major else 1)
    d = centres - (origin + np.round((centres - origin) / step) * step)  # signed offset from the nearest line
    # overlap of the pixel [c - 0.5, c + 0.5] with the line [L - w/2, L + w/2]
    return np.clip(np.minimum(d + 0.5, width / 2) + np.minimum(0.5 - d, width / 2), 0.0, 1.0)


@lru_cache(maxsize=16)
def _grid_image(
    width_px: int, height_px: int, px_per_mm: float, origin_x: float, origin_y: float, style: GridStyle
) -> np.ndarray:
    paper, minor, major = (np.array(c, np.float32) for c in get_scheme(style.colour))
    img = np.empty((height_px, width_px, 3), np.float32)
    img[:] = paper
    if style.colour == "none" or style.pattern == "none":
        out = img.astype(np.uint8)
        out.setflags(write=False)
        return out
    for is_major, colour, w in ((False, minor, style.minor_width_px), (True, major, style.major_width_px)):
        cx = _coverage(width_px, origin_x, px_per_mm, w, 5, is_major).astype(np.float32)
        cy = _coverage(height_px, origin_y, px_per_mm, w, 5, is_major).astype(np.float32)
        if style.pattern == "dotted":  # ink only where a vertical and a horizontal line cross
            alpha = (cy[:, None] * cx[None, :])[..., None]
        else:
            alpha = np.maximum(cy[:, None], cx[None, :])[..., None]
        img = img * (1 - alpha) + colour * alpha
    out = np.round(img).astype(np.uint8)
    out.setflags(write=False)
    return out


def grid_image(
    width_px: int, height_px: int, px_per_mm: float, origin_xy: tuple[float, float], style: GridStyle
) -> np.ndarray:
    """A fresh (writable) H x W x 3 uint8 page with the grid drawn; the expensive part is cached."""
    return _grid_image(
        width_px, height_px, float(px_per_mm), float(origin_xy[0]), float(origin_xy[1]), style
    ).copy()
