"""Page geometry: find the grid's line directions and rectify the page so grid lines are straight and axis-aligned.

The paper grid (and the horizontal traces) are two families of straight lines. Their directions are found by
projection-profile sharpness: the ink of a line family piles up in few bins when projected along the family's true
direction. Angles are searched coarse-to-fine on a downscaled line-emphasis image.

* Deskew: the global angles of the near-horizontal and near-vertical families.
* Perspective: the angle of each family is also measured in bands across the page (top/middle/bottom for the
  horizontal lines, left/middle/right for the vertical ones). Under a homography every family converges to a
  vanishing point; the two points are fitted by least squares and a homography sends them to infinity along x and
  y (it reduces to a rotation / shear when the lines are parallel). Scale is kept at the page centre, so px/mm
  stays close to the original; the calibration stage measures the x and y scales separately anyway.
* Page edges: when no grid line family is found, the page outline (a bright quadrilateral on a darker
  background) is used instead, if there is one.

The homographies built from the measured directions, and warping a page with one, are in
:mod:`~ecgdl.classical.homography` (:class:`Rectification`, :func:`warp_image` ... can be imported from
here too).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft as sp_fft

from ecgdl.classical.homography import (
    Rectification,
    fit_canvas,
    homography_from_vanishing_points,
    rotation_homography,
    warp_image,
)

__all__ = [
    "Rectification",
    "estimate_line_angles",
    "estimate_rectification",
    "homography_from_vanishing_points",
    "line_emphasis",
    "rotation_homography",
    "warp_image",
]


# ---------------------------------------------------------------------------------------------- line emphasis
def line_emphasis(image_rgb: np.ndarray, max_side: int = 1000) -> tuple[np.ndarray, float]:
    """A downscaled float32 map of thin dark structure (grid lines and traces), and the scale used.

    Luminance darkness relative to the local paper brightness, minus its local mean (a top-hat), so broad shading
    and large dark areas drop out and thin lines of any colour remain.
    """
    h, w = image_rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(
            grey, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    g = grey.astype(np.float32)
    k = 9
    paper = cv2.dilate(g, np.ones((k, k), np.uint8))
    paper = cv2.blur(paper, (2 * k + 1, 2 * k + 1))
    dark = np.clip(1.0 - g / np.maximum(paper, 1.0), 0.0, 1.0)
    local = cv2.blur(dark, (k, k))
    emph = np.clip(dark - local, 0.0, None)
    return emph, scale


def _strong_points(emph: np.ndarray, max_points: int = 30000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, weight) of line pixels, evenly subsampled to at most ``max_points``.

    Weights are clipped at a high percentile so that a few very dark thick strokes (the traces) do not outweigh
    the many faint grid-line pixels.
    """
    flat = emph.ravel()
    pos = flat[flat > 0.02]
    if pos.size < 50:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    hi = float(np.percentile(pos, 99.0))
    idx = np.flatnonzero(flat > max(0.02, 0.15 * hi))
    if idx.size > max_points:
        idx = idx[:: int(np.ceil(idx.size / max_points))]
    vals = flat[idx].astype(np.float64)
    vals = np.minimum(vals, np.percentile(vals, 60.0))
    ys, xs = np.divmod(idx, emph.shape[1])
    return xs.astype(np.float64), ys.astype(np.float64), vals


def _profile_score(r: np.ndarray, w: np.ndarray, bin_px: float) -> float:
    """Sharpness of the projected profile: sum of squared (linearly binned) bin masses."""
    if r.size == 0:
        return 0.0
    u = (r - r.min()) / bin_px
    i0 = np.floor(u).astype(np.int64)
    f = u - i0
    n = int(i0.max()) + 2
    prof = np.bincount(i0, weights=w * (1 - f), minlength=n) + np.bincount(i0 + 1, weights=w * f, minlength=n)
    return float(np.dot(prof, prof))


def _normal_coord(x: np.ndarray, y: np.ndarray, angle_deg: float, family: str) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    if family == "h":  # lines with direction (cos a, sin a): project on the normal (-sin a, cos a)
        return -x * np.sin(a) + y * np.cos(a)
    # lines with direction (-sin a, cos a): project on the normal (cos a, sin a)
    return x * np.cos(a) + y * np.sin(a)


