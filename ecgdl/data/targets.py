"""Training targets cut from a rendered page: resized full pages with trace masks, and per-lead crops with the
per-column trace position (in crop pixels) and the clean trace image an autoencoder learns to produce.

Crops are taken in the page's canonical (unwarped) frame: a geometrically degraded page is first mapped back
with the homography fitted between its truth points and the clean render's, as the classical page-geometry stage
does at inference, so that residual warps (folds, creases) and resampling blur stay in the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ecgdl.constants import LEADS
from ecgdl.render.truth import RenderTruth, _draw_polyline


@dataclass(frozen=True)
class CropSpec:
    """Crops are ``window_s`` seconds wide and ``height_mm`` tall, a row's zero-mV baseline at ``baseline_frac``."""

    height_px: int = 128
    width_px: int = 512
    window_s: float = 2.5
    height_mm: float = 40.0  # +2.2 / -1.8 mV at 10 mm/mV: tall R waves stay inside
    baseline_frac: float = 0.55  # where the baseline sits, from the crop top
    # training-time jitter of the crop window, so a network tolerates imperfect page geometry at inference:
    # baseline shift (crop px), vertical and horizontal scale (relative), start-time shift (columns)
    jitter_y_px: float = 0.0
    jitter_scale: float = 0.0
    jitter_x_cols: float = 0.0


