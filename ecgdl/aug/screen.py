"""What photographing a screen (or a glossy print) adds: the screen's sub-pixel grid, moire fringes and glare.

All are :class:`albumentations.ImageOnlyTransform` subclasses (the geometry of the screen photo, its tilt and
dark bezel, is :class:`~ecgdl.aug.geometric.PageOnBackground`). Conventions are in :mod:`ecgdl.aug.base`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from albumentations import ImageOnlyTransform

from ecgdl.aug.base import apply_gain, as_range, randint, uniform

__all__ = [
    "Glare",
    "Moire",
    "PixelGrid",
]


class Moire(ImageOnlyTransform):
    """Moire fringes of a photographed screen: curved, slightly coloured bands (a chirped cosine, low-res, upsampled).

    Args:
        strength_range: fringe contrast as a fraction of brightness.
        period_range: fringe spacing in px.
        curvature_range: how strongly the fringes bend (0: straight).
        colour_range: how much the three channels' fringes are phase-shifted (0: grey fringes).
    """

    geometric = False

    def __init__(
        self,
        strength_range: Sequence[float] = (0.03, 0.12),
        period_range: Sequence[float] = (12.0, 80.0),
        curvature_range: Sequence[float] = (0.0, 1.0),
        colour_range: Sequence[float] = (0.0, 1.0),
        p: float = 0.7,
    ):
        super().__init__(p=p)
        self.strength_range = as_range(strength_range, "strength_range")
        self.period_range = as_range(period_range, "period_range")
        self.curvature_range = as_range(curvature_range, "curvature_range")
        self.colour_range = as_range(colour_range, "colour_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "strength": uniform(rng, self.strength_range),
            "period": uniform(rng, self.period_range),
            "curvature": uniform(rng, self.curvature_range),
            "colour": uniform(rng, self.colour_range),
            "angle": rng.uniform(0, np.pi),
            "centre": rng.uniform(-0.5, 1.5, 2),
            "phase": rng.uniform(0, 2 * np.pi),
        }

    def apply(self, img, strength, period, curvature, colour, angle, centre, phase, **params) -> np.ndarray:
        h, w = img.shape[:2]
        f = int(np.clip(period / 6.0, 1, 4))  # low-res factor: keep >= 6 samples per fringe
        gh, gw = math.ceil(h / f), math.ceil(w / f)
        ys = (np.arange(gh, dtype=np.float32) * f)[:, None]
        xs = (np.arange(gw, dtype=np.float32) * f)[None, :]
        cx, cy = float(centre[0]) * w, float(centre[1]) * h
        lin = (xs * math.cos(angle) + ys * math.sin(angle)) / period
        chirp = curvature * ((xs - cx) ** 2 + (ys - cy) ** 2) / (period * max(h, w))
        theta = np.float32(2 * np.pi) * (lin + chirp) + np.float32(phase)
        field = np.stack(
            [1.0 + strength * np.cos(theta + colour * k * 2 * np.pi / 3) for k in range(3)], axis=2
        )
        return apply_gain(img, field)


class PixelGrid(ImageOnlyTransform):
    """A screen's pixel structure: vertical R, G, B sub-pixel stripes and dark gaps, at a pitch of a few px.

    Place it before the perspective warp of a screen photo, so resampling adds its own aliasing.

    Args:
        pitch_range: screen-pixel pitch in image px (may be fractional).
        strength_range: how dark the other sub-pixels / gaps get, as a fraction.
        gap_range: relative darkness of the horizontal gap between pixel rows.
    """

    geometric = False

    def __init__(
        self,
        pitch_range: Sequence[float] = (2.5, 5.0),
        strength_range: Sequence[float] = (0.1, 0.35),
        gap_range: Sequence[float] = (0.2, 0.6),
        p: float = 0.8,
    ):
        super().__init__(p=p)
        self.pitch_range = as_range(pitch_range, "pitch_range")
        self.strength_range = as_range(strength_range, "strength_range")
        self.gap_range = as_range(gap_range, "gap_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "pitch": uniform(rng, self.pitch_range),
            "strength": uniform(rng, self.strength_range),
            "gap": uniform(rng, self.gap_range),
            "offset": rng.uniform(0, 1, 2),
        }

    def apply(self, img, pitch, strength, gap, offset, **params) -> np.ndarray:
        h, w = img.shape[:2]
        u = ((np.arange(w) / pitch + offset[0]) % 1.0) * 3.0  # which sub-pixel stripe each column falls in
        col = np.empty((w, 3), np.float32)
        for c in range(3):
            # smooth bump centred on sub-pixel c, width 1 (of 3): the column's weight for channel c
            dist = np.abs(((u - (c + 0.5)) + 1.5) % 3.0 - 1.5)
            col[:, c] = 1.0 - strength * np.clip(dist - 0.25, 0.0, 1.0)
        v = (np.arange(h) / pitch + offset[1]) % 1.0
        row = (1.0 - strength * gap * np.clip((v - 0.8) / 0.2, 0.0, 1.0)).astype(np.float32)
        # keep the mean brightness (the field is separable, so normalise rows and columns separately)
        row /= row.mean()
        col /= col.mean(axis=0, keepdims=True)
        if img.ndim == 2:
            col = col.mean(axis=1, keepdims=True)
        # two broadcast multiplications in uint8 (gains quantised to 1/128): columns, then rows
        ncols = col.shape[1]
        qc = np.clip(col * 128 + 0.5, 0, 255).astype(np.uint8)
        qr = np.clip(row * 128 + 0.5, 0, 255).astype(np.uint8)
        tiled_c = np.ascontiguousarray(np.broadcast_to(qc[None, :, :], (h, w, ncols))).reshape(img.shape)
        tiled_r = np.ascontiguousarray(np.broadcast_to(qr[:, None, None], (h, w, ncols))).reshape(img.shape)
        return cv2.multiply(cv2.multiply(img, tiled_c, scale=1 / 128), tiled_r, scale=1 / 128)


class Glare(ImageOnlyTransform):
    """Specular glare on a glossy print or a screen: soft bright ellipses that wash the image out toward white.

    Args:
        count_range: number of glare spots.
        size_range: spot radius as a fraction of the image's shorter side.
        intensity_range: peak fraction of the way to white.
    """

    geometric = False

    def __init__(
        self,
        count_range: Sequence[float] = (1, 2),
        size_range: Sequence[float] = (0.08, 0.3),
        intensity_range: Sequence[float] = (0.3, 0.8),
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.count_range = as_range(count_range, "count_range")
        self.size_range = as_range(size_range, "size_range")
        self.intensity_range = as_range(intensity_range, "intensity_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        spots = []
        for _ in range(randint(rng, self.count_range)):
            r = uniform(rng, self.size_range) * min(h, w)
            spots.append(
                (
                    rng.uniform(0, w),
                    rng.uniform(0, h),
                    r,
                    r * rng.uniform(0.3, 1.0),
                    rng.uniform(0, np.pi),
                    uniform(rng, self.intensity_range),
                )
            )
        return {"spots": spots}

    def apply(self, img: np.ndarray, spots, **params) -> np.ndarray:
        h, w = img.shape[:2]
        out = img.copy()
        for cx, cy, ra, rb, ang, peak in spots:
            ext = 2.5 * ra
            x0, x1 = max(0, int(cx - ext)), min(w, int(cx + ext) + 1)
            y0, y1 = max(0, int(cy - ext)), min(h, int(cy + ext) + 1)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            f = 4  # the glare is smooth: compute it at 1/4 resolution
            ys = np.arange(y0, y1, f, dtype=np.float32)[:, None] - cy
            xs = np.arange(x0, x1, f, dtype=np.float32)[None, :] - cx
            a = (xs * np.cos(ang) + ys * np.sin(ang)) / ra
            b = (-xs * np.sin(ang) + ys * np.cos(ang)) / rb
            g = peak * np.exp(-2.0 * (a * a + b * b))
            roi = out[y0:y1, x0:x1]
            # out = roi + (255 - roi) * g
            out[y0:y1, x0:x1] = cv2.add(roi, apply_gain(cv2.bitwise_not(roi), g))
        return out
