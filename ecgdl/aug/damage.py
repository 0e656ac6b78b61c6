"""Damage to the paper: stains, creases, mould, torn edges and missing patches.

None of them moves points. Stains, creases and mould are :class:`albumentations.ImageOnlyTransform`
subclasses; torn edges and missing patches are :class:`albumentations.DualTransform` subclasses that keep the
geometry but clear a *page mask* (the ``mask`` target, 255 = paper), so that a later
:class:`~ecgdl.aug.geometric.PageOnBackground` shows the background through the holes. Conventions are in
:mod:`ecgdl.aug.base`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from albumentations import DualTransform, ImageOnlyTransform

from ecgdl.aug.base import apply_gain, as_range, randint, smooth_noise, uniform

__all__ = [
    "Creases",
    "MissingPatches",
    "MoldSpots",
    "Stains",
    "TornEdges",
]


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


def _blend_towards(roi: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``roi * (1 - alpha) + colour * alpha`` with alpha (h, w) in [0, 1]; returns uint8."""
    a = alpha[..., None].astype(np.float32)
    out = roi.astype(np.float32) * (1.0 - a) + colour.astype(np.float32)[None, None, :] * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


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
        self.count_range = as_range(count_range, "count_range")
        self.size_range = as_range(size_range, "size_range")
        self.opacity_range = as_range(opacity_range, "opacity_range")
        self.rim_range = as_range(rim_range, "rim_range")
        self.colours = tuple(_as_rgb(c) for c in colours)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        stains = []
        for _ in range(randint(rng, self.count_range)):
            r = uniform(rng, self.size_range) * min(h, w)
            stains.append(
                {
                    "poly": _blob_polygon(rng, rng.uniform(0, w), rng.uniform(0, h), r),
                    "radius": r,
                    "opacity": uniform(rng, self.opacity_range),
                    "rim": uniform(rng, self.rim_range),
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
            mottle = 1.0 + 0.35 * smooth_noise(rng, lh, lw, max(2.0, r / f / 4))
            inside = (mask > 0).astype(np.float32)
            alpha = inside * (st["opacity"] * np.clip(mottle, 0.3, 1.7) + st["rim"] * np.exp(-dist / rim_w))
            alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), max(0.6, 1.2 / f)), 0.0, 0.9)
            gain = 1.0 - alpha[..., None] * (1.0 - st["colour"][None, None, :] / 255.0)
            out[y0:y1, x0:x1] = apply_gain(out[y0:y1, x0:x1], gain)  # upsampled from 1/f resolution
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
        self.count_range = as_range(count_range, "count_range")
        self.darkness_range = as_range(darkness_range, "darkness_range")
        self.length_range = as_range(length_range, "length_range")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        diag = math.hypot(h, w)
        creases = []
        for _ in range(randint(rng, self.count_range)):
            length = uniform(rng, self.length_range) * diag
            n = max(8, int(length / 40))
            ang = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.06, n))
            steps = np.stack([np.cos(ang), np.sin(ang)], axis=1) * (length / n)
            start = rng.uniform((0, 0), (w, h))
            pts = start + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
            creases.append((pts, uniform(rng, self.darkness_range), int(rng.integers(1, 3))))
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
        self.cluster_range = as_range(cluster_range, "cluster_range")
        self.spots_range = as_range(spots_range, "spots_range")
        self.cluster_size_range = as_range(cluster_size_range, "cluster_size_range")
        self.spot_radius_range = as_range(spot_radius_range, "spot_radius_range")
        self.opacity_range = as_range(opacity_range, "opacity_range")
        self.colours = tuple(_as_rgb(c) for c in colours)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        clusters = []
        for _ in range(randint(rng, self.cluster_range)):
            sigma = uniform(rng, self.cluster_size_range) * min(h, w)
            centre = rng.uniform((0, 0), (w, h))
            n = randint(rng, self.spots_range)
            # a few sub-clusters make the colony patchy
            subs = centre + rng.normal(0, sigma * 0.6, (int(rng.integers(1, 5)), 2))
            xy = subs[rng.integers(len(subs), size=n)] + rng.normal(0, sigma * 0.5, (n, 2))
            clusters.append(
                {
                    "xy": xy,
                    "weight": rng.uniform(0.3, 1.0, n),
                    "radius": uniform(rng, self.spot_radius_range),
                    "opacity": uniform(rng, self.opacity_range),
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
        fill: colour of what shows through (a following :class:`~ecgdl.aug.geometric.PageOnBackground` shows
            its background there).
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
        self.count_range = as_range(count_range, "count_range")
        self.corner_p = float(corner_p)
        self.depth_range = as_range(depth_range, "depth_range")

    def _polygons(self, rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
        polys = []
        short = min(h, w)
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
        for _ in range(randint(rng, self.count_range)):
            depth = uniform(rng, self.depth_range) * short
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
        fill: colour of what shows through (a following :class:`~ecgdl.aug.geometric.PageOnBackground` shows
            its background there).
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
        self.count_range = as_range(count_range, "count_range")
        self.size_range = as_range(size_range, "size_range")

    def _polygons(self, rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
        polys = []
        for _ in range(randint(rng, self.count_range)):
            r = uniform(rng, self.size_range) * min(h, w)
            polys.append(
                _blob_polygon(rng, rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h, r, n=64)
            )
        return polys