def _search_angle(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    family: str,
    centre_deg: float,
    half_range_deg: float,
) -> tuple[float, float]:
    """Angle of the sharpest projection within ``centre +- half_range``; returns (angle, peakiness).

    A dense search with one-bin angular steps (a periodic grid has alias peaks one line period apart across the
    page, so the search must not skip the true, narrow peak), then a five-times finer one with parabolic
    interpolation. Peakiness is the best score over the median score of the dense search.
    """
    if x.size < 50:
        return centre_deg, 1.0
    extent = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    step = float(np.rad2deg(1.0 / extent))
    angles = np.arange(centre_deg - half_range_deg, centre_deg + half_range_deg + 1e-9, step)
    scores = np.array([_profile_score(_normal_coord(x, y, a, family), w, 1.0) for a in angles])
    peak = float(scores.max()) / (float(np.median(scores)) or 1.0)
    best = float(angles[int(np.argmax(scores))])
    fine = step / 5.0
    angles = np.arange(best - 6 * fine, best + 6 * fine + 1e-9, fine)
    scores = np.array([_profile_score(_normal_coord(x, y, a, family), w, 1.0) for a in angles])
    k = int(np.argmax(scores))
    best = float(angles[k])
    if 0 < k < len(angles) - 1:
        s0, s1, s2 = scores[k - 1], scores[k], scores[k + 1]
        den = s0 - 2 * s1 + s2
        if den < 0:
            best += float(np.clip(0.5 * (s0 - s2) / den, -0.5, 0.5)) * fine
    return best, peak


def spectral_line_angles(emph: np.ndarray, res_deg: float = 0.1) -> tuple[float, float, float, float]:
    """Coarse angles (deg) of the near-horizontal and near-vertical line families from the 2-D power spectrum.

    Straight lines concentrate spectral energy along the direction normal to them; the whitened spectrum's
    angular histogram peaks there. Returns ``(angle_h, angle_v, peak_h, peak_v)`` where peak is the histogram
    maximum over its median (about 1 when there is no line family). ``angle_h`` is the direction of horizontal
    lines from the x axis (y pointing down), ``angle_v`` that of vertical lines from the y axis (equal for a pure
    rotation). Precision is a few tenths of a degree; :func:`estimate_line_angles` refines it.
    """
    h, w = emph.shape
    step = max(1, int(np.ceil(max(h, w) / 768)))
    if step > 1:
        emph = emph[::step, ::step]
        h, w = emph.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    spec = sp_fft.rfft2((emph - emph.mean()) * win, workers=1)
    power = spec.real**2 + spec.imag**2
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    r = np.sqrt(fx**2 + fy**2)
    sel = (r > 1.0 / 48.0) & (r < 0.45)
    rs = r[sel]
    ang = np.rad2deg(np.arctan2(np.broadcast_to(fy, r.shape)[sel], np.broadcast_to(fx, r.shape)[sel]))
    logp = np.log(power[sel].astype(np.float64) + 1e-12)
    # Whiten by the (geometric) mean power of each radial ring.
    ring = np.minimum((rs * 256).astype(np.int64), 255)
    cnt = np.maximum(np.bincount(ring, minlength=256), 1)
    ring_mean = np.bincount(ring, weights=logp, minlength=256) / cnt
    pw = np.exp(np.minimum(logp - ring_mean[ring], np.log(1e3)))
    nb = round(180.0 / res_deg)
    hist = np.bincount(np.round((ang + 90.0) / res_deg).astype(np.int64) % nb, weights=pw, minlength=nb)
    hist = np.convolve(np.r_[hist[-2:], hist, hist[:2]], np.ones(5) / 5.0, mode="valid")
    base = float(np.median(hist)) or 1.0
    angles = np.arange(nb) * res_deg - 90.0
    # Vertical lines put energy near 0 deg, horizontal lines near +-90 deg (direction + 90).
    near_v = np.abs(angles) <= 25.0
    kv = int(np.argmax(np.where(near_v, hist, -1.0)))
    near_h = np.abs(angles) >= 65.0
    kh = int(np.argmax(np.where(near_h, hist, -1.0)))
    ah = angles[kh] - 90.0 if angles[kh] > 0 else angles[kh] + 90.0
    return float(ah), float(angles[kv]), float(hist[kh] / base), float(hist[kv] / base)


def estimate_line_angles(
    emph: np.ndarray, max_angle_deg: float = 20.0, max_points: int = 40000
) -> tuple[float, float, float, float]:
    """Global angles (deg) of the near-horizontal and near-vertical line families, refined, and their peakiness.

    Spectral estimate (:func:`spectral_line_angles`) refined by projection-profile sharpness.
    """
    ah, av, ph, pv = spectral_line_angles(emph)
    x, y, w = _strong_points(emph, max_points)
    ah, _ = _search_angle(x, y, w, "h", ah, 0.6)
    av, _ = _search_angle(x, y, w, "v", av, 0.6)
    if abs(ah) > max_angle_deg:
        ah = float(np.clip(ah, -max_angle_deg, max_angle_deg))
    return ah, av, ph, pv


