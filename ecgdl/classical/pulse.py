"""Calibration pulse detection: the 1 mV step printed at the start (or end) of a row.

Works on a row's traced line ``y(x)``: near the row's start (or end) it looks for a plateau that stands at least
``min_height_mm`` above the row's zero line, is flat, has steep edges and returns to the foot level. The zero line
is the most common traced level, or the next most common one below it when the pulse's own flat top (a wide pulse
at 50 mm/s, or one next to a busy signal) outnumbers it. The pulse's
height is 1 mV (-> gain in mm/mV with the grid's px/mm, or px/mV directly without a grid); its width is
``pulse_s`` seconds (0.2 s by convention -> paper speed in mm/s, or px/s directly).
"""

from __future__ import annotations

import numpy as np

from ecgdl.classical.page import Pulse

__all__ = ["Pulse", "detect_pulse", "gain_from_pulse", "refine_pulse_edges", "snap", "speed_from_pulse"]

#: Standard values that measured gains / speeds are snapped to when close.
STANDARD_GAINS_MM_PER_MV: tuple[float, ...] = (5.0, 10.0, 20.0)
STANDARD_SPEEDS_MM_PER_S: tuple[float, ...] = (25.0, 50.0)


def detect_pulse(
    x: np.ndarray,
    y: np.ndarray,
    px_per_mm_x: float,
    px_per_mm_y: float,
    *,
    top: np.ndarray | None = None,
    bottom: np.ndarray | None = None,
    stroke_px: float = 2.0,
    side: str = "start",
    search_mm: float = 22.0,
    min_height_mm: float = 3.0,
    max_height_mm: float = 42.0,
    min_width_mm: float = 1.5,
    max_width_mm: float = 12.0,
    max_tilt: float = 0.08,
) -> Pulse | None:
    """Find a calibration pulse in a row's traced line within ``search_mm`` of its start or end; None if none.

    ``x``: ascending integer-spaced page columns; ``y``: traced page rows (NaN allowed); ``top``/``bottom``: the
    highest / lowest ink row of each column's chosen run (the pulse's edges must be vertical strokes, and their
    bottoms give the foot; without them only ``y`` is used).
    """
    if side not in ("start", "end"):
        raise ValueError(f"side must be 'start' or 'end', got {side!r}")
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    bot = np.asarray(bottom, np.float64) if bottom is not None else None
    tp = np.asarray(top, np.float64) if top is not None else None
    if side == "end":
        res = detect_pulse(
            -x[::-1],
            y[::-1],
            px_per_mm_x,
            px_per_mm_y,
            top=None if tp is None else tp[::-1],
            bottom=None if bot is None else bot[::-1],
            stroke_px=stroke_px,
            side="start",
            search_mm=search_mm,
            min_height_mm=min_height_mm,
            max_height_mm=max_height_mm,
            min_width_mm=min_width_mm,
            max_width_mm=max_width_mm,
            max_tilt=max_tilt,
        )
        if res is None:
            return None
        return Pulse(
            "end",
            -res.x_clear_px,
            -res.x_fall_px,
            -res.x_rise_px,
            -res.x_begin_px,
            res.foot_y_px,
            res.top_y_px,
        )
    ok = np.isfinite(y)
    if ok.sum() < 10:
        return None
    # Gaps bridged linearly; no extrapolation beyond the traced ends (a flat fill would look like a plateau).
    inside = (x >= x[ok][0]) & (x <= x[ok][-1])
    y = np.where(inside, np.interp(x, x[ok], y[ok]), np.nan)
    n_search = int(min(x.size, round(search_mm * px_per_mm_x)))
    min_h = min_height_mm * px_per_mm_y
    # Reference: the row's zero line, the most common level of the whole row -- or the next most common one
    # below it: a wide pulse's flat top (50 mm/s, or a stretched signal) can outnumber the zero line's columns.
    yin = y[inside]
    hist_lo = np.floor(yin.min())
    hist = np.convolve(np.bincount(np.round(yin - hist_lo).astype(np.int64)), np.ones(3), mode="same")
    first = int(np.argmax(hist))
    levels = [float(hist_lo + first)]
    below = hist[first + int(np.ceil(min_h)) :]
    if below.size and below.max() > 0:
        levels.append(float(hist_lo + first + int(np.ceil(min_h)) + int(np.argmax(below))))
    for iso in levels:
        res = _pulse_above(
            x[:n_search],
            y[:n_search],
            iso,
            px_per_mm_x,
            px_per_mm_y,
            None if tp is None else tp[:n_search],
            None if bot is None else bot[:n_search],
            stroke_px,
            min_h,
            max_height_mm,
            min_width_mm,
            max_width_mm,
        )
        if res is not None:
            return res
    return None


