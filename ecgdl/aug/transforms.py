"""Custom albumentations transforms for paper-ECG degradations that albumentations does not ship.

Photometric effects are :class:`albumentations.ImageOnlyTransform` subclasses; effects that move pixels (a fold, a
wavy soaked page, the page placed on a table) are :class:`albumentations.DualTransform` subclasses whose
``apply_to_keypoints`` moves points exactly (analytic forward maps, no rounding), so the ground truth of a rendered
page can follow the image. Torn edges and missing patches keep geometry but clear a *page mask* (the ``mask``
target, 255 = paper): :class:`PageOnBackground` shows the background through those holes.

Conventions: images are H x W x 3 uint8 RGB; pixel coordinates put the centre of pixel (0, 0) at (0.0, 0.0)
(OpenCV's convention for ``warpAffine`` / ``remap``); every random draw uses the transform's own
``self.random_generator`` / ``self.py_random`` (seeded by the enclosing ``Compose``). Pixel sizes (blur widths,
spot radii, displacements) are tuned for 200 dpi pages (2200 x 1700 px). Each class sets ``geometric`` (whether it
moves points); :mod:`ecgdl.aug.degradation` reads it to decide whether the truth geometry changed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from albumentations import DualTransform, ImageOnlyTransform

__all__ = [
    "CUSTOM_TRANSFORMS",
    "Binarize",
    "Creases",
    "DiskBlur",
    "Fold",
    "Glare",
    "MissingPatches",
    "Moire",
    "MoldSpots",
    "PageOnBackground",
    "PaperTint",
    "PixelGrid",
    "SensorNoise",
    "Speckle",
    "Stains",
    "TornEdges",
    "UnevenLighting",
    "WavyDistortion",
]

Range = tuple[float, float]


# ---------------------------------------------------------------------------------------------------- helpers
def _range(value: float | Sequence[float], name: str) -> Range:
    """``(lo, hi)`` from a number or a pair; raises ValueError when ``lo > hi``."""
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f"{name}: lower bound {lo} exceeds upper bound {hi}")
    return (lo, hi)


def _uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _randint(rng: np.random.Generator, r: Range) -> int:
    """Integer in ``[lo, hi]`` inclusive."""
    return int(rng.integers(round(r[0]), round(r[1]) + 1))


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell_px: float) -> np.ndarray:
    """(h, w) float32 smooth noise, about unit std, correlated over ``cell_px`` (bicubic upsampling of a coarse grid)."""
    gh = max(2, math.ceil(h / cell_px) + 1)
    gw = max(2, math.ceil(w / cell_px) + 1)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _apply_gain(img: np.ndarray, gain: np.ndarray) -> np.ndarray:
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


def _blend_towards(roi: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``roi * (1 - alpha) + colour * alpha`` with alpha (h, w) in [0, 1]; returns uint8."""
    a = alpha[..., None].astype(np.float32)
    out = roi.astype(np.float32) * (1.0 - a) + colour.astype(np.float32)[None, None, :] * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def _noise_bank(size: int = 4096, seed: int = 20240607) -> np.ndarray:
    """A cached (size, size) int8 texture of N(0, 16^2) noise; crops at random offsets stand in for fresh noise
    (drawing 11 M fresh Gaussian numbers per image costs ~100 ms)."""
    rng = np.random.default_rng(seed)
    bank = np.empty((size, size), np.int8)
    for i in range(0, size, 512):
        rows = rng.standard_normal((min(512, size - i), size), dtype=np.float32) * 16.0
        bank[i : i + 512] = np.clip(np.round(rows), -127, 127).astype(np.int8)
    return bank


