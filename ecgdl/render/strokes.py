"""Pen strokes: projecting caps for 1-px lines and supersampled drawing of any real pen width.

OpenCV rounds a pen to whole pixels; :func:`draw_supersampled` draws the traces ``factor`` times finer and
area-averages them back, so a pen draws as its own width within 1/factor px (used by the renderer).
"""

from __future__ import annotations

import cv2
import numpy as np

from ecgdl.render.truth import _SHIFT


def with_caps(pts_xy: np.ndarray, thickness_px: int) -> np.ndarray:
    """The polyline to draw for a trace whose samples are ``pts_xy`` (n >= 2, x ascending): a pen of width w
    inks w/2 around every point of its path, the ends included. OpenCV gives thick lines round caps but draws a
    1-px line from its first to its last point only, so those get a half-pixel projecting cap (extended along the
    first / last segment, what matplotlib, ECG-Image-Kit's renderer, does by default). Truth is unchanged: the
    caps carry no samples."""
    if thickness_px != 1:
        return pts_xy
    ends = []
    for a, b in ((pts_xy[0], pts_xy[1]), (pts_xy[-1], pts_xy[-2])):
        d = a - b
        norm = float(np.hypot(d[0], d[1]))
        ends.append(a + 0.5 * d / norm if norm > 0 else a)
    return np.vstack([ends[0], pts_xy, ends[1]])


def supersampled_thickness(width_px: float, factor: int) -> int:
    """The odd fine width nearest ``width_px * factor``: OpenCV's thick lines are 2k+1 px wide (thickness 2k and
    2k+1 both draw 2k+3 px for k >= 1, 2 draws 3), see :func:`draw_supersampled`."""
    return max(1, 2 * round((width_px * factor - 1) / 2) + 1)


def draw_supersampled(
    image: np.ndarray, polylines: list[np.ndarray], rgb: tuple[int, ...], width_px: float, factor: int
) -> None:
    """Ink ``polylines`` (1/2**_SHIFT px fixed point) into ``image`` with a pen ``width_px`` wide (within 1/factor
    px, see :func:`supersampled_thickness`): drawn as a coverage mask ``factor`` times finer (round caps
    and joins) and area-averaged back, so a pixel's darkness is the share of it the pen covers. Only the rows the
    traces span are drawn at the fine scale."""
    fine_width = supersampled_thickness(width_px, factor)
    # page pixel centre j -> fine pixel centre factor * j + (factor - 1) / 2
    fine = [(p.astype(np.int64) * factor + ((factor - 1) << _SHIFT) // 2).astype(np.int32) for p in polylines]
    ys = np.concatenate([p[:, 0, 1] for p in polylines]) / (1 << _SHIFT)
    pad = int(np.ceil(width_px)) + 2
    h, w = image.shape[:2]
    y0 = max(0, int(np.floor(ys.min())) - pad)
    y1 = min(h, int(np.ceil(ys.max())) + pad + 1)
    if y1 <= y0:
        return
    canvas = np.zeros(((y1 - y0) * factor, w * factor), np.uint8)
    offset = np.array([0, y0 * factor << _SHIFT], np.int32)
    # LINE_8 at the fine scale: the area average below does the anti-aliasing (LINE_AA would add ~0.7 fine px)
    fine = [p - offset for p in fine]
    thickness = 1 if fine_width == 1 else fine_width - 1  # OpenCV draws thickness 2k as 2k + 1 px
    cv2.polylines(canvas, fine, False, 255, thickness, cv2.LINE_8, shift=_SHIFT)
    # projecting caps, as matplotlib (ECG-Image-Kit) draws them: a square reaching half a width past each end
    # (it holds OpenCV's round cap); fillPoly inks both boundary pixels, hence half a pixel less each way
    half = (fine_width - 1) / 2 * (1 << _SHIFT)
    caps = []
    for line in fine:
        pts = line[:, 0].astype(np.float64)
        for a, rest in ((pts[0], pts[1:]), (pts[-1], pts[-2::-1])):
            away = a - rest[np.flatnonzero(np.any(rest != a, axis=1))[:1]]
            if not away.size:
                continue
            d = away[0] / np.hypot(*away[0]) * half
            n = np.array([-d[1], d[0]])
            caps.append(np.round([a + n, a + n + d, a - n + d, a - n]).astype(np.int32))
    if caps:
        cv2.fillPoly(canvas, caps, 255, cv2.LINE_8, shift=_SHIFT)
    cover = (
        cv2.resize(canvas, (w, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255.0
    )
    band = image[y0:y1].astype(np.float32)
    ink = np.asarray(rgb, np.float32).reshape(1, 1, -1)
    image[y0:y1] = np.round(band * (1.0 - cover) + ink * cover).astype(np.uint8)
