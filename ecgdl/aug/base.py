"""Helpers shared by our degradation transforms: argument ranges, random draws, smooth noise, gain fields.

The custom transforms (albumentations does not ship them) live by family: :mod:`~ecgdl.aug.photometric` (paper
colour, binarisation, dust, lighting, sensor and salt-and-pepper noise, defocus), :mod:`~ecgdl.aug.screen` (a
photographed screen: pixel grid, moire, glare), :mod:`~ecgdl.aug.damage` (stains, creases, mould, torn edges,
holes), :mod:`~ecgdl.aug.texture` (crumpled-paper relief) and :mod:`~ecgdl.aug.geometric` (the transforms that
move points: waviness, folds, the page on a table, quarter turns).
:mod:`~ecgdl.aug.registry` names them all.

Conventions: images are H x W x 3 uint8 RGB; pixel coordinates put the centre of pixel (0, 0) at (0.0, 0.0)
(OpenCV's convention for ``warpAffine`` / ``remap``); every random draw uses the transform's own
``self.random_generator`` / ``self.py_random`` (seeded by the enclosing ``Compose``). Pixel sizes (blur
widths, spot radii, displacements) are tuned for 200 dpi pages (2200 x 1700 px). Each class sets ``geometric``
(whether it moves points); :mod:`ecgdl.aug.degradation` reads it to decide whether the truth geometry changed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "Range",
    "apply_gain",
    "as_range",
    "randint",
    "smooth_noise",
    "uniform",
]


Range = tuple[float, float]


def as_range(value: float | Sequence[float], name: str) -> Range:
    """``(lo, hi)`` from a number or a pair; raises ValueError when ``lo > hi``."""
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f"{name}: lower bound {lo} exceeds upper bound {hi}")
    return (lo, hi)


def uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def randint(rng: np.random.Generator, r: Range) -> int:
    """Integer in ``[lo, hi]`` inclusive."""
    return int(rng.integers(round(r[0]), round(r[1]) + 1))


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell_px: float) -> np.ndarray:
    """(h, w) float32 smooth noise, about unit std, correlated over ``cell_px`` (bicubic upsampling of a coarse grid)."""
    gh = max(2, math.ceil(h / cell_px) + 1)
    gw = max(2, math.ceil(w / cell_px) + 1)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def apply_gain(img: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``img * gain`` saturated to uint8, for a smooth non-negative gain field.

    ``gain`` is (h, w) or (h, w, C) float at any resolution: it is quantised to uint8 (steps of 0.4 % of its max)
    and, when smaller than ``img``, upsampled bilinearly, so smooth fields can be computed at low resolution.
    """
    h, w = img.shape[:2]
    gmax = max(1.0, float(gain.max()))
    q = np.clip(gain * (255.0 / gmax) + 0.5, 0, 255).astype(np.uint8)
    if img.ndim == 2 and q.ndim == 3:
        q = np.ascontiguousarray(q.mean(axis=2).astype(np.uint8))
    elif img.ndim == 3 and q.ndim == 2:
        q = cv2.merge([q] * img.shape[2])
    if q.shape[:2] != (h, w):
        q = cv2.resize(q, (w, h), interpolation=cv2.INTER_LINEAR)
        if img.ndim == 3 and q.ndim == 2:  # cv2 drops a single channel axis
            q = q[..., None]
    return cv2.multiply(img, q, scale=gmax / 255.0)
