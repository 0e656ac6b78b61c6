"""Paper relief: crumpled, wrinkled paper seen under a directional light.

:class:`Wrinkles` is an :class:`albumentations.ImageOnlyTransform`: it shades the page but moves nothing, so the
ground truth passes through unchanged. Conventions are in :mod:`ecgdl.aug.base`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from albumentations import ImageOnlyTransform

from ecgdl.aug.base import apply_gain, as_range, randint, smooth_noise, uniform

__all__ = ["Wrinkles"]

#: The relief and its shading are computed at 1/_LOW_RES of the image size and upsampled (they are smooth).
_LOW_RES = 4


def _relief(
    rng: np.random.Generator, lh: int, lw: int, cell_lr: float, octaves: int, ridged: bool
) -> np.ndarray:
    """(lh, lw) float32 height field: ``octaves`` noise layers, each half the size and amplitude of the last.

    Ridged layers (``1 - |noise|``) have sharp crests along the noise's zero lines, like crumpled paper.
    """
    height = np.zeros((lh, lw), np.float32)
    for octave in range(octaves):
        layer = smooth_noise(rng, lh, lw, max(2.0, cell_lr / 2**octave))
        if ridged:
            layer = 1.0 - np.abs(layer)
        height += layer * np.float32(0.5**octave)
    return height


def _rms_slope(height: np.ndarray, px: float) -> float:
    gy, gx = np.gradient(height, px)
    return float(np.sqrt(np.mean(gx * gx + gy * gy)))


class Wrinkles(ImageOnlyTransform):
    """Crumpled paper: the shading of a random relief lit from one side, and thin light crease lines.

    The relief is a few octaves of smooth (or ridged) noise plus straight creases (a ridge or a valley with
    constant slope either side of a random line across the page). It is lit Lambertian-style from a random
    azimuth and elevation; the shading (1 on flat paper) is scaled so the brightest facets stay at the paper's
    own brightness, and ``gain = 1 - strength * (1 - shading)`` multiplies the image. Some creases also show a
    thin light line along their crest (the broken paper fibres).

    Args:
        strength_range: share of the shading applied (0: none, 1: full Lambertian shading).
        cell_range: size of the largest wrinkles, px.
        octaves: noise layers, each half the size and amplitude of the previous one.
        ridged_p: probability of ridged noise (sharp crumple lines) instead of rounded wrinkles.
        relief_range: RMS slope of the noise relief (tangent of the tilt); steeper means deeper shadows.
        elevation_range: height of the light above the page, degrees (90: straight above, no shading).
        crease_range: number of straight creases.
        crease_width_range: half-width of a crease's ridge or valley, px.
        crease_slope_range: slope of a crease's flanks (tangent).
        line_p: probability that a crease shows a thin light line along its crest.
        line_range: grey levels that line adds.
    """

    geometric = False

    def __init__(
        self,
        strength_range: Sequence[float] = (0.3, 0.8),
        cell_range: Sequence[float] = (150.0, 500.0),
        octaves: int = 3,
        ridged_p: float = 0.5,
        relief_range: Sequence[float] = (0.1, 0.35),
        elevation_range: Sequence[float] = (30.0, 60.0),
        crease_range: Sequence[float] = (0, 4),
        crease_width_range: Sequence[float] = (15.0, 80.0),
        crease_slope_range: Sequence[float] = (0.05, 0.25),
        line_p: float = 0.5,
        line_range: Sequence[float] = (15.0, 50.0),
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.strength_range = as_range(strength_range, "strength_range")
        self.cell_range = as_range(cell_range, "cell_range")
        if not 1 <= int(octaves) <= 6:
            raise ValueError(f"Wrinkles: octaves must be 1 to 6, got {octaves}")
        self.octaves = int(octaves)
        self.ridged_p = float(ridged_p)
        self.relief_range = as_range(relief_range, "relief_range")
        self.elevation_range = as_range(elevation_range, "elevation_range")
        if not 0.0 < self.elevation_range[0] <= self.elevation_range[1] <= 90.0:
            raise ValueError(f"Wrinkles: elevation_range must lie in (0, 90] degrees, got {elevation_range}")
        self.crease_range = as_range(crease_range, "crease_range")
        self.crease_width_range = as_range(crease_width_range, "crease_width_range")
        self.crease_slope_range = as_range(crease_slope_range, "crease_slope_range")
        self.line_p = float(line_p)
        self.line_range = as_range(line_range, "line_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        lh, lw = max(2, math.ceil(h / _LOW_RES)), max(2, math.ceil(w / _LOW_RES))
        px = w / lw  # full-resolution px per low-resolution px
        height = _relief(
            rng, lh, lw, uniform(rng, self.cell_range) / px, self.octaves, bool(rng.random() < self.ridged_p)
        )
        height *= uniform(rng, self.relief_range) / max(_rms_slope(height, px), 1e-9)
        # low-res pixel i samples full-res coordinate (i + 0.5) * px - 0.5 (cv2.resize's bilinear convention)
        xs = ((np.arange(lw, dtype=np.float32) + 0.5) * (w / lw) - 0.5)[None, :]
        ys = ((np.arange(lh, dtype=np.float32) + 0.5) * (h / lh) - 0.5)[:, None]
        lines = []
        for _ in range(randint(rng, self.crease_range)):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            angle = rng.uniform(0, math.pi)
            nx, ny = -math.sin(angle), math.cos(angle)
            half = uniform(rng, self.crease_width_range)
            slope = uniform(rng, self.crease_slope_range) * (
                1 if rng.random() < 0.5 else -1
            )  # ridge / valley
            dist = np.abs((xs - cx) * nx + (ys - cy) * ny)
            height += np.float32(slope) * np.maximum(np.float32(half) - dist, 0.0)
            if rng.random() < self.line_p:  # a light line along part of the crest
                t0, t1 = np.sort(rng.uniform(-1.0, 1.0, 2)) * math.hypot(h, w) / 2
                ends = [(cx + t * math.cos(angle), cy + t * math.sin(angle)) for t in (t0, t1)]
                lines.append((ends, uniform(rng, self.line_range)))
        azimuth = rng.uniform(0, 2 * math.pi)
        elevation = math.radians(uniform(rng, self.elevation_range))
        gy, gx = np.gradient(height, px)
        light = (math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth))
        # surface normal (-gx, -gy, 1) / |.| dotted with the light direction, 1 on flat paper
        shading = np.maximum(-gx * light[0] - gy * light[1] + math.sin(elevation), 0.0) / (
            np.sqrt(1.0 + gx * gx + gy * gy) * math.sin(elevation)
        )
        shading /= max(1.0, float(np.quantile(shading, 0.99)))  # the brightest facets stay paper-white
        strength = uniform(rng, self.strength_range)
        gain = np.clip(1.0 - strength * (1.0 - shading), 0.05, 1.0).astype(np.float32)
        return {"gain": gain, "lines": lines}

    def apply(self, img: np.ndarray, gain: np.ndarray, lines, **params) -> np.ndarray:
        out = apply_gain(img, gain)
        if not lines:
            return out
        lift = np.zeros(out.shape[:2], np.uint8)
        for ends, level in lines:
            p0, p1 = (np.round(np.asarray(e) * 16).astype(np.int32) for e in ends)
            cv2.line(lift, tuple(p0.tolist()), tuple(p1.tolist()), round(level), 1, cv2.LINE_AA, 4)
        if out.ndim == 3:
            lift = cv2.merge([lift] * out.shape[2])
        return cv2.add(out, lift)
