"""Degradations that move pixels: a wavy soaked page, a fold, the page photographed on a table (scale,
rotation, perspective tilt, background texture, drop shadow) and the page turned by quarter turns.

Each is an :class:`albumentations.DualTransform` whose ``apply_to_keypoints`` moves points exactly (analytic
forward maps, no rounding), so the ground truth of a rendered page can follow the image; ``apply_to_mask``
moves the page mask of :mod:`ecgdl.aug.damage` along. Conventions are in :mod:`ecgdl.aug.base`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from albumentations import DualTransform

from ecgdl.aug.base import apply_gain, as_range, smooth_noise, uniform

__all__ = [
    "Fold",
    "PageOnBackground",
    "PageTurn",
    "WavyDistortion",
]


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
        self.amplitude_range = as_range(amplitude_range, "amplitude_range")
        self.wavelength_range = as_range(wavelength_range, "wavelength_range")
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
                    uniform(rng, self.amplitude_range),
                    uniform(rng, self.wavelength_range),
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
        self.position_range = as_range(position_range, "position_range")
        self.angle_range = as_range(angle_range, "angle_range")
        self.displacement_range = as_range(displacement_range, "displacement_range")
        self.width_range = as_range(width_range, "width_range")
        self.shade_range = as_range(shade_range, "shade_range")
        self.highlight_range = as_range(highlight_range, "highlight_range")
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
        tilt = math.radians(uniform(rng, self.angle_range))
        pos = uniform(rng, self.position_range)
        if horizontal:
            centre = np.array([(w - 1) / 2, pos * (h - 1)])
            normal = np.array([-math.sin(tilt), math.cos(tilt)])
        else:
            centre = np.array([pos * (w - 1), (h - 1) / 2])
            normal = np.array([math.cos(tilt), math.sin(tilt)])
        return {
            "centre": centre,
            "normal": normal,
            "delta": uniform(rng, self.displacement_range) * (1 if rng.random() < 0.5 else -1),
            "width": uniform(rng, self.width_range),
            "shade": uniform(rng, self.shade_range),
            "highlight": uniform(rng, self.highlight_range),
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
            band = apply_gain(band, gain_of_s[idx])
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
        tex = 1.0 + 0.12 * grain + 0.05 * smooth_noise(rng, lh, lw, 24)
    elif kind == "desk":
        base = np.full(3, rng.uniform(150, 235), np.float32) + rng.normal(0, 8, 3).astype(np.float32)
        tex = (
            1.0
            + 0.04 * smooth_noise(rng, lh, lw, 64)
            + 0.01 * rng.standard_normal((lh, lw)).astype(np.float32)
        )
    elif kind == "dark":
        base = np.full(3, rng.uniform(10, 60), np.float32) + rng.normal(0, 4, 3).astype(np.float32)
        tex = 1.0 + 0.15 * smooth_noise(rng, lh, lw, 48)
    elif kind == "fabric":
        base = rng.uniform(40, 200, 3).astype(np.float32)
        yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
        period = rng.uniform(2.5, 5)
        weave = 0.06 * np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
        tex = 1.0 + weave + 0.06 * smooth_noise(rng, lh, lw, 32)
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
        self.scale_range = as_range(scale_range, "scale_range")
        if not 0 < self.scale_range[0] <= self.scale_range[1] <= 1.0:
            raise ValueError(f"PageOnBackground: scale_range must lie in (0, 1], got {self.scale_range}")
        self.rotate_range = as_range(rotate_range, "rotate_range")
        self.perspective_range = as_range(perspective_range, "perspective_range")
        if self.perspective_range[0] < 0.0 or self.perspective_range[1] > 0.1:
            raise ValueError(
                f"PageOnBackground: perspective_range must lie in [0, 0.1], got {perspective_range}"
            )
        self.fit = bool(fit)
        self.shift = float(shift)
        self.background = background
        self.shadow_range = as_range(shadow_range, "shadow_range")
        self.keep_size = bool(keep_size)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        s = uniform(rng, self.scale_range)
        theta = math.radians(uniform(rng, self.rotate_range))
        tilt = uniform(rng, self.perspective_range)
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
            "shadow": uniform(rng, self.shadow_range),
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


class PageTurn(DualTransform):
    """The page turned by a multiple of 90 degrees: a landscape print scanned as portrait, a page fed upside down.

    A quarter turn is counter-clockwise on screen, as ``np.rot90``; pixels are only permuted (no resampling) and
    keypoints move by the same permutation, so pixel (x, y) of an H x W image lands on (y, W - 1 - x) after one
    turn, (W - 1 - x, H - 1 - y) after two and (H - 1 - y, x) after three. One or three turns swap the image's
    width and height.

    Args:
        turns: the numbers of quarter turns to draw from (any integers, taken modulo 4).
        weights: their relative weights (default: equal).
    """

    geometric = True

    def __init__(
        self,
        turns: Sequence[int] = (0, 1, 2, 3),
        weights: Sequence[float] | None = None,
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.turns = tuple(int(k) % 4 for k in turns)
        if not self.turns or any(float(k) != int(k) for k in turns):
            raise ValueError(f"PageTurn: turns must be a non-empty list of integers, got {turns!r}")
        w = np.ones(len(self.turns)) if weights is None else np.asarray(weights, np.float64)
        if w.shape != (len(self.turns),) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"PageTurn: weights must be {len(self.turns)} non-negative numbers with a positive sum, "
                f"got {weights!r}"
            )
        self.probs = w / w.sum()

    def get_params(self) -> dict[str, Any]:
        return {"turns": self.turns[int(self.random_generator.choice(len(self.turns), p=self.probs))]}

    def apply(self, img: np.ndarray, turns: int, **params) -> np.ndarray:
        return np.ascontiguousarray(np.rot90(img, turns)) if turns else img

    def apply_to_keypoints(self, keypoints: np.ndarray, turns: int, **params) -> np.ndarray:
        h, w = params["shape"][:2]
        x, y = keypoints[:, 0].astype(np.float64), keypoints[:, 1].astype(np.float64)
        if turns == 1:
            xy = np.stack([y, (w - 1) - x], axis=1)
        elif turns == 2:
            xy = np.stack([(w - 1) - x, (h - 1) - y], axis=1)
        elif turns == 3:
            xy = np.stack([(h - 1) - y, x], axis=1)
        else:
            return keypoints
        return _keypoints_xy(keypoints, xy)
