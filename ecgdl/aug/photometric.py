"""Photometric degradations of paper and camera: paper tint, black-and-white thresholding, dust specks, uneven
lighting and cast shadows, sensor noise, salt-and-pepper noise and defocus blur.

All are :class:`albumentations.ImageOnlyTransform` subclasses: they change pixel values only, so the ground
truth passes through them unchanged. Conventions are in :mod:`ecgdl.aug.base`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from albumentations import ImageOnlyTransform

from ecgdl.aug.base import apply_gain, as_range, randint, smooth_noise, uniform

__all__ = [
    "Binarize",
    "ChromaSubsample",
    "DiskBlur",
    "PaperTint",
    "SaltPepper",
    "SensorNoise",
    "Speckle",
    "UnevenLighting",
]


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
        self.tint_range = as_range(tint_range, "tint_range")
        self.darken_range = as_range(darken_range, "darken_range")
        self.texture_range = as_range(texture_range, "texture_range")
        self.texture_cell_px = float(texture_cell_px)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        rng = self.random_generator
        tint = uniform(rng, self.tint_range)
        dark = uniform(rng, self.darken_range)
        gains = (1.0 - dark) * np.array([1.0, 1.0 - 0.5 * tint, 1.0 - tint], np.float32)
        texture = uniform(rng, self.texture_range)
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
        field = 1.0 + texture * smooth_noise(np.random.default_rng(texture_seed), lh, lw, 6.0)
        return apply_gain(img, field[..., None] * gains[None, None, :])


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
        self.threshold_range = as_range(threshold_range, "threshold_range")
        self.adaptive_p = float(adaptive_p)
        self.block_size_range = as_range(block_size_range, "block_size_range")
        self.offset_range = as_range(offset_range, "offset_range")
        self.ink_range = as_range(ink_range, "ink_range")
        self.paper_range = as_range(paper_range, "paper_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "adaptive": bool(rng.random() < self.adaptive_p),
            "threshold": uniform(rng, self.threshold_range) * 255.0,
            "block": 2 * (randint(rng, self.block_size_range) // 2) + 1,
            "offset": uniform(rng, self.offset_range),
            "ink": uniform(rng, self.ink_range),
            "paper": uniform(rng, self.paper_range),
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
        self.density_range = as_range(density_range, "density_range")
        self.radius_range = as_range(radius_range, "radius_range")
        self.dark_fraction = float(dark_fraction)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        n = int(rng.poisson(uniform(rng, self.density_range) * h * w / 1e6))
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
        self.gradient_range = as_range(gradient_range, "gradient_range")
        self.vignette_range = as_range(vignette_range, "vignette_range")
        self.blotch_range = as_range(blotch_range, "blotch_range")
        self.warm_range = as_range(warm_range, "warm_range")
        self.shadow_p = float(shadow_p)
        self.shadow_range = as_range(shadow_range, "shadow_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        gh, gw = max(8, h // 8), max(8, w // 8)
        yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        u, v = xx / (gw - 1) - 0.5, yy / (gh - 1) - 0.5
        ang = rng.uniform(0, 2 * np.pi)
        ramp = u * np.cos(ang) + v * np.sin(ang)  # in [-0.71, 0.71]
        field = 1.0 - uniform(rng, self.gradient_range) * (ramp + 0.71) / 1.42
        cx, cy = rng.uniform(-0.2, 0.2, 2)
        r2 = ((u - cx) ** 2 + (v - cy) ** 2) / 0.5
        field *= 1.0 - uniform(rng, self.vignette_range) * np.clip(r2, 0, 1.5) ** 1.5
        field *= 1.0 + uniform(rng, self.blotch_range) * smooth_noise(rng, gh, gw, 32.0)
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
                cv2.fillConvexPoly(shade, pts, float(uniform(rng, self.shadow_range)), cv2.LINE_AA, 4)
            shade = cv2.GaussianBlur(shade, (0, 0), rng.uniform(0.7, 3.0))
            field *= 1.0 - np.clip(shade, 0.0, 0.9)
        warm = uniform(rng, self.warm_range)
        gains = np.array([1.0 + warm, 1.0, 1.0 - warm], np.float32)
        return {"field": np.clip(field, 0.05, 1.5).astype(np.float32), "gains": gains}

    def apply(self, img: np.ndarray, field: np.ndarray, gains: np.ndarray, **params) -> np.ndarray:
        return apply_gain(img, field[..., None] * gains[None, None, :])


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
        self.std_range = as_range(std_range, "std_range")
        self.chroma_range = as_range(chroma_range, "chroma_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {
            "std": uniform(rng, self.std_range),
            "chroma": uniform(rng, self.chroma_range),
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


class SaltPepper(ImageOnlyTransform):
    """Impulse noise: single pixels set to a dark (pepper) or light (salt) grey level, all channels alike.

    :class:`Speckle` draws round specks one by one; this sets thousands of isolated pixels in one pass, as a
    noisy sensor, a faulty scanner line or a coarse halftone does.

    Args:
        amount_range: share of the pixels hit.
        salt_fraction: share of the hit pixels that turn light.
        pepper_range: grey levels of the dark pixels.
        salt_range: grey levels of the light pixels.
    """

    geometric = False

    def __init__(
        self,
        amount_range: Sequence[float] = (0.001, 0.01),
        salt_fraction: float = 0.5,
        pepper_range: Sequence[float] = (0, 40),
        salt_range: Sequence[float] = (215, 255),
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.amount_range = as_range(amount_range, "amount_range")
        if not 0.0 <= self.amount_range[0] <= self.amount_range[1] <= 1.0:
            raise ValueError(f"SaltPepper: amount_range must lie in [0, 1], got {amount_range}")
        self.salt_fraction = float(salt_fraction)
        self.pepper_range = as_range(pepper_range, "pepper_range")
        self.salt_range = as_range(salt_range, "salt_range")

    def get_params(self) -> dict[str, Any]:
        rng = self.random_generator
        return {"amount": uniform(rng, self.amount_range), "noise_seed": int(rng.integers(2**31))}

    def apply(self, img: np.ndarray, amount: float, noise_seed: int, **params) -> np.ndarray:
        h, w = img.shape[:2]
        rng = np.random.default_rng(noise_seed)
        n = int(rng.binomial(h * w, amount))
        where = rng.integers(0, h * w, n)
        salt = rng.random(n) < self.salt_fraction
        level = np.where(salt, rng.uniform(*self.salt_range, n), rng.uniform(*self.pepper_range, n)).astype(
            np.uint8
        )
        out = img.copy()
        flat = out.reshape(h * w, -1)
        flat[where] = level[:, None]
        return out


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
        self.radius_range = as_range(radius_range, "radius_range")
        if self.radius_range[0] <= 0:
            raise ValueError(f"DiskBlur: radius must be positive, got {self.radius_range}")

    def get_params(self) -> dict[str, Any]:
        return {"radius": uniform(self.random_generator, self.radius_range)}

    def apply(self, img: np.ndarray, radius: float, **params) -> np.ndarray:
        half = math.ceil(radius)
        sub = 8  # supersample the disk edge
        t = (np.arange((2 * half + 1) * sub) + 0.5) / sub - (half + 0.5)
        inside = (t[None, :] ** 2 + t[:, None] ** 2 <= radius**2).astype(np.float32)
        kernel = inside.reshape(2 * half + 1, sub, 2 * half + 1, sub).mean(axis=(1, 3))
        return cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE)


class ChromaSubsample(ImageOnlyTransform):
    """Colour kept at half resolution (4:2:0), as JPEG and HEIC files from phones, cameras and most scanners store
    it: the luma (BT.601 Y) stays, each chroma plane is averaged over 2 x 2 pixels and brought back to full size
    the way a decoder does, by repeating each sample (some HEVC decoders) or interpolating (libjpeg). Thin red
    grid lines lose saturation and a dark trace takes on its neighbours' colour for a pixel on either side.

    Args:
        linear_share: the share of pages whose chroma is interpolated rather than repeated.
    """

    geometric = False

    def __init__(self, linear_share: float = 0.5, p: float = 1.0):
        super().__init__(p=p)
        if not 0.0 <= linear_share <= 1.0:
            raise ValueError(f"linear_share must lie in [0, 1], got {linear_share}")
        self.linear_share = float(linear_share)

    def get_params(self) -> dict[str, Any]:
        return {"linear": bool(self.random_generator.uniform() < self.linear_share)}

    def apply(self, img: np.ndarray, linear: bool, **params) -> np.ndarray:
        if img.ndim != 3:
            return img
        h, w = img.shape[:2]
        ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
        half = cv2.resize(ycc[..., 1:], (math.ceil(w / 2), math.ceil(h / 2)), interpolation=cv2.INTER_AREA)
        ycc[..., 1:] = cv2.resize(
            half, (w, h), interpolation=cv2.INTER_LINEAR if linear else cv2.INTER_NEAREST
        )
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