# ------------------------------------------------------------------------------------------- vanishing points
def _fit_vanishing_point(lines: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Least-squares common point of homogeneous lines (smallest eigenvector of sum w l l^T)."""
    M = np.zeros((3, 3))
    for ln, wt in zip(lines, weights, strict=True):
        ln = ln / np.hypot(ln[0], ln[1])
        M += wt * np.outer(ln, ln)
    _, vecs = np.linalg.eigh(M)
    return vecs[:, 0]


def _line_through(cx: float, cy: float, angle_deg: float, family: str) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    d = np.array([np.cos(a), np.sin(a)]) if family == "h" else np.array([-np.sin(a), np.cos(a)])
    p = np.array([cx, cy, 1.0])
    q = np.array([cx + d[0], cy + d[1], 1.0])
    return np.cross(p, q)


# ---------------------------------------------------------------------------------------------- estimation
@dataclass
class _Directions:
    """Vanishing points (work coordinates) of both families and what was measured."""

    vh: np.ndarray
    vv: np.ndarray
    angle_h: float
    angle_v: float
    perspective: bool
    band_angles: dict[str, list[float]]


def _measure_directions(
    emph: np.ndarray,
    ah0: float,
    av0: float,
    vertical_ok: bool,
    *,
    search_deg: float,
    n_bands: int,
    perspective: bool,
    min_perspective_deg: float,
    max_points: int,
) -> _Directions:
    """Refine the two families' angles in bands across the page and fit their vanishing points."""
    x, y, wt = _strong_points(emph, max_points)
    eh, ew = emph.shape
    band_angles: dict[str, list[float]] = {"h": [], "v": []}
    lines: dict[str, list[np.ndarray]] = {"h": [], "v": []}
    weights: dict[str, list[float]] = {"h": [], "v": []}
    n = n_bands if perspective else 1
    for family, a0 in (("h", ah0), ("v", av0)):
        if family == "v" and not vertical_ok:
            continue
        for k in range(n):
            if family == "h":
                lo, hi = eh * k / n, eh * (k + 1) / n
                sel = (y >= lo) & (y < hi)
                centre = (ew / 2.0, (lo + hi) / 2.0)
            else:
                lo, hi = ew * k / n, ew * (k + 1) / n
                sel = (x >= lo) & (x < hi)
                centre = ((lo + hi) / 2.0, eh / 2.0)
            if sel.sum() < 300:
                continue
            sub = emph[int(lo) : int(np.ceil(hi))] if family == "h" else emph[:, int(lo) : int(np.ceil(hi))]
            sa_h, sa_v, sp_h, sp_v = spectral_line_angles(sub)
            a_spec, p_spec = (sa_h, sp_h) if family == "h" else (sa_v, sp_v)
            if p_spec < 2.0 or abs(a_spec - a0) > search_deg:
                continue
            a, _ = _search_angle(x[sel], y[sel], wt[sel], family, a_spec, 0.4)
            band_angles[family].append(a)
            lines[family].append(_line_through(*centre, a, family))
            weights[family].append(float(wt[sel].sum()))
    ah = float(np.average(band_angles["h"], weights=weights["h"])) if band_angles["h"] else ah0
    av = float(np.average(band_angles["v"], weights=weights["v"])) if band_angles["v"] else ah
    a_h, a_v = np.deg2rad(ah), np.deg2rad(av)
    vh = np.array([np.cos(a_h), np.sin(a_h), 0.0])
    vv = np.array([-np.sin(a_v), np.cos(a_v), 0.0])
    persp = False
    for family in ("h", "v"):
        if len(lines[family]) >= 2 and np.ptp(band_angles[family]) >= min_perspective_deg:
            vp = _fit_vanishing_point(lines[family], weights[family])
            if family == "h":
                vh = vp
            else:
                vv = vp
            persp = True
    return _Directions(vh, vv, ah, av, persp, band_angles)


def estimate_rectification(
    image_rgb: np.ndarray,
    *,
    max_angle_deg: float = 20.0,
    min_angle_deg: float = 0.05,
    perspective: bool = True,
    min_perspective_deg: float = 0.3,
    work_side_px: int = 1000,
    n_bands: int = 3,
    min_peakiness: float = 3.0,
    max_points: int = 30000,
) -> Rectification:
    """Measure the page's line directions and build the homography that makes them axis-aligned.

    ``min_angle_deg``: below this rotation (and with no significant perspective) the page is left as it is.
    ``min_perspective_deg``: the spread of band angles needed to model perspective instead of a plain
    rotation/shear. ``min_peakiness``: spectral peak-over-median needed to trust a line family. When perspective
    is found, a second pass on the rectified page removes what the first one left.
    """
    h, w = image_rgb.shape[:2]
    emph, scale = line_emphasis(image_rgb, work_side_px)
    ah0, av0, ph, pv = spectral_line_angles(emph)
    if ph < min_peakiness or abs(ah0) > max_angle_deg:
        edge = _page_edge_rectification(image_rgb, max_angle_deg)
        if edge is not None:
            return edge
        return Rectification(np.eye(3), (w, h), 0.0, 0.0, confidence=ph, method="none")
    vertical_ok = pv >= min_peakiness and abs(av0 - ah0) <= 12.0
    if not vertical_ok:
        av0 = ah0
    kw = dict(
        n_bands=n_bands,
        perspective=perspective,
        min_perspective_deg=min_perspective_deg,
        max_points=max_points,
    )
    d1 = _measure_directions(emph, ah0, av0, vertical_ok, search_deg=4.0 if perspective else 1.0, **kw)
    conf = float(min(ph, pv) if vertical_ok else ph)
    if (
        not d1.perspective
        and abs(d1.angle_h) < min_angle_deg
        and abs(d1.angle_v - d1.angle_h) < min_angle_deg
    ):
        return Rectification(
            np.eye(3), (w, h), d1.angle_h, d1.angle_v, confidence=conf, band_angles_deg=d1.band_angles
        )
    ew, eh = emph.shape[1], emph.shape[0]
    try:
        Hw, size_w = homography_from_vanishing_points(d1.vh, d1.vv, (ew, eh))
    except ValueError:
        Hw, size_w = rotation_homography(d1.angle_h, (ew, eh))
        d1.perspective = False
    used_persp = d1.perspective
    if d1.perspective:
        emph2 = cv2.warpPerspective(emph, Hw, size_w, flags=cv2.INTER_LINEAR)
        d2 = _measure_directions(emph2, 0.0, 0.0, vertical_ok, search_deg=2.0, **kw)
        if d2.perspective or abs(d2.angle_h) >= min_angle_deg or abs(d2.angle_v) >= min_angle_deg:
            try:
                H2, size_w = homography_from_vanishing_points(d2.vh, d2.vv, size_w)
                Hw = H2 @ Hw
            except ValueError:
                pass
    S = np.diag([scale, scale, 1.0])
    H = np.linalg.inv(S) @ Hw @ S
    try:
        H, size = fit_canvas(H, (w, h))
    except ValueError:
        H, size = rotation_homography(d1.angle_h, (w, h))
        used_persp = False
    return Rectification(
        H,
        size,
        d1.angle_h,
        d1.angle_v,
        perspective=used_persp,
        identity=False,
        confidence=conf,
        band_angles_deg=d1.band_angles,
    )


def _page_edge_rectification(image_rgb: np.ndarray, max_angle_deg: float) -> Rectification | None:
    """Rectify from the page outline: the largest bright convex quadrilateral, if it covers a good part."""
    h, w = image_rgb.shape[:2]
    scale = min(1.0, 800 / max(h, w))
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(
        grey, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    if area < 0.3 * small.size or area > 0.97 * small.size:
        return None
    quad = cv2.approxPolyDP(cv2.convexHull(c), 0.02 * cv2.arcLength(c, True), True)
    if len(quad) != 4:
        return None
    pts = quad.reshape(4, 2).astype(np.float64) / scale
    # order: top-left, top-right, bottom-right, bottom-left
    s = pts.sum(1)
    d = pts[:, 0] - pts[:, 1]
    tl, br = pts[np.argmin(s)], pts[np.argmax(s)]
    tr, bl = pts[np.argmax(d)], pts[np.argmin(d)]
    top, bottom = np.cross([*tl, 1], [*tr, 1]), np.cross([*bl, 1], [*br, 1])
    left, right = np.cross([*tl, 1], [*bl, 1]), np.cross([*tr, 1], [*br, 1])
    vh = np.cross(top, bottom)
    vv = np.cross(left, right)
    ah = float(np.rad2deg(np.arctan2(tr[1] - tl[1], tr[0] - tl[0])))
    av = float(np.rad2deg(np.arctan2(-(bl[0] - tl[0]), bl[1] - tl[1])))
    if abs(ah) > max_angle_deg:
        return None
    try:
        H, size = homography_from_vanishing_points(vh, vv, (w, h))
    except ValueError:
        return None
    return Rectification(
        H, size, ah, av, perspective=True, identity=False, confidence=1.0, method="page_edges"
    )