def _pulse_above(
    xs: np.ndarray,
    ys: np.ndarray,
    iso: float,
    px_per_mm_x: float,
    px_per_mm_y: float,
    tp: np.ndarray | None,
    bot: np.ndarray | None,
    stroke_px: float,
    min_h: float,
    max_height_mm: float,
    min_width_mm: float,
    max_width_mm: float,
) -> Pulse | None:
    """The pulse standing above the zero line ``iso`` in the searched stretch ``xs``/``ys``, or None."""
    with np.errstate(invalid="ignore"):
        above = (iso - ys) > min_h
    if not above.any():
        return None
    # The plateau: the longest stretch of columns at (within 1.5 px or 0.3 mm of) the most common raised level.
    lvl = np.round(ys[above]).astype(np.int64)
    top_level = float(np.bincount(lvl - lvl.min()).argmax() + lvl.min())
    on_top = np.abs(ys - top_level) <= max(1.5, 0.3 * px_per_mm_y)
    a, b = _longest_run(on_top)
    if a < 0:
        return None
    width_cols = b - a + 1
    if not (min_width_mm * px_per_mm_x - 3 <= width_cols <= max_width_mm * px_per_mm_x + 2):
        return None
    core = ys[a : b + 1]
    top = float(np.median(core))
    # Vertical edges just outside (or at) the plateau's ends: columns whose ink spans most of the height.
    reach = max(2, round(0.8 * px_per_mm_x))
    hw = (stroke_px - 1.0) / 2.0
    est_height = iso - top
    if tp is not None and bot is not None:
        span = bot - tp
        edges = []
        for lo, hi in ((a - reach, a + 1), (b, b + reach + 1)):
            ks = [
                k
                for k in range(max(0, lo), min(xs.size, hi))
                if np.isfinite(span[k]) and span[k] >= 0.6 * est_height
            ]
            if not ks:
                return None
            edges.append(ks)
        x_rise = float(np.mean(xs[edges[0]]))
        x_fall = float(np.mean(xs[edges[1]]))
        feet = [bot[k] - hw for k in edges[0] + edges[1]]
        foot = float(np.median(feet))
    else:
        foot = iso
        half = (foot + top) / 2.0
        x_rise = _crossing(xs, ys, a, half, -1)
        x_fall = _crossing(xs, ys, b, half, +1)
    height = foot - top
    if not (min_h <= height <= max_height_mm * px_per_mm_y):
        return None
    if not (min_width_mm * px_per_mm_x <= x_fall - x_rise <= max_width_mm * px_per_mm_x):
        return None
    return Pulse("start", float(xs[0]), x_rise, x_fall, float(min(xs[-1], x_fall + hw + 1)), foot, top)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(first, last) index of the longest run of True, or (-1, -1)."""
    if not flags.any():
        return -1, -1
    padded = np.r_[False, flags, False].astype(np.int8)
    d = np.diff(padded)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


def _crossing(xs: np.ndarray, ys: np.ndarray, k: int, level: float, direction: int) -> float:
    """Sub-pixel x where y crosses ``level`` between column k and its neighbour in ``direction``."""
    j = k + direction
    if j < 0 or j >= xs.size:
        return float(xs[k])
    y0, y1 = ys[k], ys[j]
    if not np.isfinite(y1):
        return float(xs[k])
    if y1 == y0:
        return float((xs[k] + xs[j]) / 2)
    t = np.clip((level - y0) / (y1 - y0), 0.0, 1.0)
    return float(xs[k] + t * (xs[j] - xs[k]))


def snap(value: float, standards: tuple[float, ...], tol: float = 0.15) -> float | None:
    """The standard value within relative ``tol`` of ``value``, else None (an implausible measurement)."""
    if not np.isfinite(value) or value <= 0:
        return None
    best = min(standards, key=lambda s: abs(np.log(value / s)))
    return float(best) if abs(value / best - 1.0) <= tol else None


def gain_from_pulse(
    pulse: Pulse, px_per_mm_y: float, pulse_mv: float = 1.0, snap_tol: float = 0.15
) -> float | None:
    """Gain in mm/mV from a pulse of ``pulse_mv``, snapped to a standard gain; None when none is close."""
    return snap(pulse.height_px / px_per_mm_y / pulse_mv, STANDARD_GAINS_MM_PER_MV, snap_tol)


def speed_from_pulse(
    pulse: Pulse, px_per_mm_x: float, pulse_s: float = 0.2, snap_tol: float = 0.2
) -> float | None:
    """Paper speed in mm/s from a pulse ``pulse_s`` seconds wide, snapped to a standard speed; None when none
    is close (some printers draw narrower pulses)."""
    return snap(pulse.width_px / px_per_mm_x / pulse_s, STANDARD_SPEEDS_MM_PER_S, snap_tol)


def refine_pulse_edges(pulse: Pulse, weight: np.ndarray, stroke_px: float) -> Pulse:
    """Sub-pixel x of the pulse's vertical edges: the ink-weighted horizontal centroid of each edge stroke over
    the middle half of the pulse's height (``weight`` is the page's ink weight map)."""
    h, w = weight.shape
    y0 = int(np.ceil(pulse.top_y_px + 0.25 * pulse.height_px))
    y1 = int(np.floor(pulse.foot_y_px - 0.25 * pulse.height_px))
    if y1 <= y0 or y0 < 0 or y1 >= h:
        return pulse
    half = max(1.5, 0.8 * stroke_px)
    xs = []
    for xe in (pulse.x_rise_px, pulse.x_fall_px):
        a, b = max(0, int(np.floor(xe - half))), min(w, int(np.ceil(xe + half)) + 1)
        prof = weight[y0 : y1 + 1, a:b].sum(axis=0)
        if prof.sum() <= 0:
            xs.append(xe)
            continue
        xs.append(float(np.dot(prof, np.arange(a, b)) / prof.sum()))
    return Pulse(
        pulse.side, pulse.x_begin_px, xs[0], xs[1], pulse.x_clear_px, pulse.foot_y_px, pulse.top_y_px
    )