def rectify_to_clean(image: np.ndarray, truth: RenderTruth, clean: RenderTruth) -> np.ndarray:
    """Warp a degraded page back onto the clean render's pixel frame using the truth correspondences."""
    if not truth.meta.get("geometric", False):
        return image
    src = np.concatenate([p.points_xy for p in truth.panels if p.n_points])
    dst = np.concatenate([p.points_xy for p in clean.panels if p.n_points])
    step = max(1, len(src) // 4000)
    h, _ = cv2.findHomography(src[::step].astype(np.float32), dst[::step].astype(np.float32), 0)
    if h is None:
        raise ValueError("could not fit a homography between degraded and clean truth")
    return (
        cv2.warpAffine(image, h[:2], (clean.width_px, clean.height_px))
        if np.allclose(h[2], [0, 0, 1])
        else (
            cv2.warpPerspective(
                image,
                h,
                (clean.width_px, clean.height_px),
                flags=cv2.INTER_LINEAR,
                borderValue=(255, 255, 255),
            )
        )
    )


def strip_windows(duration_s: float, spec: CropSpec) -> list[tuple[float, float]]:
    """(t0_s, t1_s) within a strip of ``duration_s`` for each of its crops: ``round(duration / window_s)`` windows
    (at least one) of ``spec.window_s``, the last one clipped to the strip."""
    n_win = max(1, round(duration_s / spec.window_s))
    return [(k * spec.window_s, min(duration_s, (k + 1) * spec.window_s)) for k in range(n_win)]


def crop_windows(truth: RenderTruth, spec: CropSpec) -> list[tuple[int, float, float]]:
    """(panel index, t0_s within the panel, t1_s) for every window of ``spec.window_s`` that the panels hold."""
    out = []
    for i, p in enumerate(truth.panels):
        if p.n_points < 2:
            continue
        dur = (p.end_sample - p.start_sample) / truth.fs_hz
        out.extend((i, t0, t1) for t0, t1 in strip_windows(dur, spec))
    return out


def crop_affine(
    strip_x0_px: float,
    baseline_y_px: float,
    px_per_s: float,
    px_per_mm_y: float,
    t0_s: float,
    t1_s: float,
    spec: CropSpec,
) -> tuple[float, float, float, float]:
    """(x0, y0, sx, sy) of the crop of window ``[t0_s, t1_s)`` of a strip that starts at page x ``strip_x0_px``:
    crop pixel (u, v) centre samples page point ``(x0 + u * sx, y0 + v * sy)``. The window fills the crop's
    width, ``spec.height_mm`` its height, and the zero-mV ``baseline_y_px`` sits at ``spec.baseline_frac``. Training
    crops (:func:`cut_crop`, from the render truth) and inference crops (from the classical page geometry) share it.
    """
    sx = (t1_s - t0_s) * px_per_s / spec.width_px
    sy = spec.height_mm * px_per_mm_y / spec.height_px
    return strip_x0_px + t0_s * px_per_s, baseline_y_px - spec.baseline_frac * spec.height_px * sy, sx, sy


def warp_crop(
    image: np.ndarray,
    x0: float,
    y0: float,
    sx: float,
    sy: float,
    spec: CropSpec,
    page_to_image: np.ndarray | None = None,
) -> np.ndarray:
    """The (height_px, width_px, ...) crop of :func:`crop_affine`'s map, sampled bilinearly in one resampling;
    ``page_to_image`` (3x3) maps the page frame of that map into ``image`` (e.g. rectified page -> input photo).

    Bilinear, also when the crop shrinks the page: OpenCV's warps have no area filter (INTER_AREA there is
    bilinear), and training and inference crops must be resampled alike.
    """
    m = np.array([[sx, 0.0, x0], [0.0, sy, y0], [0.0, 0.0, 1.0]])
    if page_to_image is not None:
        m = np.asarray(page_to_image, np.float64) @ m
    size = (spec.width_px, spec.height_px)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if np.allclose(m[2], [0.0, 0.0, 1.0]):
        return cv2.warpAffine(image, m[:2], size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpPerspective(image, m, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)


def cut_crop(
    image: np.ndarray,
    truth: RenderTruth,
    panel_index: int,
    t0_s: float,
    t1_s: float,
    spec: CropSpec,
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray | float | str]:
    """One crop (canonical frame): image (h, w, 3) uint8, per-column trace y (w,) in crop px (NaN where none),
    clean trace image (h, w) uint8, and the crop's calibration (px per mV, baseline y, seconds per column).
    With ``rng``, the window is jittered as ``spec`` says (targets and calibration follow exactly)."""
    p = truth.panels[panel_index]
    x0, y0, sx, sy = crop_affine(
        p.points_xy[0, 0], p.baseline_y_px, truth.px_per_s, truth.px_per_mm, t0_s, t1_s, spec
    )
    if rng is not None:
        sx *= 1 + rng.uniform(-spec.jitter_scale, spec.jitter_scale)
        sy *= 1 + rng.uniform(-spec.jitter_scale, spec.jitter_scale)
        y0 = (
            p.baseline_y_px
            - spec.baseline_frac * spec.height_px * sy
            + rng.uniform(-1, 1) * spec.jitter_y_px * sy
        )
        x0 += rng.uniform(-1, 1) * spec.jitter_x_cols * sx
    crop = warp_crop(image, x0, y0, sx, sy, spec)
    u = np.arange(spec.width_px)
    xs_page = x0 + u * sx
    pts = p.points_xy
    inside = (xs_page >= pts[0, 0]) & (xs_page <= pts[-1, 0])
    y_page = np.interp(xs_page, pts[:, 0], pts[:, 1])
    y_crop = np.where(inside, (y_page - y0) / sy, np.nan)
    clean = np.zeros((spec.height_px, spec.width_px), np.uint8)
    sel = (pts[:, 0] >= x0 - 2 * sx) & (pts[:, 0] <= x0 + (spec.width_px + 1) * sx)
    _draw_polyline(
        clean, (pts[sel] - [x0, y0]) / [sx, sy], max(1, round(truth.line_width_px / sy)), 255, aa=True
    )
    return {
        "image": crop,
        "trace_y": y_crop.astype(np.float32),
        "clean": clean,
        "px_per_mv": truth.px_per_mv / sy,
        "baseline_y": (p.baseline_y_px - y0) / sy,
        "lead": p.lead,
        "lead_index": LEADS.index(p.lead),
        "t0_s": p.start_sample / truth.fs_hz + (x0 - p.points_xy[0, 0]) / truth.px_per_s,
        "s_per_col": sx / truth.px_per_s,
    }


def page_target(image: np.ndarray, truth: RenderTruth, size_hw: tuple[int, int]) -> dict[str, np.ndarray]:
    """The page resized to ``size_hw`` with its union trace mask at that size (1-px strokes)."""
    h, w = size_hw
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    sx, sy = w / image.shape[1], h / image.shape[0]
    mask = np.zeros((h, w), np.uint8)
    for p in truth.panels:
        # pixel centres map as (x + 0.5) * s - 0.5
        _draw_polyline(mask, (p.points_xy + 0.5) * [sx, sy] - 0.5, 1, 255)
    return {"image": resized, "mask": mask, "scale_xy": np.array([sx, sy], np.float32)}