def _bank_noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w) int8 noise, std 16, cut from the cached bank at a random offset."""
    bank = _noise_bank()
    size = bank.shape[0]
    if h > size or w > size:
        bank = np.tile(bank, (math.ceil(h / size), math.ceil(w / size)))
    oy, ox = int(rng.integers(bank.shape[0] - h + 1)), int(rng.integers(bank.shape[1] - w + 1))
    return np.ascontiguousarray(bank[oy : oy + h, ox : ox + w])


def _jagged_path(
    rng: np.random.Generator, p0: np.ndarray, p1: np.ndarray, n: int, rough: float
) -> np.ndarray:
    """Points from ``p0`` to ``p1`` with a random-walk sideways wobble of about ``rough`` px (a torn edge)."""
    t = np.linspace(0.0, 1.0, n)
    d = p1 - p0
    normal = np.array([-d[1], d[0]]) / max(1e-9, float(np.hypot(*d)))
    walk = np.cumsum(rng.normal(0.0, rough, n))
    walk -= t * walk[-1]  # pinned at both ends
    walk += rng.normal(0.0, rough * 0.3, n)
    walk[0] = walk[-1] = 0.0
    return p0[None, :] + t[:, None] * d[None, :] + walk[:, None] * normal[None, :]


def _blob_polygon(rng: np.random.Generator, cx: float, cy: float, radius: float, n: int = 48) -> np.ndarray:
    """An irregular closed polygon around (cx, cy): a radius that wobbles with a few random harmonics."""
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rng.uniform(0.0, 0.25 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r *= radius * (1.0 + rng.normal(0.0, 0.04, n))
    return np.stack([cx + r * np.cos(theta), cy + r * np.sin(theta)], axis=1)


def _fill_polys(canvas: np.ndarray, polys: list[np.ndarray], value) -> None:
    if polys:
        cv2.fillPoly(canvas, [np.round(p * 16).astype(np.int32) for p in polys], value, cv2.LINE_8, shift=4)


def _as_rgb(value: Sequence[float] | float) -> tuple[float, float, float]:
    if isinstance(value, (int, float)):
        return (float(value),) * 3
    v = tuple(float(x) for x in value)
    if len(v) != 3:
        raise ValueError(f"expected an RGB triple, got {value!r}")
    return v  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------- photometric
class PaperTint(ImageOnlyTransform):
    """Cream / grey paper colour and a faint low-frequency paper texture (aged print under a scanner lamp).

    Args:
        tint_range: how far blue (and half as far green) drop relative to red, as a fraction.
        darken_range: overall darkening of the page, as a fraction.
        texture_range: std of the multiplicative low-frequency texture, as a fraction.
        texture_cell_px: correlation length of the texture.
    """

    geometric = False

    def __init__(
        self,
        tint_range: Sequence[float] = (0.0, 0.08),
        darken_range: Sequence[float] = (0.0, 0.06),
        texture_range: Sequence[float] = (0.0, 0.02),
        texture_cell_px: float = 256.0,
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.tint_range = _range(tint_range, "tint_range")
        self.darken_range = _range(darken_range, "darken_range")
        self.texture_range = _range(texture_range, "texture_range")
        self.texture_cell_px = float(texture_cell_px)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        rng = self.random_generator
        tint = _uniform(rng, self.tint_range)
        dark = _uniform(rng, self.darken_range)
        gains = (1.0 - dark) * np.array([1.0, 1.0 - 0.5 * tint, 1.0 - tint], np.float32)
        texture = _uniform(rng, self.texture_range)
        return {"gains": gains, "texture": texture, "texture_seed": int(rng.integers(2**31))}

    def apply(
        self, img: np.ndarray, gains: np.ndarray, texture: float, texture_seed: int, **params
    ) -> np.ndarray:
        h, w = img.shape[:2]
        if texture <= 1e-4:
            lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gains[None, :] + 0.5, 0, 255).astype(
                np.uint8
            )
            return cv2.LUT(img, lut.reshape(256, 1, 3)) if img.ndim == 3 else cv2.LUT(img, lut[:, 1].copy())
        f = max(1.0, self.texture_cell_px / 6.0)  # low-res field, ~6 samples per texture cell
        lh, lw = max(2, round(h / f)), max(2, round(w / f))
        field = 1.0 + texture * _smooth_noise(np.random.default_rng(texture_seed), lh, lw, 6.0)
        return _apply_gain(img, field[..., None] * gains[None, None, :])


class Binarize(ImageOnlyTransform):
    """Black-and-white scan: greyscale, then a global or an adaptive threshold; output stays 3-channel.

    Args:
        threshold_range: global threshold as a fraction of 255 (grid lines of a red/pink grid usually vanish).
        adaptive_p: probability of an adaptive (local mean) threshold instead of a global one.
        block_size_range: adaptive neighbourhood size in px (made odd).
        offset_range: adaptive threshold offset below the local mean, in grey levels.
        ink_range / paper_range: grey levels that black and white map to.
    """

    geometric = False

    def __init__(
        self,
        threshold_range: Sequence[float] = (0.45, 0.65),
        adaptive_p: float = 0.3,
        block_size_range: Sequence[float] = (15, 41),
        offset_range: Sequence[float] = (8, 20),
        ink_range: Sequence[float] = (0, 40),
        paper_range: Sequence[float] = (225, 255),
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.threshold_range = _range(threshold_range, "threshold_range")
        self.adaptive_p = float(adaptive_p)
        self.block_size_range = _range(block_size_range, "block_size_range")
        self.offset_range = _range(offset_range, "offset_range")
        self.ink_range = _range(ink_range, "ink_range")
        self.paper_range = _range(paper_range, "paper_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "adaptive": bool(rng.random() < self.adaptive_p),
            "threshold": _uniform(rng, self.threshold_range) * 255.0,
            "block": 2 * (_randint(rng, self.block_size_range) // 2) + 1,
            "offset": _uniform(rng, self.offset_range),
            "ink": _uniform(rng, self.ink_range),
            "paper": _uniform(rng, self.paper_range),
        }

    def apply(self, img, adaptive, threshold, block, offset, ink, paper, **params) -> np.ndarray:
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        if adaptive:
            binary = cv2.adaptiveThreshold(
                grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, max(3, block), offset
            )
        else:
            _, binary = cv2.threshold(grey, threshold, 255, cv2.THRESH_BINARY)
        lut = np.where(np.arange(256) >= 128, paper, ink).astype(np.uint8)
        out = cv2.LUT(binary, lut)
        return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB) if img.ndim == 3 else out


class Speckle(ImageOnlyTransform):
    """Scanner dust and toner specks: isolated dark (and some white) dots of 1-5 px.

    Args:
        density_range: specks per megapixel.
        radius_range: speck radius in px (0 = single pixel).
        dark_fraction: share of dark specks (the rest are white drop-outs).
    """

    geometric = False

    def __init__(
        self,
        density_range: Sequence[float] = (20.0, 200.0),
        radius_range: Sequence[float] = (0, 2),
        dark_fraction: float = 0.85,
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.density_range = _range(density_range, "density_range")
        self.radius_range = _range(radius_range, "radius_range")
        self.dark_fraction = float(dark_fraction)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        n = int(rng.poisson(_uniform(rng, self.density_range) * h * w / 1e6))
        xy = rng.uniform((0, 0), (w, h), (n, 2))
        radii = rng.integers(round(self.radius_range[0]), round(self.radius_range[1]) + 1, n)
        dark = rng.random(n) < self.dark_fraction
        level = np.where(dark, rng.uniform(0, 70, n), rng.uniform(230, 255, n))
        return {"specks": (xy, radii, level)}

    def apply(self, img: np.ndarray, specks, **params) -> np.ndarray:
        xy, radii, level = specks
        out = img.copy()
        for (x, y), r, v in zip(xy, radii, level, strict=True):
            cv2.circle(
                out, (int(x), int(y)), int(r), (float(v),) * 3, -1, cv2.LINE_AA if r > 0 else cv2.LINE_8
            )
        return out


class UnevenLighting(ImageOnlyTransform):
    """Phone-photo lighting: a brightness gradient, a vignette, low-frequency blotches and cast shadows.

    The whole multiplicative field is computed at 1/8 resolution (shadow edges are soft, as with a phone or a
    hand between lamp and page) and upsampled.

    Args:
        gradient_range: brightness drop across the image along a random direction, as a fraction.
        vignette_range: darkening at the corners, as a fraction.
        blotch_range: std of low-frequency multiplicative blotches, as a fraction.
        warm_range: colour shift of the light (positive: warmer), as a fraction of the gain.
        shadow_p: probability of one or two cast shadows (polygons entering from an edge).
        shadow_range: darkening inside a shadow, as a fraction.
    """

    geometric = False

    def __init__(
        self,
        gradient_range: Sequence[float] = (0.0, 0.35),
        vignette_range: Sequence[float] = (0.0, 0.3),
        blotch_range: Sequence[float] = (0.0, 0.05),
        warm_range: Sequence[float] = (-0.04, 0.06),
        shadow_p: float = 0.0,
        shadow_range: Sequence[float] = (0.1, 0.4),
        p: float = 0.7,
    ):
        super().__init__(p=p)
        self.gradient_range = _range(gradient_range, "gradient_range")
        self.vignette_range = _range(vignette_range, "vignette_range")
        self.blotch_range = _range(blotch_range, "blotch_range")
        self.warm_range = _range(warm_range, "warm_range")
        self.shadow_p = float(shadow_p)
        self.shadow_range = _range(shadow_range, "shadow_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        gh, gw = max(8, h // 8), max(8, w // 8)
        yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        u, v = xx / (gw - 1) - 0.5, yy / (gh - 1) - 0.5
        ang = rng.uniform(0, 2 * np.pi)
        ramp = u * np.cos(ang) + v * np.sin(ang)  # in [-0.71, 0.71]
        field = 1.0 - _uniform(rng, self.gradient_range) * (ramp + 0.71) / 1.42
        cx, cy = rng.uniform(-0.2, 0.2, 2)
        r2 = ((u - cx) ** 2 + (v - cy) ** 2) / 0.5
        field *= 1.0 - _uniform(rng, self.vignette_range) * np.clip(r2, 0, 1.5) ** 1.5
        field *= 1.0 + _uniform(rng, self.blotch_range) * _smooth_noise(rng, gh, gw, 32.0)
        if rng.random() < self.shadow_p:
            shade = np.zeros((gh, gw), np.float32)
            for _ in range(int(rng.integers(1, 3))):
                # a blunt polygon that enters from a random edge and reaches 20-60 % into the image
                edge = int(rng.integers(4))
                depth = rng.uniform(0.2, 0.6)
                a, b = np.sort(rng.uniform(0, 1, 2))
                tips = np.sort(rng.uniform(a, b, 2))
                quad = np.array([[a, 0.0], [b, 0.0], [tips[1], depth], [tips[0], depth]])
                quad[:, 1] -= 0.05
                if edge in (1, 3):
                    quad = quad[:, ::-1]
                if edge in (2, 3):
                    quad = 1.0 - quad
                pts = np.round(quad * [gw - 1, gh - 1] * 16).astype(np.int32)
                cv2.fillConvexPoly(shade, pts, float(_uniform(rng, self.shadow_range)), cv2.LINE_AA, 4)
            shade = cv2.GaussianBlur(shade, (0, 0), rng.uniform(0.7, 3.0))
            field *= 1.0 - np.clip(shade, 0.0, 0.9)
        warm = _uniform(rng, self.warm_range)
        gains = np.array([1.0 + warm, 1.0, 1.0 - warm], np.float32)
        return {"field": np.clip(field, 0.05, 1.5).astype(np.float32), "gains": gains}

    def apply(self, img: np.ndarray, field: np.ndarray, gains: np.ndarray, **params) -> np.ndarray:
        return _apply_gain(img, field[..., None] * gains[None, None, :])


class SensorNoise(ImageOnlyTransform):
    """Camera / scanner sensor noise: luminance grain plus weaker independent chroma noise, additive.

    Noise is cut from a cached texture at a random offset (fresh Gaussian noise costs ~100 ms at 2200 x 1700).

    Args:
        std_range: luminance noise std in grey levels.
        chroma_range: chroma noise std relative to the luminance std.
    """

    geometric = False

    def __init__(
        self,
        std_range: Sequence[float] = (2.0, 8.0),
        chroma_range: Sequence[float] = (0.2, 0.6),
        p: float = 0.7,
    ):
        super().__init__(p=p)
        self.std_range = _range(std_range, "std_range")
        self.chroma_range = _range(chroma_range, "chroma_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "std": _uniform(rng, self.std_range),
            "chroma": _uniform(rng, self.chroma_range),
            "noise_seed": int(rng.integers(2**31)),
        }

    def apply(self, img: np.ndarray, std: float, chroma: float, noise_seed: int, **params) -> np.ndarray:
        h, w = img.shape[:2]
        rng = np.random.default_rng(noise_seed)
        # the bank's int8 values, indexed by their byte: LUTs turn a crop into "128 + scaled noise" in one pass
        values = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.float32)
        lut = np.clip(np.round(128.0 + values * (std / 16.0)), 0, 255).astype(np.uint8)
        noise = cv2.LUT(_bank_noise(rng, h, w).view(np.uint8), lut)
        if img.ndim == 3:
            noise = cv2.cvtColor(noise, cv2.COLOR_GRAY2RGB)
            if chroma > 0.02:  # blotchy colour noise at 1/4 resolution
                lh, lw = math.ceil(h / 4), math.ceil(w / 4)
                lut_c = np.clip(np.round(128.0 + values * (1.5 * std * chroma / 16.0)), 0, 255).astype(
                    np.uint8
                )
                low = cv2.merge([cv2.LUT(_bank_noise(rng, lh, lw).view(np.uint8), lut_c) for _ in range(3)])
                up = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)
                noise = cv2.addWeighted(noise, 1.0, up, 1.0, -128.0)
        return cv2.addWeighted(img, 1.0, noise, 1.0, -128.0)  # one saturation: img + (noise - 128)


class DiskBlur(ImageOnlyTransform):
    """Defocus: convolution with an anti-aliased disk (a lens's circle of confusion) of 1-3 px radius.

    albumentations' ``Defocus`` always convolves with a 17 x 17 kernel (~150 ms at 2200 x 1700); this one sizes the
    kernel to the radius.

    Args:
        radius_range: disk radius in px.
    """

    geometric = False

    def __init__(self, radius_range: Sequence[float] = (1.0, 2.5), p: float = 0.5):
        super().__init__(p=p)
        self.radius_range = _range(radius_range, "radius_range")
        if self.radius_range[0] <= 0:
            raise ValueError(f"DiskBlur: radius must be positive, got {self.radius_range}")

    def get_params(self) -> dict[str, Any]:
        return {"radius": _uniform(self.random_generator, self.radius_range)}

    def apply(self, img: np.ndarray, radius: float, **params) -> np.ndarray:
        half = math.ceil(radius)
        sub = 8  # supersample the disk edge
        t = (np.arange((2 * half + 1) * sub) + 0.5) / sub - (half + 0.5)
        inside = (t[None, :] ** 2 + t[:, None] ** 2 <= radius**2).astype(np.float32)
        kernel = inside.reshape(2 * half + 1, sub, 2 * half + 1, sub).mean(axis=(1, 3))
        return cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE)


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
        self.strength_range = _range(strength_range, "strength_range")
        self.period_range = _range(period_range, "period_range")
        self.curvature_range = _range(curvature_range, "curvature_range")
        self.colour_range = _range(colour_range, "colour_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "strength": _uniform(rng, self.strength_range),
            "period": _uniform(rng, self.period_range),
            "curvature": _uniform(rng, self.curvature_range),
            "colour": _uniform(rng, self.colour_range),
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
        return _apply_gain(img, field)


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
        self.pitch_range = _range(pitch_range, "pitch_range")
        self.strength_range = _range(strength_range, "strength_range")
        self.gap_range = _range(gap_range, "gap_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "pitch": _uniform(rng, self.pitch_range),
            "strength": _uniform(rng, self.strength_range),
            "gap": _uniform(rng, self.gap_range),
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
        self.count_range = _range(count_range, "count_range")
        self.size_range = _range(size_range, "size_range")
        self.intensity_range = _range(intensity_range, "intensity_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        spots = []
        for _ in range(_randint(rng, self.count_range)):
            r = _uniform(rng, self.size_range) * min(h, w)
            spots.append(
                (
                    rng.uniform(0, w),
                    rng.uniform(0, h),
                    r,
                    r * rng.uniform(0.3, 1.0),
                    rng.uniform(0, np.pi),
                    _uniform(rng, self.intensity_range),
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
            out[y0:y1, x0:x1] = cv2.add(roi, _apply_gain(cv2.bitwise_not(roi), g))
        return out


class Stains(ImageOnlyTransform):
    """Water / coffee stains: irregular tinted blotches, darker toward a rim (coffee-ring effect).

    Args:
        count_range: number of stains.
        size_range: stain radius as a fraction of the image's shorter side.
        opacity_range: tint strength inside the stain.
        rim_range: extra tint strength on the rim.
        colours: candidate RGB tints (brown coffee, yellow-grey water, tea ...).
    """

    geometric = False

    def __init__(
        self,
        count_range: Sequence[float] = (1, 4),
        size_range: Sequence[float] = (0.06, 0.3),
        opacity_range: Sequence[float] = (0.1, 0.4),
        rim_range: Sequence[float] = (0.15, 0.5),
        colours: Sequence[Sequence[float]] = (
            (150, 105, 60),
            (190, 170, 120),
            (170, 140, 100),
            (200, 195, 170),
        ),
        p: float = 0.9,
    ):
        super().__init__(p=p)
        self.count_range = _range(count_range, "count_range")
        self.size_range = _range(size_range, "size_range")
        self.opacity_range = _range(opacity_range, "opacity_range")
        self.rim_range = _range(rim_range, "rim_range")
        self.colours = tuple(_as_rgb(c) for c in colours)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        stains = []
        for _ in range(_randint(rng, self.count_range)):
            r = _uniform(rng, self.size_range) * min(h, w)
            stains.append(
                {
                    "poly": _blob_polygon(rng, rng.uniform(0, w), rng.uniform(0, h), r),
                    "radius": r,
                    "opacity": _uniform(rng, self.opacity_range),
                    "rim": _uniform(rng, self.rim_range),
                    "colour": np.array(self.colours[int(rng.integers(len(self.colours)))], np.float32),
                    "seed": int(rng.integers(2**31)),
                }
            )
        return {"stains": stains}

    def apply(self, img: np.ndarray, stains, **params) -> np.ndarray:
        h, w = img.shape[:2]
        out = img.copy()
        for st in stains:
            poly, r = st["poly"], st["radius"]
            x0, y0 = np.floor(poly.min(axis=0) - 4).astype(int)
            x1, y1 = np.ceil(poly.max(axis=0) + 4).astype(int)
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            f = max(1, int(r / 60))  # work at low resolution, stains are smooth
            lw, lh = math.ceil((x1 - x0) / f), math.ceil((y1 - y0) / f)
            mask = np.zeros((lh, lw), np.uint8)
            _fill_polys(mask, [(poly - (x0, y0)) / f], 255)
            dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3) * f  # px to the stain edge (inside)
            rim_w = max(2.0, 0.06 * r)
            rng = np.random.default_rng(st["seed"])
            mottle = 1.0 + 0.35 * _smooth_noise(rng, lh, lw, max(2.0, r / f / 4))
            inside = (mask > 0).astype(np.float32)
            alpha = inside * (st["opacity"] * np.clip(mottle, 0.3, 1.7) + st["rim"] * np.exp(-dist / rim_w))
            alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), max(0.6, 1.2 / f)), 0.0, 0.9)
            gain = 1.0 - alpha[..., None] * (1.0 - st["colour"][None, None, :] / 255.0)
            out[y0:y1, x0:x1] = _apply_gain(out[y0:y1, x0:x1], gain)  # upsampled from 1/f resolution
        return out


class Creases(ImageOnlyTransform):
    """Paper creases / wrinkles: thin wandering lines with a dark side and a light side (no geometry change).

    Args:
        count_range: number of creases.
        darkness_range: grey levels subtracted along the dark side.
        length_range: crease length as a fraction of the image diagonal.
    """

    geometric = False

    def __init__(
        self,
        count_range: Sequence[float] = (1, 6),
        darkness_range: Sequence[float] = (12.0, 45.0),
        length_range: Sequence[float] = (0.2, 0.9),
        p: float = 0.7,
    ):
        super().__init__(p=p)
        self.count_range = _range(count_range, "count_range")
        self.darkness_range = _range(darkness_range, "darkness_range")
        self.length_range = _range(length_range, "length_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        diag = math.hypot(h, w)
        creases = []
        for _ in range(_randint(rng, self.count_range)):
            length = _uniform(rng, self.length_range) * diag
            n = max(8, int(length / 40))
            ang = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.06, n))
            steps = np.stack([np.cos(ang), np.sin(ang)], axis=1) * (length / n)
            start = rng.uniform((0, 0), (w, h))
            pts = start + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
            creases.append((pts, _uniform(rng, self.darkness_range), int(rng.integers(1, 3))))
        return {"creases": creases}

    def apply(self, img: np.ndarray, creases, **params) -> np.ndarray:
        h, w = img.shape[:2]
        out = img.copy()
        for pts, dark, thick in creases:
            d = np.diff(pts, axis=0)
            normal = (
                np.stack([-d[:, 1], d[:, 0]], axis=1) / np.maximum(1e-9, np.hypot(d[:, 0], d[:, 1]))[:, None]
            )
            normal = np.concatenate([normal, normal[-1:]])
            pad = 3 * thick + 6
            x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int) - pad, 0)
            x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + pad, (w, h))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            local = pts - (x0, y0)
            delta = np.zeros((y1 - y0, x1 - x0), np.float32)
            side = np.round((local + 1.5 * thick * normal) * 16).astype(np.int32)
            cv2.polylines(delta, [side], False, 0.5 * dark, thick + 1, cv2.LINE_AA, 4)
            cv2.polylines(delta, [np.round(local * 16).astype(np.int32)], False, -dark, thick, cv2.LINE_AA, 4)
            delta = cv2.GaussianBlur(delta, (0, 0), 0.8)
            roi = out[y0:y1, x0:x1]
            if roi.ndim == 3:
                delta = cv2.merge([delta] * roi.shape[2])
            out[y0:y1, x0:x1] = cv2.add(roi, delta, dtype=cv2.CV_8U)
        return out


class MoldSpots(ImageOnlyTransform):
    """Mould: clusters of small fuzzy dark / green-grey spots, dense at the cluster centre, with a faint halo.

    Args:
        cluster_range: number of clusters.
        spots_range: spots per cluster.
        cluster_size_range: cluster radius (std) as a fraction of the image's shorter side.
        spot_radius_range: spot radius in px.
        opacity_range: peak opacity of a spot.
        colours: candidate RGB spot colours.
    """

    geometric = False

    def __init__(
        self,
        cluster_range: Sequence[float] = (2, 8),
        spots_range: Sequence[float] = (30, 400),
        cluster_size_range: Sequence[float] = (0.015, 0.08),
        spot_radius_range: Sequence[float] = (1.0, 4.0),
        opacity_range: Sequence[float] = (0.5, 0.95),
        colours: Sequence[Sequence[float]] = (
            (60, 70, 50),
            (90, 100, 80),
            (40, 40, 35),
            (110, 115, 90),
            (80, 60, 45),
        ),
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.cluster_range = _range(cluster_range, "cluster_range")
        self.spots_range = _range(spots_range, "spots_range")
        self.cluster_size_range = _range(cluster_size_range, "cluster_size_range")
        self.spot_radius_range = _range(spot_radius_range, "spot_radius_range")
        self.opacity_range = _range(opacity_range, "opacity_range")
        self.colours = tuple(_as_rgb(c) for c in colours)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        clusters = []
        for _ in range(_randint(rng, self.cluster_range)):
            sigma = _uniform(rng, self.cluster_size_range) * min(h, w)
            centre = rng.uniform((0, 0), (w, h))
            n = _randint(rng, self.spots_range)
            # a few sub-clusters make the colony patchy
            subs = centre + rng.normal(0, sigma * 0.6, (int(rng.integers(1, 5)), 2))
            xy = subs[rng.integers(len(subs), size=n)] + rng.normal(0, sigma * 0.5, (n, 2))
            clusters.append(
                {
                    "xy": xy,
                    "weight": rng.uniform(0.3, 1.0, n),
                    "radius": _uniform(rng, self.spot_radius_range),
                    "opacity": _uniform(rng, self.opacity_range),
                    "colour": np.array(self.colours[int(rng.integers(len(self.colours)))], np.float32)
                    + rng.normal(0, 8, 3),
                    "halo": rng.uniform(0.0, 0.25),
                }
            )
        return {"clusters": clusters}

    def apply(self, img: np.ndarray, clusters, **params) -> np.ndarray:
        h, w = img.shape[:2]
        out = img.copy()
        for cl in clusters:
            xy, r = cl["xy"], cl["radius"]
            pad = int(6 * r + 8)
            x0, y0 = np.floor(xy.min(axis=0)).astype(int) - pad
            x1, y1 = np.ceil(xy.max(axis=0)).astype(int) + pad
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            acc = np.zeros((y1 - y0, x1 - x0), np.float32)
            ix = np.round(xy[:, 0]).astype(int) - x0
            iy = np.round(xy[:, 1]).astype(int) - y0
            ok = (ix >= 0) & (ix < x1 - x0) & (iy >= 0) & (iy < y1 - y0)
            np.add.at(acc, (iy[ok], ix[ok]), cl["weight"][ok])
            spots = cv2.GaussianBlur(acc, (0, 0), r) * (2 * np.pi * r * r)  # ~1 at a lone spot's centre
            alpha = cl["opacity"] * (1.0 - np.exp(-2.0 * spots))
            if cl["halo"] > 0:
                alpha += cl["halo"] * (1.0 - np.exp(-cv2.GaussianBlur(spots, (0, 0), 4 * r)))
            alpha = np.clip(alpha, 0.0, 0.97)
            roi = out[y0:y1, x0:x1]
            colour = np.clip(cl["colour"], 0, 255)
            if roi.ndim == 2:
                colour = np.array([colour.mean()])
            out[y0:y1, x0:x1] = _blend_towards(roi, colour, alpha).reshape(roi.shape)
        return out


# ---------------------------------------------------------------------------------------------------- geometric
def _keypoints_xy(keypoints: np.ndarray, xy: np.ndarray) -> np.ndarray:
    out = keypoints.copy()
    out[:, 0] = xy[:, 0]
    out[:, 1] = xy[:, 1]
    return out


class WavyDistortion(DualTransform):
    """Mild waviness of a soaked / cockled page: smooth sinusoidal displacements, keypoints moved exactly.

    The image is resampled as ``out(x, y) = in(x + dx(y), y + dy(x))`` where ``dx`` and ``dy`` are sums of two
    sinusoids; keypoints are moved by inverting that map with a fixed-point iteration (|gradient| << 1).

    Args:
        amplitude_range: displacement amplitude per sinusoid, px.
        wavelength_range: wavelength, px.
    """

    geometric = True

    def __init__(
        self,
        amplitude_range: Sequence[float] = (1.0, 4.0),
        wavelength_range: Sequence[float] = (250.0, 900.0),
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.amplitude_range = _range(amplitude_range, "amplitude_range")
        self.wavelength_range = _range(wavelength_range, "wavelength_range")
        lo = self.wavelength_range[0]
        if 2 * 2 * np.pi * self.amplitude_range[1] / max(lo, 1e-9) >= 0.5:
            raise ValueError(
                "WavyDistortion: amplitude too large for the wavelength (map must stay invertible)"
            )

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        waves = np.array(
            [
                [
                    _uniform(rng, self.amplitude_range),
                    _uniform(rng, self.wavelength_range),
                    rng.uniform(0, 2 * np.pi),
                ]
                for _ in range(4)
            ]
        )
        return {"waves": waves}  # rows 0-1: dx(y), rows 2-3: dy(x)

    @staticmethod
    def _d(waves: np.ndarray, t: np.ndarray, rows: slice) -> np.ndarray:
        out = np.zeros_like(t, dtype=np.float64)
        for a, lam, ph in waves[rows]:
            out += a * np.sin(2 * np.pi * t / lam + ph)
        return out

    def apply(self, img: np.ndarray, waves: np.ndarray, **params) -> np.ndarray:
        return self._remap(img, waves, cv2.INTER_LINEAR, cv2.BORDER_REFLECT_101)

    def apply_to_mask(self, mask: np.ndarray, waves: np.ndarray, **params) -> np.ndarray:
        return self._remap(mask, waves, cv2.INTER_NEAREST, cv2.BORDER_CONSTANT)

    def _remap(self, img: np.ndarray, waves: np.ndarray, interp: int, border: int) -> np.ndarray:
        h, w = img.shape[:2]
        xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
        dx = self._d(waves, ys, slice(0, 2)).astype(np.float32)
        dy = self._d(waves, xs, slice(2, 4)).astype(np.float32)
        map_x = xs.astype(np.float32)[None, :] + dx[:, None]
        map_y = ys.astype(np.float32)[:, None] + dy[None, :]
        return cv2.remap(img, map_x, map_y, interp, borderMode=border)

    def apply_to_keypoints(self, keypoints: np.ndarray, waves: np.ndarray, **params) -> np.ndarray:
        src = keypoints[:, :2].astype(np.float64)
        x, y = src[:, 0].copy(), src[:, 1].copy()
        for _ in range(30):  # solve x + dx(y) = sx, y + dy(x) = sy
            x_new = src[:, 0] - self._d(waves, y, slice(0, 2))
            y_new = src[:, 1] - self._d(waves, x, slice(2, 4))
            done = max(np.abs(x_new - x).max(initial=0), np.abs(y_new - y).max(initial=0)) < 1e-6
            x, y = x_new, y_new
            if done:
                break
        return _keypoints_xy(keypoints, np.stack([x, y], axis=1))


class Fold(DualTransform):
    """A fold line across the page: a dark valley and a light ridge, and a small local displacement.

    Near the fold (signed distance ``s`` along its normal ``n``) points move by ``n * delta * exp(-(s / width)^2)``;
    the image is resampled through the exact inverse of that 1-D map, keypoints through the forward map.

    Args:
        orientation: "horizontal", "vertical" or "random" (either, equally likely).
        position_range: where the fold crosses the page, as a fraction of height (horizontal) or width.
        angle_range: tilt of the fold from its orientation, degrees.
        displacement_range: peak displacement ``delta``, px (either sign is drawn).
        width_range: width of the displaced / shaded band, px.
        shade_range: darkening of the valley side, as a fraction.
        highlight_range: brightening of the ridge side, as a fraction.
    """

    geometric = True

    def __init__(
        self,
        orientation: str = "random",
        position_range: Sequence[float] = (0.25, 0.75),
        angle_range: Sequence[float] = (-4.0, 4.0),
        displacement_range: Sequence[float] = (0.5, 3.0),
        width_range: Sequence[float] = (10.0, 40.0),
        shade_range: Sequence[float] = (0.05, 0.3),
        highlight_range: Sequence[float] = (0.0, 0.1),
        p: float = 0.5,
    ):
        super().__init__(p=p)
        if orientation not in ("horizontal", "vertical", "random"):
            raise ValueError(f"Fold: orientation must be horizontal, vertical or random, got {orientation!r}")
        self.orientation = orientation
        self.position_range = _range(position_range, "position_range")
        self.angle_range = _range(angle_range, "angle_range")
        self.displacement_range = _range(displacement_range, "displacement_range")
        self.width_range = _range(width_range, "width_range")
        self.shade_range = _range(shade_range, "shade_range")
        self.highlight_range = _range(highlight_range, "highlight_range")
        if self.displacement_range[1] * 0.86 >= self.width_range[0]:
            raise ValueError(
                "Fold: displacement must stay well below the band width (map must stay invertible)"
            )

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        if self.orientation == "random":
            horizontal = bool(rng.random() < 0.5)
        else:
            horizontal = self.orientation == "horizontal"
        tilt = math.radians(_uniform(rng, self.angle_range))
        pos = _uniform(rng, self.position_range)
        if horizontal:
            centre = np.array([(w - 1) / 2, pos * (h - 1)])
            normal = np.array([-math.sin(tilt), math.cos(tilt)])
        else:
            centre = np.array([pos * (w - 1), (h - 1) / 2])
            normal = np.array([math.cos(tilt), math.sin(tilt)])
        return {
            "centre": centre,
            "normal": normal,
            "delta": _uniform(rng, self.displacement_range) * (1 if rng.random() < 0.5 else -1),
            "width": _uniform(rng, self.width_range),
            "shade": _uniform(rng, self.shade_range),
            "highlight": _uniform(rng, self.highlight_range),
        }

    @staticmethod
    def _band(shape, centre, normal, reach) -> tuple[int, int, int, int]:
        """Bounding box (x0, y0, x1, y1) of the pixels within ``reach`` of the fold line (|s| <= reach)."""
        h, w = shape[:2]
        nx, ny = float(normal[0]), float(normal[1])
        if abs(ny) >= abs(nx):  # near-horizontal line: solve s = +-reach for y at the left and right edges
            ys = [centre[1] + (sr - (x - centre[0]) * nx) / ny for x in (0, w - 1) for sr in (-reach, reach)]
            x0, x1, y0, y1 = 0, w, math.floor(min(ys)), math.ceil(max(ys)) + 1
        else:
            xs = [centre[0] + (sr - (y - centre[1]) * ny) / nx for y in (0, h - 1) for sr in (-reach, reach)]
            x0, x1, y0, y1 = math.floor(min(xs)), math.ceil(max(xs)) + 1, 0, h
        return max(0, x0), max(0, y0), min(w, x1), min(h, y1)

    def _warp(self, img, centre, normal, delta, width, interp, border, shading=None):
        reach = 3.0 * width + abs(delta) + 2
        x0, y0, x1, y1 = self._band(img.shape, centre, normal, reach)
        if x1 <= x0 or y1 <= y0:
            return img
        nx, ny, cx, cy = float(normal[0]), float(normal[1]), float(centre[0]), float(centre[1])
        xs = np.arange(x0, x1, dtype=np.float32)[None, :]
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        s_dst = (xs - cx) * nx + (ys - cy) * ny  # signed distance of each destination pixel, float32
        # every per-pixel quantity depends on s_dst only: tabulate it every 1/16 px and look it up by index
        step, lo = 1.0 / 16.0, -reach - 8.0
        grid = lo + step * np.arange(int((2 * reach + 16) / step) + 1)
        src = np.linspace(lo - 4, -lo + 4, len(grid) + 64)
        fwd = src + delta * np.exp(-((src / width) ** 2))  # monotone: |delta| * 0.86 / width < 1
        shift_of_s = np.interp(grid, fwd, fwd - src, left=0.0, right=0.0).astype(np.float32)
        idx = np.clip(np.rint((s_dst - lo) / step), 0, len(grid) - 1).astype(np.int32)
        shift = shift_of_s[idx]
        map_x = xs - shift * np.float32(nx)
        map_y = ys - shift * np.float32(ny)
        out = img.copy()
        band = cv2.remap(img, map_x, map_y, interp, borderMode=border)
        if shading is not None:
            shade, highlight = shading
            sd = grid * np.sign(delta) / width
            gain_of_s = (
                1.0
                - shade * np.exp(-(((sd - 0.6) / 0.7) ** 2))
                + highlight * np.exp(-(((sd + 0.6) / 0.7) ** 2))
                - 0.5 * shade * np.exp(-((grid / 1.2) ** 2))  # the crease itself
            ).astype(np.float32)
            band = _apply_gain(band, gain_of_s[idx])
        out[y0:y1, x0:x1] = band
        return out

    def apply(self, img, centre, normal, delta, width, shade, highlight, **params) -> np.ndarray:
        return self._warp(
            img, centre, normal, delta, width, cv2.INTER_LINEAR, cv2.BORDER_REFLECT_101, (shade, highlight)
        )

    def apply_to_mask(self, mask, centre, normal, delta, width, **params) -> np.ndarray:
        return self._warp(mask, centre, normal, delta, width, cv2.INTER_NEAREST, cv2.BORDER_REPLICATE)

    def apply_to_keypoints(self, keypoints, centre, normal, delta, width, **params) -> np.ndarray:
        xy = keypoints[:, :2].astype(np.float64)
        s = (xy - centre[None, :]) @ normal
        moved = xy + (delta * np.exp(-((s / width) ** 2)))[:, None] * normal[None, :]
        return _keypoints_xy(keypoints, moved)


class _HoleTransform(DualTransform):
    """Shared code of transforms that cut holes in the page: paint ``fill`` there and clear the page mask."""

    geometric = False
    uses_page_mask = True

    def __init__(self, fill: Sequence[float] | float, rim: float, p: float):
        super().__init__(p=p)
        self.fill = _as_rgb(fill)
        self.rim = float(rim)

    def _polygons(self, rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
        raise NotImplementedError

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        return {"polys": self._polygons(self.random_generator, h, w)}

    def apply(self, img: np.ndarray, polys, **params) -> np.ndarray:
        out = img.copy()
        colour = self.fill if out.ndim == 3 else float(np.mean(self.fill))
        if self.rim > 0:  # torn paper shows a thin light fibrous edge
            rim_colour = (245.0, 243.0, 238.0) if out.ndim == 3 else 244.0
            cv2.polylines(
                out,
                [np.round(p * 16).astype(np.int32) for p in polys],
                True,
                rim_colour,
                max(1, round(2 * self.rim)),
                cv2.LINE_AA,
                4,
            )
        _fill_polys(out, polys, colour)
        return out

    def apply_to_mask(self, mask: np.ndarray, polys, **params) -> np.ndarray:
        out = mask.copy()
        _fill_polys(out, polys, 0)
        return out

    def apply_to_keypoints(self, keypoints: np.ndarray, **params) -> np.ndarray:
        return keypoints


class TornEdges(_HoleTransform):
    """Torn corners and edge notches: jagged pieces of the page are missing (filled with ``fill``, mask cleared).

    Args:
        count_range: number of tears.
        corner_p: probability that a tear takes a corner (else a notch in an edge).
        depth_range: tear size as a fraction of the image's shorter side.
        fill: colour of what shows through (a following :class:`PageOnBackground` replaces it with its background).
        rim: width in px of the light fibrous rim along the tear.
    """

    def __init__(
        self,
        count_range: Sequence[float] = (1, 3),
        corner_p: float = 0.6,
        depth_range: Sequence[float] = (0.03, 0.15),
        fill: Sequence[float] | float = (40, 40, 40),
        rim: float = 1.0,
        p: float = 0.7,
    ):
        super().__init__(fill=fill, rim=rim, p=p)
        self.count_range = _range(count_range, "count_range")
        self.corner_p = float(corner_p)
        self.depth_range = _range(depth_range, "depth_range")

    def _polygons(self, rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
        polys = []
        short = min(h, w)
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
        for _ in range(_randint(rng, self.count_range)):
            depth = _uniform(rng, self.depth_range) * short
            if rng.random() < self.corner_p:
                k = int(rng.integers(4))
                c = corners[k]
                dir_a = np.sign(corners[(k + 1) % 4] - c)  # along one edge
                dir_b = np.sign(corners[(k - 1) % 4] - c)  # along the other
                a = c + dir_a * depth * rng.uniform(0.5, 1.5)
                b = c + dir_b * depth * rng.uniform(0.5, 1.5)
                path = _jagged_path(rng, a, b, 40, depth * 0.04)
                # close the polygon just outside the page so no sliver of paper survives along the edges
                polys.append(
                    np.concatenate([[c - 3 * (dir_a + dir_b)], [a - 3 * dir_b], path, [b - 3 * dir_a]])
                )
            else:
                edge = int(rng.integers(4))
                p0, p1 = corners[edge], corners[(edge + 1) % 4]
                t = rng.uniform(0.1, 0.9)
                half = depth * rng.uniform(0.6, 1.5) / max(1.0, float(np.hypot(*(p1 - p0))))
                a = p0 + (p1 - p0) * max(0.0, t - half)
                b = p0 + (p1 - p0) * min(1.0, t + half)
                inward = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / float(np.hypot(*(p1 - p0)))
                tip = (a + b) / 2 + inward * depth
                path = np.concatenate(
                    [
                        _jagged_path(rng, a, tip, 20, depth * 0.05),
                        _jagged_path(rng, tip, b, 20, depth * 0.05)[1:],
                    ]
                )
                polys.append(np.concatenate([[a - inward * 3], path, [b - inward * 3]]))
        return polys


class MissingPatches(_HoleTransform):
    """Missing pieces inside the page (holes with ragged borders); filled with ``fill``, mask cleared.

    Args:
        count_range: number of holes.
        size_range: hole radius as a fraction of the image's shorter side.
        fill: colour of what shows through (a following :class:`PageOnBackground` replaces it).
        rim: width in px of the light fibrous rim.
    """

    def __init__(
        self,
        count_range: Sequence[float] = (1, 3),
        size_range: Sequence[float] = (0.015, 0.06),
        fill: Sequence[float] | float = (40, 40, 40),
        rim: float = 1.0,
        p: float = 0.5,
    ):
        super().__init__(fill=fill, rim=rim, p=p)
        self.count_range = _range(count_range, "count_range")
        self.size_range = _range(size_range, "size_range")

    def _polygons(self, rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
        polys = []
        for _ in range(_randint(rng, self.count_range)):
            r = _uniform(rng, self.size_range) * min(h, w)
            polys.append(
                _blob_polygon(rng, rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h, r, n=64)
            )
        return polys


_BACKGROUNDS = ("wood", "desk", "dark", "fabric")


def _background(rng: np.random.Generator, kind: str, lh: int, lw: int) -> np.ndarray:
    """A low-resolution (lh x lw x 3 float32, 0-255) table / desk texture; callers upsample it."""
    if kind == "random":
        kind = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))]
    if kind == "wood":
        base = np.array([rng.uniform(110, 190), rng.uniform(70, 130), rng.uniform(35, 80)], np.float32)
        if rng.random() < 0.5:  # grain along x: fast variation down the rows, slow along the columns
            streaks = rng.standard_normal((max(2, lh // 3), max(2, lw // 48)))
        else:  # grain along y
            streaks = rng.standard_normal((max(2, lh // 48), max(2, lw // 3)))
        grain = cv2.resize(streaks.astype(np.float32), (lw, lh), interpolation=cv2.INTER_CUBIC)
        tex = 1.0 + 0.12 * grain + 0.05 * _smooth_noise(rng, lh, lw, 24)
    elif kind == "desk":
        base = np.full(3, rng.uniform(150, 235), np.float32) + rng.normal(0, 8, 3).astype(np.float32)
        tex = (
            1.0
            + 0.04 * _smooth_noise(rng, lh, lw, 64)
            + 0.01 * rng.standard_normal((lh, lw)).astype(np.float32)
        )
    elif kind == "dark":
        base = np.full(3, rng.uniform(10, 60), np.float32) + rng.normal(0, 4, 3).astype(np.float32)
        tex = 1.0 + 0.15 * _smooth_noise(rng, lh, lw, 48)
    elif kind == "fabric":
        base = rng.uniform(40, 200, 3).astype(np.float32)
        yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
        period = rng.uniform(2.5, 5)
        weave = 0.06 * np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
        tex = 1.0 + weave + 0.06 * _smooth_noise(rng, lh, lw, 32)
    else:
        raise ValueError(f"unknown background {kind!r}; valid: {', '.join((*_BACKGROUNDS, 'random'))}")
    return np.clip(tex[..., None] * base[None, None, :], 0, 255).astype(np.float32)


def _warp_h(img: np.ndarray, matrix: np.ndarray, dsize: tuple[int, int], flags: int, **kw) -> np.ndarray:
    """``warpAffine`` when the 3 x 3 ``matrix`` is affine (a little faster), else ``warpPerspective``."""
    if np.array_equal(matrix[2], [0.0, 0.0, 1.0]):
        return cv2.warpAffine(img, matrix[:2], dsize, flags=flags, **kw)
    return cv2.warpPerspective(img, matrix, dsize, flags=flags, **kw)


def _apply_h(xy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Points (n, 2) through the 3 x 3 homography ``matrix``, in float64."""
    p = xy @ matrix[:, :2].T + matrix[:, 2][None, :]
    return p[:, :2] / p[:, 2:3]


class PageOnBackground(DualTransform):
    """Photograph the page on a table: scale, rotate, tilt (perspective) and place it on a background texture.

    One resampling does it all (the camera's perspective included), so strokes stay as sharp as possible and the
    keypoints move by the exact same homography. With ``keep_size`` the output has the input's size and the page
    shrinks inside it; otherwise the canvas grows to ``size / scale``. Holes of the page mask (torn edges, missing
    patches) show the background; the page casts a soft drop shadow.

    Args:
        scale_range: page size relative to the canvas.
        rotate_range: page rotation, degrees (counter-clockwise positive, as albumentations' ``Affine``).
        perspective_range: std of the random corner displacements, as a fraction of the page size (like
            albumentations' ``Perspective(scale=...)``); 0 = no tilt.
        fit: shrink the scale when needed so the rotated (and tilted) page stays inside the canvas.
        shift: fraction of the free room used for a random off-centre shift.
        background: "wood", "desk", "dark", "fabric" or "random".
        shadow_range: opacity of the page's soft drop shadow.
        keep_size: keep the input size (True) or grow the canvas (False).
    """

    geometric = True

    def __init__(
        self,
        scale_range: Sequence[float] = (0.75, 0.95),
        rotate_range: Sequence[float] = (-15.0, 15.0),
        perspective_range: Sequence[float] = (0.0, 0.0),
        fit: bool = True,
        shift: float = 0.8,
        background: str = "random",
        shadow_range: Sequence[float] = (0.0, 0.5),
        keep_size: bool = True,
        p: float = 1.0,
    ):
        super().__init__(p=p)
        if background not in (*_BACKGROUNDS, "random"):
            raise ValueError(
                f"unknown background {background!r}; valid: {', '.join((*_BACKGROUNDS, 'random'))}"
            )
        self.scale_range = _range(scale_range, "scale_range")
        if not 0 < self.scale_range[0] <= self.scale_range[1] <= 1.0:
            raise ValueError(f"PageOnBackground: scale_range must lie in (0, 1], got {self.scale_range}")
        self.rotate_range = _range(rotate_range, "rotate_range")
        self.perspective_range = _range(perspective_range, "perspective_range")
        if self.perspective_range[0] < 0.0 or self.perspective_range[1] > 0.1:
            raise ValueError(
                f"PageOnBackground: perspective_range must lie in [0, 0.1], got {perspective_range}"
            )
        self.fit = bool(fit)
        self.shift = float(shift)
        self.background = background
        self.shadow_range = _range(shadow_range, "shadow_range")
        self.keep_size = bool(keep_size)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        s = _uniform(rng, self.scale_range)
        theta = math.radians(_uniform(rng, self.rotate_range))
        tilt = _uniform(rng, self.perspective_range)
        c, si = abs(math.cos(theta)), abs(math.sin(theta))
        if self.keep_size:
            ch, cw = h, w
        else:
            ch, cw = math.ceil(h / s), math.ceil(w / s)
            s = 1.0
        page_scale = s
        if self.fit:  # the rotated page's bounding box, plus room for the tilt, must fit the canvas
            room = 0.98 / (1.0 + 4.0 * tilt)
            page_scale = min(s, room * cw / (w * c + h * si), room * ch / (w * si + h * c))
        ex = 0.5 * page_scale * (w * c + h * si) * (1.0 + 4.0 * tilt)
        ey = 0.5 * page_scale * (w * si + h * c) * (1.0 + 4.0 * tilt)
        room_x, room_y = max(0.0, cw / 2 - ex), max(0.0, ch / 2 - ey)
        tx = (cw - 1) / 2 + self.shift * rng.uniform(-room_x, room_x)
        ty = (ch - 1) / 2 + self.shift * rng.uniform(-room_y, room_y)
        # counter-clockwise on screen (y down): x' = cos*x + sin*y, y' = -sin*x + cos*y (albumentations' sign)
        ct, st = math.cos(theta) * page_scale, math.sin(theta) * page_scale
        lin = np.array([[ct, st], [-st, ct]])
        page_c = np.array([(w - 1) / 2, (h - 1) / 2])
        t = np.array([tx, ty]) - lin @ page_c
        matrix = np.array([[lin[0, 0], lin[0, 1], t[0]], [lin[1, 0], lin[1, 1], t[1]], [0.0, 0.0, 1.0]])
        if tilt > 0:  # move the placed page's corners at random: the camera is not square to the table
            corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
            placed = _apply_h(corners, matrix)
            size = page_scale * np.array([w, h], np.float64)
            moved = placed + np.clip(rng.normal(0.0, tilt, (4, 2)), -3 * tilt, 3 * tilt) * size
            matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), moved.astype(np.float32))
        mask = data.get("mask")
        return {
            "matrix": matrix,
            "canvas_hw": (ch, cw),
            # warped once here: apply() composites holes with it and apply_to_mask() returns it
            "warped_mask": None
            if mask is None
            else _warp_h(mask, matrix, (cw, ch), cv2.INTER_NEAREST, borderValue=0),
            "has_holes": mask is not None and not bool(mask.min() > 0),
            "bg_seed": int(rng.integers(2**31)),
            "shadow": _uniform(rng, self.shadow_range),
            "shadow_offset": rng.normal(0, 0.006, 2) * max(h, w),
        }

    def apply(
        self, img, matrix, canvas_hw, warped_mask, has_holes, bg_seed, shadow, shadow_offset, **params
    ) -> np.ndarray:
        ch, cw = canvas_hw
        h, w = img.shape[:2]
        f = 4  # background and shadow are built at 1/4 resolution
        lh, lw = math.ceil(ch / f), math.ceil(cw / f)
        bg = _background(np.random.default_rng(bg_seed), self.background, lh, lw)
        if shadow > 0.01:  # soft drop shadow of the page
            corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
            quad = (_apply_h(corners, matrix) + shadow_offset) / f
            sh = np.zeros((lh, lw), np.float32)
            cv2.fillConvexPoly(sh, np.round(quad * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
            sh = cv2.GaussianBlur(sh, (0, 0), max(1.0, 0.012 * max(ch, cw) / f))
            bg *= (1.0 - shadow * np.clip(sh, 0, 1))[..., None]
        bg = cv2.resize(np.clip(bg + 0.5, 0, 255).astype(np.uint8), (cw, ch), interpolation=cv2.INTER_LINEAR)
        if img.ndim == 2:
            bg = cv2.cvtColor(bg, cv2.COLOR_RGB2GRAY)
        bare = bg.copy() if has_holes else None
        out = _warp_h(img, matrix, (cw, ch), cv2.INTER_LINEAR, dst=bg, borderMode=cv2.BORDER_TRANSPARENT)
        if has_holes:  # torn-off or missing paper shows the background (outside the page it already does)
            cv2.copyTo(bare, (warped_mask == 0).view(np.uint8), out)
        return out

    def apply_to_mask(self, mask, warped_mask, **params) -> np.ndarray:
        return warped_mask

    def apply_to_keypoints(self, keypoints, matrix, **params) -> np.ndarray:
        return _keypoints_xy(keypoints, _apply_h(keypoints[:, :2].astype(np.float64), matrix))


#: Every custom transform by class name (the registry in :mod:`ecgdl.aug.degradation` looks here first).
CUSTOM_TRANSFORMS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Binarize,
        Creases,
        DiskBlur,
        Fold,
        Glare,
        MissingPatches,
        Moire,
        MoldSpots,
        PageOnBackground,
        PaperTint,
        PixelGrid,
        SensorNoise,
        Speckle,
        Stains,
        TornEdges,
        UnevenLighting,
        WavyDistortion,
    )
}
